/**
 * Strict arity, as Geth: a call with fewer positional arguments than its method requires is
 * -32602 "missing value for required argument N" (eth_getBlockByNumber(["latest"]) included);
 * optional trailing arguments may be left out. The required counts are the execution-apis
 * spec's `required` flags (copied below; checked against ../shared/spec when it is there).
 */
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startHarness } from './helpers.js'

/** method → the spec's `required` flag of each positional param (execution-apis, Dec 2026). */
const SPEC: Record<string, number[]> = {
  debug_getBadBlocks: [],
  debug_getRawBlock: [1],
  debug_getRawBlockAccessList: [1],
  debug_getRawHeader: [1],
  debug_getRawReceipts: [1],
  debug_getRawTransaction: [1],
  debug_traceBlockByHash: [1, 0],
  debug_traceBlockByNumber: [1, 0],
  debug_traceTransaction: [1, 0],
  eth_accounts: [],
  eth_baseFee: [],
  eth_blobBaseFee: [],
  eth_blockNumber: [],
  eth_call: [1, 0],
  eth_capabilities: [],
  eth_chainId: [],
  eth_coinbase: [],
  eth_config: [],
  eth_createAccessList: [1, 0],
  eth_estimateGas: [1, 0],
  eth_feeHistory: [1, 1, 1],
  eth_fillTransaction: [1],
  eth_gasPrice: [],
  eth_getBalance: [1, 0],
  eth_getBlockAccessList: [1],
  eth_getBlockByHash: [1, 1],
  eth_getBlockByNumber: [1, 1],
  eth_getBlockReceipts: [1],
  eth_getBlockTransactionCountByHash: [0],
  eth_getBlockTransactionCountByNumber: [0],
  eth_getCode: [1, 0],
  eth_getFilterChanges: [1],
  eth_getFilterLogs: [1],
  eth_getLogs: [1],
  eth_getProof: [1, 1, 0],
  eth_getStorageAt: [1, 1, 0],
  eth_getStorageValues: [1, 0],
  eth_getTransactionByBlockHashAndIndex: [1, 1],
  eth_getTransactionByBlockNumberAndIndex: [1, 1],
  eth_getTransactionByHash: [1],
  eth_getTransactionCount: [1, 0],
  eth_getTransactionReceipt: [1],
  eth_maxPriorityFeePerGas: [],
  eth_newBlockFilter: [],
  eth_newFilter: [1],
  eth_newPendingTransactionFilter: [],
  eth_sendRawTransaction: [1],
  eth_sendTransaction: [1],
  eth_sign: [1, 1],
  eth_signTransaction: [1],
  eth_simulateV1: [1, 0],
  eth_syncing: [],
  eth_uninstallFilter: [1],
  net_version: [],
  txpool_content: [],
  txpool_contentFrom: [1],
  txpool_status: [],
}

/**
 * Where povchain requires more than the spec, as Geth does: the spec marks the only argument
 * of these optional, but a count of no block means nothing and Geth requires it.
 */
const STRICTER_THAN_SPEC: Record<string, number> = { eth_getBlockTransactionCountByHash: 1, eth_getBlockTransactionCountByNumber: 1 }

/** Methods outside the spec, with Geth's required counts. */
const NOT_IN_SPEC: Record<string, number> = {
  web3_clientVersion: 0, web3_sha3: 1, net_listening: 0, net_peerCount: 0, eth_getHeaderByNumber: 1, eth_getHeaderByHash: 1,
  eth_getUncleCountByBlockHash: 1, eth_getUncleCountByBlockNumber: 1, eth_getUncleByBlockHashAndIndex: 2,
  eth_getUncleByBlockNumberAndIndex: 2, personal_sign: 2, eth_signTypedData_v4: 2, txpool_inspect: 0, admin_nodeInfo: 0, admin_peers: 0,
}

const leadingRequired = (flags: number[]) => {
  const i = flags.indexOf(0)
  return i === -1 ? flags.length : i
}

t.test('the copied required flags are the spec’s', async (t) => {
  const specFile = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'spec', 'execution-apis-openrpc.json')
  if (!existsSync(specFile)) {
    t.pass(`no ${specFile} here (a clone without the shared folder): the table above is the reference`)
    return
  }
  const doc = JSON.parse(readFileSync(specFile, 'utf8')) as { methods: { name: string; params?: { required?: boolean }[] }[] }
  for (const m of doc.methods) {
    if (m.name.startsWith('engine_') || m.name.startsWith('testing_')) continue
    t.same(SPEC[m.name], (m.params ?? []).map((p) => (p.required ? 1 : 0)), m.name)
  }
})

t.test('every method requires the arguments the spec (or Geth) requires, and no more', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const expected: Record<string, number> = { ...NOT_IN_SPEC }
  for (const [m, flags] of Object.entries(SPEC)) expected[m] = STRICTER_THAN_SPEC[m] ?? leadingRequired(flags)
  const missing = /^missing value for required argument (\d+)$/
  for (const [method, required] of Object.entries(expected)) {
    const probe = await h.call(method, [])
    if (probe.error?.code === -32601) {
      t.notOk(method in NOT_IN_SPEC, `${method} is served`)
      continue // a spec method povchain does not serve
    }
    // Fewer arguments than required: Geth's error naming the first missing one, whatever the others are.
    for (let n = 0; n < required; n++) {
      const r = await h.call(method, Array(n).fill(null))
      t.same(r.error, { code: -32602, message: `missing value for required argument ${n}` }, `${method} with ${n} of ${required} arguments`)
    }
    // Enough arguments: whatever else happens, nothing is said to be missing.
    const r = await h.call(method, Array(required).fill(null))
    t.notMatch(r.error?.message ?? '', missing, `${method} with its ${required} required arguments (${r.error?.message ?? 'ok'})`)
  }
})

t.test('Geth’s examples', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  h.backend.addBlock({})
  const A = '0x' + '11'.repeat(20)
  const hash = (await h.result('eth_getBlockByNumber', ['latest', false])).hash
  const cases: [string, unknown[], number][] = [
    ['eth_getBlockByNumber', ['latest'], 1],
    ['eth_getBlockByHash', [hash], 1],
    ['eth_feeHistory', ['0x1', 'latest'], 2],
    ['eth_getStorageAt', [A], 1],
    ['eth_getProof', [A], 1],
    ['eth_getTransactionByBlockNumberAndIndex', ['0x1'], 1],
    ['eth_sign', [A], 1],
    ['eth_call', [], 0],
    ['debug_getRawHeader', [], 0],
  ]
  for (const [method, params, n] of cases)
    t.same((await h.call(method, params)).error, { code: -32602, message: `missing value for required argument ${n}` }, `${method}(${JSON.stringify(params)})`)
  // Optional trailing arguments stay optional.
  t.equal((await h.call('eth_getBlockByNumber', ['latest', null])).result?.hash, hash, 'a null hydration flag reads as false (Geth)')
  t.equal((await h.call('eth_getBalance', [A])).error, undefined, 'eth_getBalance without a block: latest (optional in the spec)')
  t.equal((await h.call('eth_call', [{ to: A }])).error, undefined, 'eth_call without a block')
  t.equal((await h.call('eth_newPendingTransactionFilter', [])).error, undefined)
  t.same((await h.call('eth_getBlockByNumber', ['latest', false, 1])).error, { code: -32602, message: 'too many arguments, want at most 2' })
})
