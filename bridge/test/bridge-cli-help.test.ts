/**
 * Every `povchain bridge …` command answers `--help` (bigint option defaults made commander's
 * help throw "Do not know how to serialize a BigInt" and exit 1).
 */
import t from 'tap'
import { Command, CommanderError } from 'commander'
import { registerBridgeCommands } from '../cli.js'
import { bridgeCliContext } from '../../cli/bridgeCliContext.js'

t.test('bridge … --help prints the options with their defaults', async (t) => {
  const probe = new Command()
  registerBridgeCommands(probe, bridgeCliContext())
  const bridge = probe.commands.find((c) => c.name() === 'bridge')!
  const names = bridge.commands.map((c) => c.name())
  t.ok(names.length >= 6, `bridge subcommands: ${names.join(', ')}`)
  for (const name of names) {
    let out = ''
    const program = new Command().exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) })
    registerBridgeCommands(program, bridgeCliContext())
    for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) })
    for (const c of program.commands.flatMap((c) => c.commands)) c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) })
    const e = await program.parseAsync(['node', 'povchain', 'bridge', name, '--help']).then(() => undefined, (e: unknown) => e)
    t.ok(e instanceof CommanderError && e.code === 'commander.helpDisplayed', `bridge ${name} --help: ${e instanceof Error ? e.message : 'no help'}`)
    t.match(out, /Usage: povchain bridge/, `bridge ${name}: usage printed`)
  }
  let snapshot = ''
  const p = new Command().exitOverride()
  registerBridgeCommands(p, bridgeCliContext())
  for (const c of p.commands.flatMap((c) => [c, ...c.commands])) c.exitOverride().configureOutput({ writeOut: (s) => (snapshot += s) })
  await p.parseAsync(['node', 'povchain', 'bridge', 'snapshot', '--help']).catch(() => {})
  t.match(snapshot, /--range <blocks>[\s\S]*\(default: 2000\)/, 'a bigint default is shown as a number')
})
