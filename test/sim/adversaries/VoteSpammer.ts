import { signAttestation, type Attestation } from '../../../chain/Attestation.js'
import { keccak256 } from '../../../chain/keccak.js'
import { privateKeyToAddress } from '../../../chain/Signing.js'
import { concatBytes, u64ToBytes } from '../../../common/bytes.js'
import type { Producer } from '../../../consensus/ChainService.js'
import type { Peer } from '../Peer.js'
import type { Adversary } from './Adversary.js'

/**
 * Vote spammer: a node with no bond and no weight, holding throwaway keys. Every slot each key
 * signs a vote for the spammer's head, alternating an ordinary link with one from genesis that
 * surrounds its previous vote; all go to everyone.
 */
export class VoteSpammer implements Adversary {
  readonly name = 'vote-spammer' as const
  readonly finding = 5
  readonly produces = false
  readonly attests = false
  readonly validator = false
  readonly keys: Producer[]
  private turn = 0

  constructor(seed: number, count = 4) {
    this.keys = Array.from({ length: count }, (_, i) => {
      const key = keccak256(concatBytes(new TextEncoder().encode('povchain/sim-spam-key'), u64ToBytes(BigInt(seed >>> 0)), u64ToBytes(BigInt(i))))
      return { key, address: privateKeyToAddress(key) }
    })
  }

  async onSlot(p: Peer): Promise<void> {
    const head = p.chain.head()
    if (head.number < 2n || !p.chain.finality.knows(head.hash())) return
    const chainId = p.sc.genesis.chainId
    const genesis = p.sc.genesis.block.header
    this.turn++
    for (const k of this.keys) {
      const v = p.chain.finality.voteFor(k.address, head)
      const link = this.turn % 2 === 0 && v.sourceHeight > 0n ? { ...v, sourceHash: genesis.hash(), sourceHeight: 0n } : v
      const a: Attestation = signAttestation(link, chainId, k.key)
      p.publishVote(a)
    }
  }
}
