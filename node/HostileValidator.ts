import { randomBytes } from 'node:crypto'
import { signAttestation, type Attestation } from '../chain/Attestation.js'
import type { Block } from '../chain/Block.js'
import type { BlockHeader } from '../chain/Header.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { bytesToHex, equalBytes } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { ChainService, Producer } from '../consensus/ChainService.js'
import { NodeError } from './errors.js'

/** What `--dev.hostile` makes a validator do (issue 11: the attacks a byzantine validator can play). */
export const HOSTILE_MODES = ['future-slots', 'spam-votes', 'fork-epochs'] as const
export type HostileMode = (typeof HOSTILE_MODES)[number]

export function parseHostileMode(v: string): HostileMode {
  if (!(HOSTILE_MODES as readonly string[]).includes(v)) throw new NodeError('BAD_HOSTILE_MODE', `--dev.hostile must be one of ${HOSTILE_MODES.join(', ')}, not '${v}'`)
  return v as HostileMode
}

/**
 * A byzantine validator, for testing a network against it (`povchain node --dev.hostile MODE`,
 * `povchain devnet --hostile I:MODE`). It runs beside the honest SlotProducer and attacks with
 * the node's own validator key:
 *
 * - `future-slots`: seals every slot it leads in the next 7 at once and publishes it at once —
 *   the attack that silenced honest producers while headers could be 15 s ahead. Honest nodes
 *   now defer such blocks until their slot starts.
 * - `spam-votes`: publishes votes for the head signed by throwaway keys, and double votes by
 *   them — votes that must be dropped at gossip (their sender scored) and never turn into
 *   slashing reports that honest validators pay for.
 * - `fork-epochs`: at the first slot it leads in each epoch (by the schedule of the anchor's
 *   branch), seals a block on the epoch's anchor (the last block before the previous epoch): a
 *   branch that skipped an epoch, whose validator set every node must compute alike. (Only the
 *   epoch's first slot attacked about one epoch in four with four validators; a test that
 *   waited for two attacks failed a quarter of its runs.)
 *
 * Never run it on a network you care about: it is slashable and meant to be.
 */
export class HostileValidator {
  private timer?: NodeJS.Timeout
  private busy = false
  private lastSlot = -1n
  /** fork-epochs: one skipped-epoch branch per epoch. */
  private lastForkedEpoch = -1n
  attacks = 0

  constructor(
    private readonly mode: HostileMode,
    private readonly chain: ChainService,
    private readonly producer: Producer,
    private readonly d: {
      chainId: bigint
      getHeader: (hash: Uint8Array) => Promise<BlockHeader | undefined>
      publishBlock: (b: Block) => unknown
      publishAttestation: (a: Attestation) => unknown
      now?: () => number
    },
    private readonly log: Logger,
  ) {}

  start(): void {
    this.log.warn({ mode: this.mode, validator: bytesToHex(this.producer.address) }, 'HOSTILE validator: attacking the network on purpose (--dev.hostile)')
    this.timer = setInterval(() => {
      if (this.busy) return
      this.busy = true
      this.tick()
        .catch((e: Error) => this.log.debug({ mode: this.mode, err: e.message }, 'attack step failed'))
        .finally(() => (this.busy = false))
    }, 250)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  private nowSlot(): bigint {
    return this.chain.slotAt(BigInt(Math.floor((this.d.now ?? Date.now)() / 1000)))
  }

  private async tick(): Promise<void> {
    const slot = this.nowSlot()
    if (slot === this.lastSlot) return
    this.lastSlot = slot
    if (this.mode === 'future-slots') await this.futureSlots(slot)
    else if (this.mode === 'spam-votes') this.spamVotes()
    else await this.forkEpoch(slot)
  }

  private async leads(parent: BlockHeader, slot: bigint): Promise<boolean> {
    const ranking = await this.chain.engine.ranking(parent, slot)
    return ranking.length > 0 && equalBytes(ranking[0]!, this.producer.address)
  }

  private async futureSlots(now: bigint): Promise<void> {
    const head = this.chain.head()
    for (let s = now + 2n; s <= now + 7n; s++) {
      if (!(await this.leads(head, s))) continue
      const b = await this.chain.produceBlock(this.producer, { allowEmpty: true, slot: s, timestamp: this.chain.slotStart(s) })
      if (!b) return
      this.attacks++
      this.log.warn({ slot: Number(s), now: Number(now), number: Number(b.number) }, 'HOSTILE: published a block for a future slot')
      this.d.publishBlock(b)
      return
    }
  }

  private spamVotes(): void {
    const head = this.chain.head()
    if (head.number === 0n) return
    for (let i = 0; i < 5; i++) {
      const key = randomBytes(32)
      const validator = privateKeyToAddress(key)
      const vote = (target: Uint8Array) =>
        signAttestation({ sourceHash: head.parentHash, sourceHeight: head.number - 1n, targetHash: target, targetHeight: head.number, validator }, this.d.chainId, key)
      this.d.publishAttestation(vote(head.hash()))
      this.d.publishAttestation(vote(randomBytes(32)))
      this.attacks += 2
    }
    this.log.warn({ head: Number(head.number), votes: 10, total: this.attacks }, 'HOSTILE: published votes (and double votes) by keys outside the validator set')
  }

  private async forkEpoch(now: bigint): Promise<void> {
    const { engine } = this.chain
    const epoch = engine.epochOf(now)
    if (epoch < 2n || epoch === this.lastForkedEpoch) return
    // The anchor of `epoch`: the last block of the head's branch before epoch − 1 starts.
    let anchor = this.chain.head()
    const boundary = (epoch - 1n) * engine.slotsPerEpoch
    while (anchor.slot >= boundary && anchor.number > 0n) {
      const p = await this.d.getHeader(anchor.parentHash)
      if (!p) return
      anchor = p
    }
    if (!(await this.leads(anchor, now))) return
    const b = await this.chain.produceBlock(this.producer, { allowEmpty: true, slot: now, timestamp: this.chain.slotStart(now), parent: anchor })
    if (!b) return
    this.attacks++
    this.lastForkedEpoch = epoch
    this.log.warn({ slot: Number(now), anchor: Number(anchor.number), number: Number(b.number) }, 'HOSTILE: published a branch that skips an epoch')
    this.d.publishBlock(b)
  }
}
