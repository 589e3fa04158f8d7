import type { Peer } from './Peer.js'

/**
 * What a node keeps in memory, measured as the sizes of the maps and sets of the real
 * components (read through their private fields: these are the structures issue 11 finding 7
 * is about). Each is either capped by a constant in the code (the cap is checked) or must be
 * pruned as finality advances: then it may hold at most SLACK entries plus a few per block
 * above the finalized one, however long the run.
 */
export interface MemorySample {
  slot: number
  head: bigint
  finalized: bigint
  sizes: Record<string, number>
}

/** Structures capped by a constant, with the cap and where the code sets it. */
export const CAPPED: Record<string, { cap: number; where: string }> = {
  'ChainService.sealedBySlot': { cap: 8193, where: 'consensus/ChainService.ts noteSealed (8192)' },
  'FinalityGadget.weights': { cap: 513, where: 'FinalityGadget.MAX_SETS (512 validator sets)' },
  'FinalityGadget.byHeight': { cap: 16385, where: 'consensus/FinalityGadget.ts count (16384)' },
  'FinalityGadget.links': { cap: 4096, where: 'FinalityGadget.MAX_VALIDATORS_TRACKED' },
  'FinalityGadget.early': { cap: 4096, where: 'FinalityGadget.MAX_EARLY_VOTES' },
  'ProofOfValueEngine.validatorCache': { cap: 257, where: 'consensus/ProofOfValueEngine.ts context (256)' },
  'ProofOfValueEngine.anchorCache': { cap: 8192 + 64, where: 'consensus/ProofOfValueEngine.ts anchor (cleared above 8192)' },
  'ProofOfValueEngine.receipts': { cap: 4097, where: 'consensus/ProofOfValueEngine.ts receiptAt (4096, by state root and session)' },
  'ProofOfValueEngine.chosenReceipt': { cap: 64, where: 'one per producer key this node signs with' },
  'BlockStore.headers': { cap: 16385, where: 'chain/BlockStore.ts cacheHeader (16384)' },
  'BlockStore.blocks': { cap: 256, where: 'chain/BlockStore.ts remember (256)' },
  'BlockStore.receiptsCache': { cap: 8192, where: 'BlockStore.RECEIPTS_CACHE_BLOCKS' },
  'BlockStore.canonicalCache': { cap: 65537, where: 'chain/BlockStore.ts cacheCanonical (65536)' },
}

/** Structures that must shrink with finality: at most SLACK + PER_BLOCK × (head − finalized). */
export const FINALITY_BOUNDED = [
  'ChainService.inTurn',
  'FinalityGadget.votes',
  'FinalityGadget.voteHeights',
  'FinalityTracker.blocks',
  'FinalityTracker.children',
  'FinalityTracker.justifiedSet',
  'FinalityTracker.links',
  'FinalityTracker.linksBySource',
  'FinalityTracker.pending',
] as const
export const SLACK = 128
export const PER_BLOCK = 4
/** Where the code prunes only past a threshold, the threshold is the slack. */
export const SLACK_OF: Record<string, number> = {
  // FinalityGadget.prune: only above 256 targets, down to finalized − 64.
  'FinalityGadget.votes': 257 + 64,
  'FinalityGadget.voteHeights': 257 + 64,
}

type Sized = { size: number } | unknown[]
const size = (x: unknown): number => (Array.isArray(x) ? x.length : ((x as { size?: number } | undefined)?.size ?? -1))

export function measureMemory(p: Peer, slot: number): MemorySample {
  const chain = p.chain as unknown as Record<string, Sized>
  const gadget = p.chain.finality as unknown as Record<string, Sized> & { tracker: Record<string, Sized> }
  const engine = p.sc.engine as unknown as Record<string, Sized>
  const store = p.sc.store as unknown as Record<string, Sized>
  const sizes: Record<string, number> = {
    'ChainService.inTurn': size(chain.inTurn),
    'ChainService.sealedBySlot': size(chain.sealedBySlot),
    'FinalityGadget.weights': size(gadget.weights),
    'FinalityGadget.votes': size(gadget.votes),
    'FinalityGadget.voteHeights': size(gadget.voteHeights),
    'FinalityGadget.byHeight': size(gadget.byHeight),
    'FinalityGadget.links': size(gadget.links),
    'FinalityGadget.early': size(gadget.early),
    'FinalityTracker.blocks': size(gadget.tracker.blocks),
    'FinalityTracker.children': size(gadget.tracker.children),
    'FinalityTracker.justifiedSet': size(gadget.tracker.justifiedSet),
    'FinalityTracker.links': size(gadget.tracker.links),
    'FinalityTracker.linksBySource': size(gadget.tracker.linksBySource),
    'FinalityTracker.pending': size(gadget.tracker.pending),
    'ProofOfValueEngine.validatorCache': size(engine.validatorCache),
    'ProofOfValueEngine.anchorCache': size(engine.anchorCache),
    'ProofOfValueEngine.receipts': size(engine.receipts),
    'ProofOfValueEngine.chosenReceipt': size(engine.chosenReceipt),
    'BlockStore.headers': size(store.headers),
    'BlockStore.blocks': size(store.blocks),
    'BlockStore.receiptsCache': size(store.receiptsCache),
    'BlockStore.canonicalCache': size(store.canonicalCache),
  }
  return { slot, head: p.chain.head().number, finalized: p.chain.finality.finalized.height, sizes }
}
