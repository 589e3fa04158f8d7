#!/usr/bin/env node
// Builds the explorer page (explorer/app) into dist/explorer/site: one bundled, minified
// app.js (Preact and viem's ABI decoding included; nothing is fetched from elsewhere at run
// time), index.html and style.css. Run by `npm run build` (and so by `npm install`).
import { build } from 'esbuild'
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const out = join(here, '..', 'dist', 'explorer', 'site')
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
const t0 = Date.now()
const result = await build({
  entryPoints: [join(here, 'app', 'main.tsx')],
  outfile: join(out, 'app.js'),
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'esm',
  target: ['chrome111', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
})
for (const f of ['index.html', 'style.css']) copyFileSync(join(here, 'app', f), join(out, f))
const bytes = Object.values(result.metafile.outputs).reduce((s, o) => s + o.bytes, 0)
console.log(`explorer: app.js ${(bytes / 1024).toFixed(0)} KiB in ${Date.now() - t0} ms -> ${out}`)
