import { encodeFunctionData, getAddress, type Address, type Hex } from 'viem'
import type { Logger } from '../common/logger.js'
import type { Metrics } from '../common/metrics.js'
import { BridgeError } from './BridgeError.js'
import type { EthereumRpc } from './EthereumRpc.js'
import { LockWatcher, type LockEvent } from './LockWatcher.js'
import { RelayState, type LockRecord } from './RelayState.js'
import { releaseDigest, signDigest, type SwapDomain } from './SwapMessages.js'
import { LOCK_STATUS, SWAP_BRIDGE_ABI, SWAP_LOCK_ABI } from './SwapBridgeAbi.js'
import { TransactionRejected, TransactionSender } from './TransactionSender.js'

export interface LockRelayOptions {
  /** The lock contract on the source chain. */
  lockContract: Address
  /** SwapBridge on povchain. */
  bridge: Address
  confirmations: number
  fromBlock: bigint
  maxRange?: bigint
  pollMs?: number
  /** The relay's progress file. */
  stateFile: string
}

/**
 * An attester: watches the lock contract on the source chain (LockWatcher), and for every
 * confirmed lock signs the EIP-712 Release message and submits the signature to SwapBridge
 * from its own account, unless the lock is already released or already carries its
 * signature. Progress and in-flight transactions are persisted, so a restart neither skips a
 * lock nor sends a second attestation for one.
 */
export class LockRelay {
  private state!: RelayState
  private watcher!: LockWatcher
  private domain!: SwapDomain
  private sourceChainId!: bigint
  private deadline!: bigint
  private readonly sender: TransactionSender
  private readonly log: Logger
  private readonly submitted
  private readonly seen

  constructor(
    private readonly o: LockRelayOptions,
    private readonly d: { source: EthereumRpc; povchain: EthereumRpc; attesterKey: Uint8Array; logger: Logger; metrics: Metrics },
  ) {
    this.sender = new TransactionSender(d.povchain, d.attesterKey)
    this.log = d.logger.child({ attester: this.sender.address })
    this.submitted = d.metrics.counter('povchain_bridge_attestations_sent_total', 'Attestation transactions this relay sent')
    this.seen = d.metrics.counter('povchain_bridge_locks_seen_total', 'Confirmed lock events handled')
  }

  get attester(): Address {
    return this.sender.address
  }

  /** Checks that this key is an attester of this bridge for this source, and loads the state. */
  async init(): Promise<void> {
    const { povchain, source } = this.d
    const [srcChain, povChain] = await Promise.all([source.chainId(), povchain.chainId()])
    const read = <T>(fn: string, args: unknown[] = []) => povchain.read<T>(this.o.bridge, SWAP_BRIDGE_ABI, fn, args)
    const [bridgeSource, bridgeLock, isAttester, deadline] = await Promise.all([
      read<bigint>('sourceChainId'),
      read<Address>('lockContract'),
      read<boolean>('isAttester', [this.attester]),
      read<bigint>('deadline'),
    ])
    if (bridgeSource !== srcChain) throw new BridgeError('WRONG_SOURCE', `SwapBridge expects source chain ${bridgeSource}, the source RPC is chain ${srcChain}`)
    if (getAddress(bridgeLock) !== getAddress(this.o.lockContract)) throw new BridgeError('WRONG_LOCK', `SwapBridge expects lock contract ${bridgeLock}, not ${this.o.lockContract}`)
    if (!isAttester) throw new BridgeError('NOT_ATTESTER', `${this.attester} is not an attester of SwapBridge ${this.o.bridge}`)
    // The relay reads each lock's status on the source before paying it: it needs the SwapLock with refunds.
    const lockDeadline = await source.read<bigint>(this.o.lockContract, SWAP_LOCK_ABI, 'lockDeadline').catch(() => undefined)
    if (lockDeadline === undefined)
      throw new BridgeError('WRONG_LOCK', `${this.o.lockContract} on chain ${srcChain} is not a SwapLock with a lock deadline and refunds (deploy one with bridge deploy-lock)`)
    this.sourceChainId = srcChain
    this.deadline = deadline
    this.domain = { chainId: povChain, bridge: getAddress(this.o.bridge) }
    this.state = new RelayState(this.o.stateFile, {
      sourceChainId: srcChain.toString(),
      lockContract: getAddress(this.o.lockContract),
      bridge: getAddress(this.o.bridge),
      attester: this.attester,
    })
    this.watcher = new LockWatcher(
      { lockContract: getAddress(this.o.lockContract), confirmations: this.o.confirmations, fromBlock: this.o.fromBlock, maxRange: this.o.maxRange ?? 1000n },
      { source, state: this.state, logger: this.log, metrics: this.d.metrics },
    )
    this.log.info({ cursor: this.state.cursor?.number ?? null, confirmations: this.o.confirmations, lockDeadline: Number(lockDeadline), swapDeadlineBlock: Number(deadline) }, 'relay ready')
  }

