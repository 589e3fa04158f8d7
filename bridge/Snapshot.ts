import { readFileSync } from 'node:fs'
import { decodeEventLog, getAddress, toEventSelector, type Address, type Hex } from 'viem'
import { bytesToHex, hexToBytes } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { Metrics } from '../common/metrics.js'
import { BridgeError } from './BridgeError.js'
import type { EthereumRpc } from './EthereumRpc.js'
import { JsonRpcError, mapLimit } from './JsonRpcClient.js'
import { MerkleTree, proofToHex, snapshotLeaf } from './MerkleTree.js'
import { ERC20_ABI, TRANSFER_EVENT } from './SwapBridgeAbi.js'

export const SNAPSHOT_KIND = 'povchain-swap-snapshot'
export const PROOF_KIND = 'povchain-swap-proof'
export const LEAF_ENCODING = 'keccak256(bytes.concat(keccak256(abi.encode(address holder, uint256 amount))))'
export const TREE_HASHING = 'parent = keccak256(min(a,b) ++ max(a,b)); leaves sorted by hash; an odd last node moves up unchanged'

/** The file `povchain bridge snapshot` writes (amounts are decimal strings of token base units). */
export interface SnapshotFile {
  kind: typeof SNAPSHOT_KIND
  version: 1
  source: { chainId: string; token: Address; block: number; blockHash: Hex; fromBlock: number }
  leafEncoding: string
  treeHashing: string
  root: Hex
  total: string
  holderCount: number
  /** token.totalSupply() at the block, for comparison with `total` + `excluded`. */
  tokenTotalSupply: string
  excluded: { address: Address; amount: string }[]
  /**
   * Holders in the tree that had code at the snapshot block: they claim through EIP-1271 by
   * whatever code sits at their address on povchain, so review them before genesis
   * (bridge/README.md, "Snapshot holders that are contracts") and --exclude the ones whose
   * povchain address their owners do not control.
   */
  contracts: Address[]
  holders: { address: Address; amount: string; proof: Hex[] }[]
}

/** What a holder needs to claim: `povchain bridge proof` writes it, `bridge claim` reads it. */
export interface ProofFile {
  kind: typeof PROOF_KIND
  root: Hex
  holder: Address
  amount: string
  proof: Hex[]
}

export interface SnapshotOptions {
  token: Address
  block: bigint
  /** First block to scan (the token's deployment); found by binary search on eth_getCode when absent. */
  fromBlock?: bigint
  /** Blocks per eth_getLogs request; halved when the endpoint refuses a range. */
  range?: bigint
  /** Addresses left out of the tree (e.g. an exchange's cold wallet that swaps separately). */
  exclude?: Address[]
  /** Parallel balanceOf calls. */
  concurrency?: number
  /** Called after each log range and each balance check. */
  onProgress?: (phase: 'logs' | 'balances', done: number, total: number) => void
}

const TRANSFER_TOPIC = toEventSelector(TRANSFER_EVENT)
const ZERO = '0x0000000000000000000000000000000000000000'

/** Does the endpoint's error say the log range or result was too large? */
function rangeTooLarge(e: unknown): boolean {
  if (!(e instanceof JsonRpcError)) return false
  return e.rpcCode === -32005 || /range|too many|limit|exceed|10000|response size|timeout/i.test(e.rpcMessage)
}

async function deploymentBlock(rpc: EthereumRpc, token: Address, upTo: bigint): Promise<bigint> {
  let lo = 0n
  let hi = upTo
  while (lo < hi) {
    const mid = (lo + hi) / 2n
    if ((await rpc.getCode(token, mid)) === '0x') lo = mid + 1n
    else hi = mid
  }
  return lo
}

/**
 * Reads every holder's balance of `token` at `block`: replays the Transfer logs from the
 * deployment up to the block in bounded ranges, then checks each balance against
 * `balanceOf(holder)` at the block (a token whose balances move without Transfer events —
 * rebasing, fee-on-transfer bugs — fails the check rather than producing a wrong root).
 */
