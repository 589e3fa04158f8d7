import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { signAttestation, type Attestation } from '../chain/Attestation.js'
import type { Block } from '../chain/Block.js'
import { bytesToHex } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { ChainService, Producer } from '../consensus/ChainService.js'

interface VoteRecord {
  sourceHeight: string
  targetHeight: string
}

/**
 * Signs this validator's finality vote for every new head it sees (source = the highest
 * justified ancestor, target = the head), counts it locally and gossips it.
 *
 * It never signs a slashable pair (consensus/Finality.ts): targets strictly increase (no two
 * votes at one height) and sources never decrease (no surround vote). The last vote is written
 * to disk before the signature leaves the process, so a restart cannot make it equivocate.
 */
export class Attester {
  private last: { sourceHeight: bigint; targetHeight: bigint }
  private stopListening?: () => void
  private chainQueue: Promise<void> = Promise.resolve()
  signed = 0

  constructor(
    private readonly chain: ChainService,
    private readonly validator: Producer,
    private readonly chainId: bigint,
    private readonly opts: { file: string; publish?: (a: Attestation) => void },
    private readonly log: Logger,
  ) {
    this.last = this.load()
  }

  private load(): { sourceHeight: bigint; targetHeight: bigint } {
    if (!existsSync(this.opts.file)) return { sourceHeight: -1n, targetHeight: -1n }
    const r = JSON.parse(readFileSync(this.opts.file, 'utf8')) as VoteRecord
    return { sourceHeight: BigInt(r.sourceHeight), targetHeight: BigInt(r.targetHeight) }
  }

  private save(): void {
    const tmp = `${this.opts.file}.tmp`
    const r: VoteRecord = { sourceHeight: this.last.sourceHeight.toString(), targetHeight: this.last.targetHeight.toString() }
    writeFileSync(tmp, JSON.stringify(r))
    renameSync(tmp, this.opts.file)
  }

  start(): void {
    this.stopListening = this.chain.onNewHead((block) => {
      this.chainQueue = this.chainQueue.then(() => this.attest(block)).catch((e: Error) => this.log.warn({ err: e.message }, 'attestation failed'))
    })
  }

  private async attest(block: Block): Promise<void> {
    const head = block.header
    // A newer head may already have been voted while this one waited.
    if (head.number <= this.last.targetHeight) return
    // Only members of the head's sets vote (anyone else's vote would be refused at gossip).
    if (!this.chain.finality.votesFor(head.hash(), this.validator.address)) return
    const unsigned = this.chain.finality.voteFor(this.validator.address, head)
    if (unsigned.sourceHeight < this.last.sourceHeight) return
    this.last = { sourceHeight: unsigned.sourceHeight, targetHeight: unsigned.targetHeight }
    this.save()
    const a = signAttestation(unsigned, this.chainId, this.validator.key)
    this.signed++
    await this.chain.addAttestation(a)
    this.opts.publish?.(a)
    this.log.debug({ target: Number(head.number), source: Number(unsigned.sourceHeight), hash: bytesToHex(head.hash()).slice(0, 10) }, 'attested')
  }

  async stop(): Promise<void> {
    this.stopListening?.()
    await this.chainQueue
  }
}
