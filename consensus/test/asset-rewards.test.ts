/**
 * AssetRegistry.distributeRewards() as a system call (consensus `epochCalls`, wired by
 * node/ConsensusSetup when genesis places the registry): a chain where nobody calls it gets the
 * ended period's rewards paid in the first epoch-turning block after the period boundary, from
 * SYSTEM_ADDRESS; a second node importing the same blocks reaches the same state roots.
 * Real LevelDB chains, the dev genesis with the registry's `market` set to a dev account so
 * the test can record verified usage directly (the push hook `recordUsage`).
 */
import t, { type Test } from 'tap'
import { createTx } from '@ethereumjs/tx'
import { Address } from '@ethereumjs/util'
import { decodeEventLog, decodeFunctionResult, encodeFunctionData, getAddress, keccak256, toHex, type Hex } from 'viem'
import { Block } from '../../chain/Block.js'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import { bytesToHex, equalBytes, hexToBytes } from '../../common/bytes.js'
import { ASSET_REGISTRY_ADDRESS, assetRegistryAbi, assetRegistryGenesisEntry, DEV_ASSET_REWARD_FUND, devAssetRegistryConfig } from '../../genesis/AssetRegistryGenesis.js'
import { DEV_MNEMONIC, deriveKeys } from '../../chain/DevKeys.js'
import { parseGenesis } from '../../genesis/GenesisConfig.js'
import { devGenesis } from '../../genesis/presets.js'
import { SYSTEM_ADDRESS, toEthjsBlock } from '../../vm/BlockExecutor.js'
import { openTestChain } from '../../test/fixtures/TestChain.js'

const KEYS = deriveKeys(DEV_MNEMONIC, 6)
const addr = (i: number) => getAddress(bytesToHex(privateKeyToAddress(KEYS[i]!)))
const PRODUCER = { key: KEYS[0]!, address: privateKeyToAddress(KEYS[0]!) }
const [DATA_OWNER, MODEL_OWNER, CLIENT, MARKET] = [1, 2, 3, 5]
const ETHER = 10n ** 18n
const abi = assetRegistryAbi()
const REG = hexToBytes(ASSET_REGISTRY_ADDRESS)

const genesis = devGenesis()
genesis.config.systemContracts!.AssetRegistry = assetRegistryGenesisEntry({ ...devAssetRegistryConfig(), market: addr(MARKET) }, genesis.config.epochLength as number, DEV_ASSET_REWARD_FUND)
const spec = parseGenesis(genesis)
const common = createChainCommon(spec.chainId)
const PERIOD = BigInt(genesis.config.epochLength as number) // periodEpochs 1

async function openChain(t: Test) {
  const { store, state, chain, pool, destroy } = await openTestChain(undefined, spec)
  t.teardown(destroy)
  /** A registry view at a state root (the block context of `at`, for views that read block.number). */
  const read = async <T>(fn: string, args: readonly unknown[] = [], root = store.head().stateRoot): Promise<T> =>
    state.withCallVM(root, async (vm) => {
      const r = await vm.evm.runCall({ to: new Address(REG), data: hexToBytes(encodeFunctionData({ abi, functionName: fn, args } as never)), gasLimit: 10_000_000n })
      if (r.execResult.exceptionError) throw new Error(`${fn} reverted`)
      return decodeFunctionResult({ abi, functionName: fn, data: bytesToHex(r.execResult.returnValue) as Hex } as never) as T
    })
  return { store, state, chain, pool, read }
}

function registryTx(key: number, nonce: bigint, functionName: string, args: readonly unknown[]) {
  return createTx(
    { type: 2, nonce, to: REG, data: hexToBytes(encodeFunctionData({ abi, functionName, args } as never)), gasLimit: 1_000_000n, maxFeePerGas: 100n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n, chainId: spec.chainId },
    { common },
  ).sign(KEYS[key]!)
}

