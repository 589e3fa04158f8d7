/**
 * `povchain validator bond|unbond|withdraw|status` and `povchain worker status` against a dev
 * node, in-process, as a user runs them: bond, see it, unbond more than bonded (refused by name,
 * no gas spent), unbond, withdraw before maturity (refused with what to do), then the status of
 * a worker that never registered.
 */
import t from 'tap'
import { Command } from 'commander'
import { registerValidatorCommands } from '../ValidatorCommand.js'
import { rpc, startInProcessNode } from '../../test/helpers/devnode.js'

const ETHER = 10n ** 18n
const DEV1 = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' // dev account #1: no genesis bond

async function run(url: string, args: string[]): Promise<{ ok: boolean; text: string; json: Record<string, unknown> }> {
  let out = ''
  let err = ''
  const program = new Command().exitOverride()
  registerValidatorCommands(program, { out: (s) => (out += s), err: (s) => (err += s) })
  const before = process.exitCode
  await program.parseAsync(['node', 'povchain', ...args, '--rpc', url, '--from', DEV1, '--json'])
  const failed = process.exitCode === 1
  process.exitCode = before
  const json = JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>
  // Also the text form, as a user sees it.
  let text = ''
  const p2 = new Command().exitOverride()
  registerValidatorCommands(p2, { out: (s) => (text += s), err: (s) => (text += s) })
  if (args[0] === 'validator' && args[1] === 'status') {
    await p2.parseAsync(['node', 'povchain', ...args, '--rpc', url, '--from', DEV1])
    process.exitCode = before
  }
  return { ok: !failed && json.ok === true, text: text + err, json }
}

t.test('a dev account bonds, unbonds and is told why it cannot withdraw yet', async (t) => {
  const n = await startInProcessNode()
  t.teardown(() => n.stop())

  const fresh = await run(n.httpUrl, ['validator', 'status'])
  t.ok(fresh.ok, 'status of an account with no bond')
  const s0 = fresh.json.status as Record<string, string>
  t.equal(BigInt(s0.bonded!), 0n)
  t.match(fresh.text, /below the minimum bond of 1 coins: not electable/, 'the text says what is missing')

  const bonded = await run(n.httpUrl, ['validator', 'bond', '--amount', '2.5'])
  t.ok(bonded.ok, 'bond')
  t.equal(BigInt((bonded.json.status as Record<string, string>).bonded!), (5n * ETHER) / 2n, 'the status after bonding shows 2.5 coins')

  const balanceBefore = BigInt(await rpc<string>(n.httpUrl, 'eth_getBalance', [DEV1, 'latest']))
  const tooMuch = await run(n.httpUrl, ['validator', 'unbond', '--amount', '3'])
  t.notOk(tooMuch.ok, 'unbonding more than bonded fails')
  const e = tooMuch.json.error as { message: string }
  t.match(e.message, /ValidatorSet: InsufficientBond\(3000000000000000000, 2500000000000000000\)/, 'decoded by name with its arguments')
  t.match(e.message, /more than is bonded/, 'and what it means')
  t.equal(BigInt(await rpc<string>(n.httpUrl, 'eth_getBalance', [DEV1, 'latest'])), balanceBefore, 'refused before sending: no gas spent')

  const unbond = await run(n.httpUrl, ['validator', 'unbond', '--amount', '1'])
  t.ok(unbond.ok, 'unbond 1 coin')
  const s1 = unbond.json.status as Record<string, string>
  t.equal(BigInt(s1.bonded!), (3n * ETHER) / 2n)
  t.equal(BigInt(s1.unbonding!), ETHER, 'one coin unbonding')

  const early = await run(n.httpUrl, ['validator', 'withdraw'])
  t.notOk(early.ok, 'nothing to withdraw before the unbonding epochs pass')
  t.match((early.json.error as { message: string }).message, /NothingToWithdraw\(\) — nothing has matured yet/)

  const status = await run(n.httpUrl, ['validator', 'status'])
  t.match(status.text, /unbonding +1 coins \(withdrawable after epoch \d+\)/, 'status shows the release epoch')

  let wtext = ''
  const p = new Command().exitOverride()
  registerValidatorCommands(p, { out: (s) => (wtext += s), err: (s) => (wtext += s) })
  await p.parseAsync(['node', 'povchain', 'worker', 'status', DEV1, '--rpc', n.httpUrl])
  t.match(wtext, /registered +no — run a node with --worker/, 'worker status of an unregistered account says how to become one')
  t.match(wtext, /receipts +0 accepted of 0/)

  const bad = await run(n.httpUrl, ['validator', 'status', '0x1234'])
  t.notOk(bad.ok)
  t.match((bad.json.error as { message: string }).message, /not an address/)
})