export async function takeSnapshot(rpc: EthereumRpc, o: SnapshotOptions, deps: { logger: Logger; metrics: Metrics }): Promise<SnapshotFile> {
  const { logger, metrics } = deps
  const logRequests = metrics.counter('povchain_bridge_snapshot_log_requests_total', 'eth_getLogs requests of snapshots')
  const chainId = await rpc.chainId()
  const head = await rpc.blockNumber()
  if (o.block > head) throw new BridgeError('SNAPSHOT_FUTURE', `snapshot block ${o.block} is above the source head ${head}`)
  const at = await rpc.requireBlock(o.block)
  if ((await rpc.getCode(o.token, o.block)) === '0x') throw new BridgeError('NO_TOKEN', `no contract at ${o.token} at block ${o.block}`)
  let from = o.fromBlock ?? (await deploymentBlock(rpc, o.token, o.block).catch(() => 0n))
  const start = from
  let range = o.range ?? 2000n
  const balances = new Map<Address, bigint>()
  const add = (a: Address, v: bigint) => balances.set(a, (balances.get(a) ?? 0n) + v)
  const span = Number(o.block - start + 1n)
  let transfers = 0
  while (from <= o.block) {
    const to = from + range - 1n > o.block ? o.block : from + range - 1n
    let logs
    try {
      logRequests.inc()
      logs = await rpc.getLogs({ address: o.token, topics: [TRANSFER_TOPIC], fromBlock: from, toBlock: to })
    } catch (e) {
      if (rangeTooLarge(e) && range > 1n) {
        range = range / 2n
        logger.debug({ range: Number(range) }, 'log range refused, halving')
        continue
      }
      throw e
    }
    for (const l of logs) {
      if (l.removed || l.topics.length !== 3) continue // an ERC-721-style Transfer has 4 topics
      const { args } = decodeEventLog({ abi: [TRANSFER_EVENT], data: l.data, topics: l.topics as [Hex, ...Hex[]] })
      const fromA = getAddress(args.from)
      const toA = getAddress(args.to)
      if (fromA !== ZERO) add(fromA, -args.value)
      if (toA !== ZERO) add(toA, args.value)
      transfers++
    }
    from = to + 1n
    o.onProgress?.('logs', Number(from - start), span)
  }
  logger.info({ transfers, accounts: balances.size }, 'transfer logs replayed')

  const accounts = [...balances.keys()]
  let checked = 0
  const onChain = await mapLimit(accounts, o.concurrency ?? 16, async (a) => {
    const v = await rpc.read<bigint>(o.token, ERC20_ABI, 'balanceOf', [a], o.block)
    o.onProgress?.('balances', ++checked, accounts.length)
    return v
  })
  const mismatches = accounts.filter((a, i) => balances.get(a) !== onChain[i])
  if (mismatches.length)
    throw new BridgeError(
      'SNAPSHOT_MISMATCH',
      `balanceOf at block ${o.block} disagrees with the Transfer logs for ${mismatches.length} account(s), e.g. ` +
        mismatches
          .slice(0, 5)
          .map((a) => `${a}: logs ${balances.get(a)}, balanceOf ${onChain[accounts.indexOf(a)]}`)
          .join('; '),
    )
  const tokenTotalSupply = await rpc.read<bigint>(o.token, ERC20_ABI, 'totalSupply', [], o.block).catch(() => -1n)

  const excludeSet = new Set((o.exclude ?? []).map((a) => getAddress(a)))
  const excluded: SnapshotFile['excluded'] = []
  const entries: { address: Address; amount: bigint; leaf: Uint8Array }[] = []
  for (const a of accounts.sort()) {
    const amount = balances.get(a)!
    if (amount === 0n) continue
    if (excludeSet.has(a)) excluded.push({ address: a, amount: amount.toString() })
    else entries.push({ address: a, amount, leaf: snapshotLeaf(hexToBytes(a), amount) })
  }
  if (!entries.length) throw new BridgeError('SNAPSHOT_EMPTY', `no holder of ${o.token} at block ${o.block}`)
  const tree = new MerkleTree(entries.map((e) => e.leaf))
  const hasCode = await mapLimit(entries, o.concurrency ?? 16, async (e) => (await rpc.getCode(e.address, o.block)) !== '0x')
  const contracts = entries.filter((_, i) => hasCode[i]).map((e) => e.address)
  if (contracts.length) logger.warn({ contracts: contracts.length }, 'snapshot holders with code: review them before genesis (bridge/README.md)')
  const total = entries.reduce((s, e) => s + e.amount, 0n)
  if (tokenTotalSupply >= 0n && tokenTotalSupply !== total + excluded.reduce((s, e) => s + BigInt(e.amount), 0n))
    logger.warn({ tokenTotalSupply: tokenTotalSupply.toString(), total: total.toString() }, 'holder balances do not add up to totalSupply()')
  return {
    kind: SNAPSHOT_KIND,
    version: 1,
    source: { chainId: chainId.toString(), token: getAddress(o.token), block: Number(o.block), blockHash: at.hash, fromBlock: Number(start) },
    leafEncoding: LEAF_ENCODING,
    treeHashing: TREE_HASHING,
    root: bytesToHex(tree.root),
    total: total.toString(),
    holderCount: entries.length,
    tokenTotalSupply: tokenTotalSupply.toString(),
    excluded,
    contracts,
    holders: entries.map((e) => ({ address: e.address, amount: e.amount.toString(), proof: proofToHex(tree.proof(e.leaf)) })),
  }
}

export function readSnapshot(path: string): SnapshotFile {
  let s: SnapshotFile
  try {
    s = JSON.parse(readFileSync(path, 'utf8')) as SnapshotFile
  } catch (e) {
    throw new BridgeError('BAD_SNAPSHOT', `cannot read snapshot ${path}: ${(e as Error).message}`, { cause: e })
  }
  if (s.kind !== SNAPSHOT_KIND) throw new BridgeError('BAD_SNAPSHOT', `${path} is not a ${SNAPSHOT_KIND} file`)
  return s
}

/** A holder's proof out of a snapshot file, or a proof file as is. */
export function proofFor(file: SnapshotFile | ProofFile, holder?: Address): ProofFile {
  if (file.kind === PROOF_KIND) {
    if (holder && getAddress(holder) !== getAddress(file.holder)) throw new BridgeError('WRONG_HOLDER', `the proof is for ${file.holder}, not ${holder}`)
    return file
  }
  if (file.kind !== SNAPSHOT_KIND) throw new BridgeError('BAD_PROOF_FILE', `expected a ${PROOF_KIND} or ${SNAPSHOT_KIND} file`)
  if (!holder) throw new BridgeError('NO_HOLDER', 'which holder? (a snapshot file holds many)')
  const h = file.holders.find((x) => x.address.toLowerCase() === holder.toLowerCase())
  if (!h) throw new BridgeError('NOT_IN_SNAPSHOT', `${holder} holds nothing in the snapshot of block ${file.source.block}`)
  return { kind: PROOF_KIND, root: file.root, holder: h.address, amount: h.amount, proof: h.proof }
}

export function readProofSource(path: string): SnapshotFile | ProofFile {
  let f: SnapshotFile | ProofFile
  try {
    f = JSON.parse(readFileSync(path, 'utf8')) as SnapshotFile | ProofFile
  } catch (e) {
    throw new BridgeError('BAD_PROOF_FILE', `cannot read ${path}: ${(e as Error).message}`, { cause: e })
  }
  return f
}
