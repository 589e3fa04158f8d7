/**
 * System calls (ValidatorSet.epochTransition at an epoch's first block) run before the
 * transactions and must leave nothing behind that changes how the first transaction executes:
 * a builder that tried and skipped a transaction must reach the same state root as an importer
 * that runs only the included ones.
 */
import t from 'tap'
import { createTx } from '@ethereumjs/tx'
import { encodeFunctionData, parseAbi } from 'viem'
import { hexToBytes } from '../../common/bytes.js'
import { noopMetrics } from '../../common/metrics.js'
import { silentLogger } from '../../common/logger.js'
import { PovContractReader, VALIDATOR_SET } from '../../node/PovContractReader.js'
import { common, KEYS, openTestChain } from '../../test/fixtures/TestChain.js'
import { BlockExecutor, type ExecutionEnv, type TxSource } from '../BlockExecutor.js'

const bond = hexToBytes(encodeFunctionData({ abi: parseAbi(['function bond() payable']), functionName: 'bond' }))

t.test('a skipped transaction during building does not change the state root after a system call', async (t) => {
  const c = await openTestChain()
  t.teardown(() => c.destroy())
  const genesis = c.store.head()
  const executor = new BlockExecutor(c.state, common, { logger: silentLogger, metrics: noopMetrics })
  const reader = new PovContractReader(c.state, common)
  const fee = { maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 10n ** 9n, chainId: common.chainId(), type: 2 as const }
  // Account #3 bonds in the ValidatorSet: it writes the slots the epoch transition just wrote.
  const good = createTx({ ...fee, nonce: 0n, to: hexToBytes(VALIDATOR_SET), value: 10n ** 18n, data: bond, gasLimit: 500_000n }, { common }).sign(KEYS[3]!)
  // An unfunded account's transaction cannot pay: the builder tries it first and skips it.
  const skipped = createTx({ ...fee, maxPriorityFeePerGas: 10n ** 10n, nonce: 0n, to: new Uint8Array(20).fill(1), value: 1n, gasLimit: 21_000n }, { common }).sign(new Uint8Array(32).fill(0x77))
  const env: ExecutionEnv = {
    number: 1n,
    timestamp: genesis.timestamp + 40n,
    gasLimit: genesis.gasLimit,
    baseFeePerGas: genesis.baseFeePerGas,
    coinbase: new Uint8Array(20).fill(0xc0),
    mixHash: new Uint8Array(32).fill(7),
    systemCalls: [reader.epochTransition(1n)],
  }
  const list = [skipped, good]
  let i = 0
  const source: TxSource = { next: () => list[i++], skipSender: () => {} }
  const built = await executor.build(genesis.stateRoot, env, source)
  t.equal(built.rejected.length, 1, 'the builder skipped the unrunnable transaction')
  t.equal(built.executed.transactions.length, 1)
  c.state.invalidateHead()
  const imported = await executor.execute(genesis.stateRoot, env, [good])
  t.equal(imported.gasUsed, built.executed.gasUsed, 'same gas')
  t.same(imported.stateRoot, built.executed.stateRoot, 'same state root')
  t.equal(imported.receipts[0]!.status, 1, 'the bond succeeded')
  c.state.invalidateHead()
})

t.test('an empty block with a system call on another branch leaves nothing for the next execution', async (t) => {
  const fee = { maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 10n ** 9n, chainId: common.chainId(), type: 2 as const }
  const good = createTx({ ...fee, nonce: 0n, to: hexToBytes(VALIDATOR_SET), value: 10n ** 18n, data: bond, gasLimit: 500_000n }, { common }).sign(KEYS[3]!)
  const run = async (dirtyFirst: boolean) => {
    const c = await openTestChain()
    t.teardown(() => c.destroy())
    const g = c.store.head()
    const executor = new BlockExecutor(c.state, common, { logger: silentLogger, metrics: noopMetrics })
    const reader = new PovContractReader(c.state, common)
    const env = (number: bigint, epoch: bigint, coinbase: number): ExecutionEnv => ({
      number, timestamp: g.timestamp + 40n * number, gasLimit: g.gasLimit, baseFeePerGas: g.baseFeePerGas,
      coinbase: new Uint8Array(20).fill(coinbase), mixHash: new Uint8Array(32).fill(coinbase), systemCalls: [reader.epochTransition(epoch)],
    })
    // A sibling block (another branch) that is empty but turns the epoch.
    if (dirtyFirst) {
      await executor.execute(g.stateRoot, env(1n, 1n, 0xaa), [])
      c.state.invalidateHead()
    }
    const out = await executor.execute(g.stateRoot, env(1n, 1n, 0xbb), [good])
    c.state.invalidateHead()
    return out
  }
  const clean = await run(false)
  const afterSibling = await run(true)
  t.equal(afterSibling.gasUsed, clean.gasUsed, 'same gas')
  t.same(afterSibling.stateRoot, clean.stateRoot, 'same state root as on a node that never saw the sibling')
})
