/**
 * Imported first by cli.ts, so it runs before libp2p and the rest load: on a Node older than
 * 22 (libp2p 3 needs it) the user gets one line saying what to do, not a stack trace from deep
 * inside a dependency. `npm start`, `npm test` and `npx povchain` use the Node 22 that
 * `npm install` brings (the `node` devDependency), so this only fires when dist/cli/cli.js is
 * run directly with an older system Node. (No `engines` field: npm printed an EBADENGINE
 * warning on every `npx povchain` because npm itself runs on the system Node.)
 */
const MIN_MAJOR = 22
const major = Number(process.versions.node.split('.')[0])
if (major < MIN_MAJOR) {
  process.stderr.write(
    `povchain needs Node ${MIN_MAJOR} or newer; this is Node ${process.versions.node}.\n` +
      `Run it through npm, which uses the Node ${MIN_MAJOR} that \`npm install\` fetched: \`npx povchain …\` or \`npm start\`\n` +
      `(or run node_modules/.bin/node dist/cli/cli.js …).\n`,
  )
  process.exit(1)
}
export {}
