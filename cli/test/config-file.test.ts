/**
 * `povchain node --config FILE` and `povchain dumpconfig`, as an operator uses them: dump the
 * effective settings, edit, start a node from the file alone; flags on the command line win;
 * a wrong key or value is refused naming the file and the setting.
 */
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from '../FreePort.js'
import { ROOT, rpc, tempDir, waitFor } from '../../test/helpers/devnode.js'

const cli = (args: string[]) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'cli.ts'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

t.test('dumpconfig prints TOML that --config reads back, with the same effect', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const dumped = cli(['dumpconfig', '--dev', '--http.port', '9123', '--http.corsdomain', 'https://a.example,https://b.example', '--log.format', 'pretty'])
  t.equal(dumped.code, 0, dumped.err)
  t.match(dumped.out, /^dev = true$/m)
  t.match(dumped.out, /^"dev\.period" = 0$/m, 'a flag that is also a prefix keeps its sub-settings flat')
  t.match(dumped.out, /^\[http\]\naddr = "127\.0\.0\.1"\nport = 9123\ncorsdomain = \[ "https:\/\/a\.example", "https:\/\/b\.example" \]$/m)
  t.match(dumped.out, /^batch-limit = 1000$/m)
  const file = join(dir, 'node.toml')
  writeFileSync(file, dumped.out)
  const again = cli(['dumpconfig', '--config', file])
  t.equal(again.code, 0, again.err)
  t.equal(again.out, dumped.out, 'reading the dump back gives the same settings')
  const override = cli(['dumpconfig', '--config', file, '--http.port', '9555'])
  t.match(override.out, /^port = 9555$/m, 'a flag on the command line wins over the file')
})

t.test('a wrong setting is refused, naming the file and the setting', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const f = (name: string, text: string) => {
    const p = join(dir, name)
    writeFileSync(p, text)
    return p
  }
  const unknown = cli(['dumpconfig', '--config', f('a.toml', '[http]\nprot = 1\n')])
  t.equal(unknown.code, 1)
  t.match(unknown.err, /a\.toml: unknown setting "http\.prot"/)
  const bad = cli(['dumpconfig', '--config', f('b.toml', '[http]\nport = -4\n')])
  t.equal(bad.code, 1)
  t.match(bad.err, /b\.toml: http\.port: --http\.port must be a non-negative integer/)
  const choice = cli(['dumpconfig', '--config', f('c.toml', '[log]\nformat = "xml"\n')])
  t.match(choice.err, /c\.toml: log\.format: must be one of json, pretty/)
  const flag = cli(['dumpconfig', '--config', f('d.toml', 'dev = "yes"\n')])
  t.match(flag.err, /d\.toml: dev: must be true or false/)
  const syntax = cli(['dumpconfig', '--config', f('e.toml', '[http\nport = 1\n')])
  t.match(syntax.err, /e\.toml is not valid TOML \(line 1/)
  const missing = cli(['dumpconfig', '--config', join(dir, 'nope.toml')])
  t.match(missing.err, /cannot read the config file .*nope\.toml/)
})

t.test('a node starts from its config file alone', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const port = await freePort()
  const file = join(dir, 'node.toml')
  writeFileSync(file, `dev = true\ndatadir = "${join(dir, 'data')}"\n\n[http]\nport = ${port}\n\n[ws]\nport = 0\n\n[log]\nformat = "json"\n`)
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'cli.ts'), 'node', '--config', file], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '' } })
  t.teardown(() => {
    proc.kill('SIGKILL')
  })
  const url = `http://127.0.0.1:${port}`
  const chainId = await waitFor(() => rpc<string>(url, 'eth_chainId').catch(() => undefined), 'the node serving on the port from its config file', 60_000, 200)
  t.equal(chainId, '0x7a69', 'a dev chain (dev = true from the file) on the file’s port')
})
