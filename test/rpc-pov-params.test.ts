/**
 * The node's own methods (pov_*) check their arguments as Geth checks every method's: more
 * positional arguments than a method reads → -32602 "too many arguments" (they were served on
 * [0, 64] and ignored the rest), and a wrong type → -32602, never a result or an internal error.
 * Found by the JSON-RPC fuzz (test/rpc-fuzz/): pov_listAssets({offset: "zz"}) answered -32603
 * (BigInt threw a SyntaxError), pov_listJobs("0xzz") listed the open jobs as if no filter was
 * given, eth_newPendingTransactionFilter("x") made a filter.
 */
import t from 'tap'
import { rpcRaw, startInProcessNode } from './helpers/devnode.js'

t.test('pov_* methods refuse extra and wrongly typed arguments with -32602', async (t) => {
  const n = await startInProcessNode()
  t.teardown(() => n.stop())
  const table = (n.node as unknown as { rpc: { dispatcher: { methods: Map<string, { min: number; max: number }> } } }).rpc.dispatcher.methods
  const pov = [...table].filter(([name]) => name.startsWith('pov_'))
  t.ok(pov.length >= 24, `${pov.length} pov_ methods`)
  for (const [name, { min, max }] of pov) {
    t.ok(max < 64, `${name} declares how many arguments it reads (${min}..${max})`)
    const r = await rpcRaw(n.httpUrl, name, Array.from({ length: max + 1 }, () => '0x1'))
    t.equal(r.error?.code, -32602, `${name} with ${max + 1} arguments: ${r.error?.message}`)
    t.equal(r.error?.message, `too many arguments, want at most ${max}`)
  }
  const wrong: [string, unknown[]][] = [
    ['pov_listAssets', [{ offset: 'zz' }]],
    ['pov_listAssets', [{ limit: '0x1g' }]],
    ['pov_listAssets', [{ limit: '1e3' }]],
    ['pov_listJobs', ['0xzz']],
    ['pov_listJobs', [[]]],
    ['eth_newPendingTransactionFilter', ['x']],
    ['eth_newPendingTransactionFilter', [{}]],
  ]
  for (const [m, p] of wrong) {
    const r = await rpcRaw(n.httpUrl, m, p)
    t.equal(r.error?.code, -32602, `${m}(${JSON.stringify(p)}) → ${r.error ? `${r.error.code} ${r.error.message}` : `result ${JSON.stringify(r.result)}`}`)
  }
  // What stays accepted: the forms the CLI and the explorer send.
  for (const [m, p] of [['pov_listAssets', [{ offset: '0x0', limit: '20' }]], ['pov_listJobs', [{}]], ['pov_listJobs', []], ['eth_newPendingTransactionFilter', [true]], ['eth_newPendingTransactionFilter', []]] as [string, unknown[]][]) {
    const r = await rpcRaw(n.httpUrl, m, p)
    t.notOk(r.error, `${m}(${JSON.stringify(p)}) is served`)
  }
})
