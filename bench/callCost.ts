import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Account, Address } from '@ethereumjs/util'
import { Interface } from 'ethers'
import { createChainCommon } from '../chain/ChainCommon.js'
import { openChainDB } from '../chain/Database.js'
import { BlockHeader } from '../chain/Header.js'
import { EMPTY_TRIE_ROOT } from '../chain/keccak.js'
import { hexToBytes } from '../common/bytes.js'
import { jumpAnalysisStats } from '../vm/JumpAnalysisCache.js'
import { WorldState } from '../vm/WorldState.js'
import { CallRunner } from '../node/CallRunner.js'
import { compileBenchToken, DEFAULT_TOKEN_SOL } from './benchToken.js'

/*
 * In-process CPU cost of one eth_call (BenchToken.balanceOf through CallRunner on a pooled call
 * VM, no RPC): what the call path itself costs, without HTTP and without a busy node around it.
 *   node dist/bench/callCost.js [CALLS=20000] [CONCURRENCY=1] [--token-sol PATH]
 * SLEEP=1 yields to the OS timer between calls (caches go cold, as in a node serving requests).
 */

const z = (n: number, fill = 0) => new Uint8Array(n).fill(fill)
const dir = mkdtempSync(join(tmpdir(), 'povchain-cb-'))
const db = await openChainDB(join(dir, 'db'))
const common = createChainCommon(31337n, { nativeCrypto: true } as never)
const state = new WorldState(db, common, { canonicalHash: async () => undefined })
const vm = await state.genesisVM()
const tok = compileBenchToken(process.argv.includes('--token-sol') ? process.argv[process.argv.indexOf('--token-sol') + 1] : DEFAULT_TOKEN_SOL)
const iface = new Interface(tok.abi as never)
const holders = Array.from({ length: 20 }, (_, i) => '0x' + (i + 1).toString(16).padStart(40, '0'))
const initcode = hexToBytes((tok.bytecode + iface.encodeDeploy([holders, 10n ** 24n]).slice(2)) as `0x${string}`)
const deployer = new Address(z(20, 0x99))
await vm.stateManager.putAccount(deployer, new Account(0n, 10n ** 20n))
const r = await vm.evm.runCall({ caller: deployer, data: initcode, gasLimit: 10_000_000n })
if (r.execResult.exceptionError) throw r.execResult.exceptionError
const token = r.createdAddress!
await vm.stateManager.checkpoint(); await vm.stateManager.commit()
const root = await vm.stateManager.getStateRoot()
const header = new BlockHeader({
  parentHash: z(32), coinbase: z(20, 0xc0), stateRoot: root, transactionsRoot: EMPTY_TRIE_ROOT, receiptsRoot: EMPTY_TRIE_ROOT,
  logsBloom: z(256), number: 1n, gasLimit: 30_000_000n, gasUsed: 0n, timestamp: 1_700_000_000n, vanity: z(0), mixHash: z(32),
  baseFeePerGas: 1_000_000_000n, slot: 1n, producer: z(20, 0x50), jobId: z(32), sessionId: z(32), workloadId: z(32),
  vrfOutput: z(32), vrfProof: z(80), attestations: [], seal: z(65),
})
const runner = new CallRunner(state, common, 50_000_000n)
const reqs = holders.map((h) => ({ to: token.bytes, data: hexToBytes(iface.encodeFunctionData('balanceOf', [h]) as `0x${string}`) }))
const N = Number(process.argv[2]?.startsWith('--') ? 20000 : (process.argv[2] ?? 20000))
let out
for (let i = 0; i < 2000; i++) out = await runner.call(reqs[i % 20]!, header)
console.log('balanceOf', Buffer.from(out!.returnValue).toString('hex'), out!.gasUsed)
for (let round = 0; round < 3; round++) {
  const c0 = process.cpuUsage()
  const C = Number(process.argv[3]?.startsWith('--') ? 1 : (process.argv[3] ?? 1))
  let next = 0
  await Promise.all(Array.from({ length: C }, async () => { while (next < N) { const i = next++; await runner.call(reqs[i % 20]!, header); if (process.env.SLEEP) await new Promise((r) => setTimeout(r, 0)) } }))
  const c = process.cpuUsage(c0)
  console.log(`round ${round + 1}: ms CPU per call: ${((c.user + c.system) / 1000 / N).toFixed(4)}`)
  const j = jumpAnalysisStats()
  console.log(`  jump analysis so far: ${j.hits} hits (${j.identityHits} by code identity), ${j.misses} misses, ${j.opListsBuilt} opcode lists built`)
}
await db.close()
rmSync(dir, { recursive: true, force: true })