  /** Scans and handles until caught up with the confirmed source head. */
  async catchUp(): Promise<void> {
    while (await this.watcher.poll((locks) => this.handle(locks))) {
      /* next range */
    }
  }

  /** Runs until `signal` aborts; errors (an RPC down, a node restarting) are logged and retried. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.catchUp()
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'relay step failed; retrying')
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, this.o.pollMs ?? 1000)
        signal.addEventListener('abort', () => (clearTimeout(t), r()), { once: true })
      })
    }
  }

  private async handle(locks: LockEvent[]): Promise<void> {
    for (const l of locks) await this.attest(l)
  }

  private read<T>(fn: string, args: unknown[] = []): Promise<T> {
    return this.d.povchain.read<T>(this.o.bridge, SWAP_BRIDGE_ABI, fn, args)
  }

  private readLock<T>(fn: string, args: unknown[] = []): Promise<T> {
    return this.d.source.read<T>(this.o.lockContract, SWAP_LOCK_ABI, fn, args)
  }

  private async attest(l: LockEvent): Promise<void> {
    this.seen.inc()
    const digest = releaseDigest(this.domain, { sourceChainId: this.sourceChainId, lockContract: getAddress(this.o.lockContract), nonce: l.nonce, recipient: l.recipient, amount: l.amount })
    const prev = this.state.lock(l.nonce)
    const rec: LockRecord =
      prev && prev.digest === digest
        ? prev
        : { nonce: l.nonce.toString(), recipient: l.recipient, amount: l.amount.toString(), blockNumber: Number(l.blockNumber), blockHash: l.blockHash, txHash: l.txHash, digest, status: 'seen' }
    const log = this.log.child({ nonce: Number(l.nonce), recipient: l.recipient, amount: l.amount.toString() })
    const finish = (status: LockRecord['status'], msg: string) => {
      rec.status = status
      this.state.putLock(rec)
      this.state.save()
      log.info(msg)
    }
    if (rec.status === 'done' || rec.status === 'expired') return
    // A transaction sent before a restart: wait for it rather than sending another.
    if (rec.status === 'submitted' && rec.attestTx) {
      const r = await this.d.povchain.waitForReceipt(rec.attestTx, 30_000).catch(() => undefined)
      if (r?.status === 'success') return finish('done', 'attestation from before the restart was mined')
    }
    if (await this.read<boolean>('released', [l.nonce])) return finish('done', 'lock already released')
    if (await this.read<boolean>('attested', [digest, this.attester])) return finish('done', 'lock already carries this attester’s signature')
    // The transaction lands in head + 1 at the earliest; SwapBridge accepts up to `deadline`.
    const head = await this.d.povchain.blockNumber()
    if (head >= this.deadline || (await this.read<boolean>('finalized'))) return finish('expired', 'swap deadline passed: lock not relayed')
    // Never pay a lock the source chain refunded or may refund at any moment (settled and not
    // delivered): only the operator's settlement order makes that impossible, this keeps an
    // honest attester out of the race if the operator settled too early.
    const [settled, [, status]] = await Promise.all([
      this.readLock<boolean>('settled'),
      this.readLock<readonly [Address, number, bigint]>('locks', [l.nonce]),
    ])
    const lockStatus = LOCK_STATUS[status] ?? 'none'
    if (lockStatus === 'refunded' || (settled && lockStatus !== 'delivered'))
      return finish('expired', `lock is ${lockStatus === 'refunded' ? 'refunded' : 'refundable (SwapLock settled)'} on the source chain: not relayed`)
    if (lockStatus === 'none') {
      // Not on the source chain's canonical head any more: a reorg the watcher will rescan.
      log.warn('lock not found on the source head: not relayed now')
      return
    }
    const signature = await signDigest(this.d.attesterKey, digest)
    const data = encodeFunctionData({ abi: SWAP_BRIDGE_ABI, functionName: 'attest', args: [l.nonce, l.recipient, l.amount, [signature]] })
    let hash: Hex
    try {
      hash = await this.sender.submit({ to: this.o.bridge, data })
    } catch (e) {
      // Another attester's transaction completed the quorum first, or ours landed before a crash.
      if (e instanceof TransactionRejected && /already (released|attested)/.test(e.reason)) return finish('done', `not needed: ${e.reason}`)
      throw e
    }
    rec.status = 'submitted'
    rec.attestTx = hash
    this.state.putLock(rec)
    this.state.save()
    this.submitted.inc()
    const r = await this.d.povchain.waitForReceipt(hash)
    if (r.status === 'success') return finish('done', `attestation mined in block ${r.blockNumber}`)
    // Reverted on-chain: re-check on the next pass (most likely the quorum completed meanwhile).
    rec.status = 'seen'
    this.state.putLock(rec)
    if (await this.read<boolean>('released', [l.nonce])) return finish('done', 'lock released by the others')
    throw new BridgeError('ATTEST_FAILED', `attestation ${hash} for lock ${l.nonce} reverted`)
  }
}