t.test('distributeRewards runs as a system call at the first epoch turn of a new period; a second node agrees on every state root', async (t) => {
  const a = await openChain(t)
  const b = await openChain(t)
  let clock = 1_800_000_010 // seconds; one slot (1 s) per block unless the test jumps: block k is in slot 1_800_000_010 + k, so epochs (32 slots) turn at blocks 22, 54, …
  const produce = async (txs: ReturnType<typeof registryTx>[] = [], jump = 1) => {
    for (const tx of txs) await a.pool.add(tx)
    clock += jump
    const blk = await a.chain.produceBlock(PRODUCER, { allowEmpty: true, now: () => clock * 1000 })
    if (!blk) throw new Error('no block produced')
    return blk
  }
  const blocks: Block[] = []
  // Block 1: two free assets; block 2: the market records a verified use of each.
  blocks.push(await produce([registryTx(DATA_OWNER, 0n, 'publish', [1, keccak256(toHex('data')), 10n, keccak256(toHex('m1')), '', 0, 0n, 0n]), registryTx(MODEL_OWNER, 0n, 'publish', [0, keccak256(toHex('model')), 10n, keccak256(toHex('m2')), '', 0, 0n, 0n])]))
  blocks.push(await produce([registryTx(MARKET, 0n, 'recordUsage', [1n, keccak256(toHex('job-1')), addr(CLIENT)]), registryTx(MARKET, 1n, 'recordUsage', [2n, keccak256(toHex('job-2')), addr(CLIENT)])]))
  t.equal(await a.read<bigint>('assetCount'), 2n)
  t.same((await a.read<readonly [{ usage: bigint }]>('getAsset', [1n]))[0].usage, 1n, 'verified usage recorded')

  // Up to the period boundary: block PERIOD (32) starts period 1; the last epoch turn was at block 22.
  while (a.store.head().number < PERIOD) blocks.push(await produce())
  const epochOf = (slot: bigint) => slot / BigInt(spec.epochLength)
  t.equal(await a.read<boolean>('distributed', [0n]), false, 'period 1 started without anybody distributing period 0')
  // The next block jumps to the next epoch: the first epoch turn of period 1.
  const head = a.store.head()
  const toNextEpoch = Number((epochOf(head.slot) + 1n) * BigInt(spec.epochLength) - head.slot)
  const turning = await produce([], toNextEpoch)
  blocks.push(turning)
  t.ok(epochOf(turning.header.slot) > epochOf(head.slot), `block ${turning.number} turns the epoch`)
  t.ok(turning.number / PERIOD === 1n, 'in period 1')
  t.equal(turning.transactions.length, 0, 'no transaction in the turning block')
  for (const blk of blocks) for (const tx of blk.transactions) t.not(bytesToHex(tx.data.slice(0, 4)), encodeFunctionData({ abi, functionName: 'distributeRewards' }), 'no user calls distributeRewards')

  // The state after the turning block: period 0 paid, 3/6 of each kind's half to its rank 1.
  const share = (10n * ETHER) / 2n * 3n / 6n
  t.equal(await a.read<boolean>('distributed', [0n]), true, 'period 0 distributed by the system call')
  t.equal(await a.read<bigint>('credits', [addr(DATA_OWNER)]), share, 'the free dataset’s owner credited')
  t.equal(await a.read<bigint>('credits', [addr(MODEL_OWNER)]), share, 'the free model’s owner credited')
  t.equal(await a.read<bigint>('rewardFund'), DEV_ASSET_REWARD_FUND - 2n * share)
  const [fund, escrowed, owed, balance] = await a.read<readonly bigint[]>('accounting')
  t.equal(fund! + escrowed! + owed!, balance!, 'accounting() still balances')

  // The events of that system call: replay it from SYSTEM_ADDRESS on the parent state in the turning block's context.
  const parentRoot = head.stateRoot
  const logs = await a.state.withCallVM(parentRoot, async (vm) => {
    const h = turning.header
    const block = toEthjsBlock({ number: h.number, timestamp: h.timestamp, gasLimit: h.gasLimit, baseFeePerGas: h.baseFeePerGas, coinbase: h.coinbase, mixHash: h.mixHash }, common)
    const r = await vm.evm.runCall({ caller: new Address(SYSTEM_ADDRESS), origin: new Address(SYSTEM_ADDRESS), to: new Address(REG), data: hexToBytes(encodeFunctionData({ abi, functionName: 'distributeRewards' })), gasLimit: 30_000_000n, block: block as never })
    return (r.execResult.logs ?? []).map(([, topics, data]) => decodeEventLog({ abi, topics: topics.map((x) => bytesToHex(x)) as [Hex, ...Hex[]], data: bytesToHex(data) as Hex }))
  })
  t.same(
    logs.filter((e) => e.eventName === 'Rewarded').map((e) => e.args),
    [
      { period: 0n, id: 2n, owner: addr(MODEL_OWNER), rank: 1, amount: share },
      { period: 0n, id: 1n, owner: addr(DATA_OWNER), rank: 1, amount: share },
    ],
    'the system call emits Rewarded for the top free model and dataset of period 0',
  )
  // A later epoch turn in the same period pays nothing more (idempotent per period).
  const again = await produce([], spec.epochLength)
  blocks.push(again)
  if (again.number / PERIOD === 1n) t.equal(await a.read<bigint>('credits', [addr(DATA_OWNER)]), share, 'a second turn in period 1 pays nothing')

  // A second node imports the same blocks and reaches the same state root at every height.
  for (const blk of blocks) {
    const r = await b.chain.importBlock(Block.decode(blk.encode(), common), clock + 10)
    if (r !== 'head') t.fail(`block ${blk.number} imported as ${r}`)
    if (!equalBytes(b.store.head().stateRoot, blk.header.stateRoot)) t.fail(`block ${blk.number}: state roots differ`)
  }
  t.same(b.store.head().hash(), a.store.head().hash(), 'same head')
  t.same(b.store.head().stateRoot, a.store.head().stateRoot, 'same state root')
  t.equal(await b.read<bigint>('credits', [addr(MODEL_OWNER)]), share, 'the importer credited the owners too')
})
