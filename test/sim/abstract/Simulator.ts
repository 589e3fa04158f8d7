import { keccak256 } from '../../../chain/keccak.js'
import { u64ToBytes } from '../../../common/bytes.js'
import { byzantine, does, HONEST, STRATEGIES, type Behaviour, type Strategy } from './Byzantine.js'
import { EpochWeights } from './EpochWeights.js'
import { EventQueue } from '../EventQueue.js'
import { SimKeys } from './Evidence.js'
import { Network, type NetworkConfig } from '../Network.js'
import { DEFAULT_RULES, plantReceipts, ReceiptBook, type ReceiptRules } from './ReceiptBook.js'
import { Rng } from '../Rng.js'
import { GENESIS, SimNode, type SimBlock, type SimContext, type SimMessage } from './SimNode.js'
import { SlashingLedger } from './SlashingLedger.js'

/**
 * Deterministic consensus simulator on virtual time: N validators whose weights come from
 * seeded work receipts, a seeded network (Network.ts) that delays, drops, reorders and
 * partitions messages, and byzantine validators (Byzantine.ts). A run is a pure function of
 * its config; Properties.ts checks what issue 5 asks of it (test/sim/sim.test.ts, run.ts).
 */
export interface SimConfig extends NetworkConfig {
  seed: number
  validators: number
  slots: number
  slotMs?: number
  slotsPerEpoch?: number
  /** Ranks past the leader that may produce; default 1. */
  maxBackups?: number
  /** How many validators are byzantine; the simulator keeps their weight below 1/3 in every epoch unless `aboveThird`. */
  byzantine?: number
  /** The byzantine validators' strategies; default: a seeded non-empty mix per validator. */
  strategies?: Strategy[]
  /** Take exactly `byzantine` validators (by index from v0), whatever their weight: for the ≥ 1/3 scenarios. */
  aboveThird?: boolean
  /** Extra nodes that never earned a receipt but produce blocks anyway, naming others' or made-up receipts. */
  fakers?: number
  /** Validators whose work stops at slot `slots/4`: their receipts expire, they keep naming them (stale-receipt). Counted as byzantine. */
  expiring?: number
  /** Every validator earns the same (exact weight fractions). */
  equalWeights?: boolean
  receiptRules?: ReceiptRules
  /** Byzantine validators talk across partitions (the adversary controls the network); default true. */
  bridges?: boolean
  /** Negative controls: honest nodes skip the receipt check or never act on evidence, so the properties must fail. */
  sabotage?: 'no-receipt-check' | 'no-evidence'
  /** Receives one line per production, vote and slashing, for debugging a failing seed; also feeds the trace hash. */
  trace?: (line: string) => void
}

export interface SimResult {
  cfg: SimConfig
  slotMs: number
  blocks: ReadonlyMap<string, SimBlock>
  honest: SimNode[]
  nodes: SimNode[]
  byzantine: string[]
  behaviours: ReadonlyMap<string, Behaviour>
  /** Per honest node, its finalized height at the end of each slot (index = slot − 1). */
  finalizedHeights: Map<string, bigint[]>
  /** Per honest node, its head height at the end of each slot. */
  headHeights: Map<string, bigint[]>
  /** Validators that cast conflicting messages, with the slot of their first equivocation. */
  equivocators: Map<string, number>
  receipts: ReceiptBook
  weights: EpochWeights
  ledger: SlashingLedger
  keys: SimKeys
  network: Network
  /** Slots whose block on the final chain came from a backup. */
  backupSlots: number
  /** keccak256 over the trace: equal for equal configs. */
  traceHash: string
}

export function runSimulation(cfg: SimConfig): SimResult {
  const rng = new Rng(cfg.seed)
  const slotMs = cfg.slotMs ?? 1000
  const spe = cfg.slotsPerEpoch ?? 8
  const ids = Array.from({ length: cfg.validators }, (_, i) => `v${i}`)
  const fakers = Array.from({ length: cfg.fakers ?? 0 }, (_, i) => `f${i}`)
  const all = [...ids, ...fakers]

  // Receipts: validators earn work; `expiring` ones stop at a quarter of the run; fakers earn nothing.
  const order = [...ids].sort(() => rng.next() - 0.5)
  const expiring = order.slice(0, cfg.expiring ?? 0)
  const receipts = new ReceiptBook(cfg.receiptRules ?? DEFAULT_RULES)
  plantReceipts(receipts, rng, {
    workers: ids,
    stopsAt: new Map(expiring.map((id) => [id, Math.floor(cfg.slots / 4)])),
    slots: cfg.slots + 2,
    equal: cfg.equalWeights,
  })
  const ledger = new SlashingLedger(spe)
  const weights = new EpochWeights(receipts, ledger, all, BigInt(spe))

  // Byzantine: expiring validators first, then others in seeded order, keeping their weight strictly below 1/3 of every epoch.
  const epochs = Array.from({ length: Math.ceil((cfg.slots + 2) / spe) + 1 }, (_, e) => weights.receiptWeights(BigInt(e)))
  const underThird = (set: string[]) =>
    epochs.every((w) => {
      const total = [...w.values()].reduce((a, b) => a + b, 0n)
      return 3n * set.reduce((s, id) => s + w.get(id)!, 0n) < total
    })
  const byz: string[] = [...expiring]
  if (cfg.aboveThird) for (const id of ids.slice(0, cfg.byzantine ?? 0)) byz.includes(id) || byz.push(id)
  else for (const id of order) if (byz.length < (cfg.byzantine ?? 0) + expiring.length && !byz.includes(id) && underThird([...byz, id])) byz.push(id)
  if (!cfg.aboveThird && !underThird(byz)) byz.splice(expiring.length)
  const behaviours = new Map<string, Behaviour>()
  for (const id of all) {
    if (fakers.includes(id)) behaviours.set(id, byzantine('fake-receipt'))
    else if (expiring.includes(id)) behaviours.set(id, byzantine('stale-receipt'))
    else if (!byz.includes(id)) behaviours.set(id, HONEST)
    else if (cfg.strategies) behaviours.set(id, byzantine(...cfg.strategies))
    else {
      const pick = STRATEGIES.filter(() => rng.chance(0.5))
      behaviours.set(id, byzantine(...(pick.length > 0 ? pick : [STRATEGIES[rng.int(0, STRATEGIES.length - 1)]!])))
    }
  }

  const q = new EventQueue()
  const lines: string[] = []
  const trace = (line: string) => {
    lines.push(line)
    cfg.trace?.(line)
  }
  const bridges = new Set(cfg.bridges === false ? [] : [...byz, ...fakers])
  const network = new Network(q, rng, slotMs, cfg, all, bridges)
  const registry = new Map<string, SimBlock>([[GENESIS.hash, GENESIS]])
  const keys = new SimKeys(all, cfg.seed)
  const nodes = new Map<string, SimNode>()
  const slotNow = () => Math.floor(q.now / slotMs)
  const ctx: SimContext = {
    params: { slotsPerEpoch: BigInt(spe), slotMs, genesisSeed: keccak256(u64ToBytes(BigInt(cfg.seed))), maxBackups: cfg.maxBackups ?? 1, sabotage: cfg.sabotage },
    weights,
    receipts,
    ledger,
    keys,
    peers: all,
    registry,
    now: () => q.now,
    send: (from, to, m: SimMessage) => network.send(from, to, () => nodes.get(to)!.receive(from, m)),
    sideOf: (id) => network.sideOf(id),
    cache: { seeds: new Map(), schedules: new Map() },
    onInclusion(offender) {
      const at = slotNow()
      if (ledger.include(offender, at)) {
        weights.assertUnread(at)
        trace(`slot ${at} slashed ${offender}`)
      }
    },
  }
  for (const id of all) nodes.set(id, new SimNode(id, behaviours.get(id)!, ctx))
  const honest = [...nodes.values()].filter((n) => n.behaviour.honest)
  const finalizedHeights = new Map(honest.map((n) => [n.id, [] as bigint[]]))
  const headHeights = new Map(honest.map((n) => [n.id, [] as bigint[]]))
  const equivocators = new Map<string, number>()
  const equivocated = (id: string, slot: number) => equivocators.has(id) || equivocators.set(id, slot)

  for (let s = 1; s <= cfg.slots; s++) {
    const slot = BigInt(s)
    const start = s * slotMs
    // The leader produces at the slot start; backup r after r/maxBackups of the first third (it waits for a silent leader).
    const backups = cfg.maxBackups ?? 1
    for (let r = 0; r <= backups; r++) {
      q.at(start + Math.floor((r * slotMs) / (3 * backups)), () => {
        for (const n of nodes.values()) {
          const made = n.maybeProduce(slot, r)
          if (made.length > 1) equivocated(n.id, s)
          for (const b of made) {
            registry.set(b.hash, b)
            trace(`slot ${slot} ${n.id} r${r} makes ${b.hash} h${b.height} on ${b.parent} receipt ${b.sessionId} evidence ${b.evidence.length}`)
          }
        }
      })
    }
    q.at(start + Math.floor((2 * slotMs) / 3), () => {
      for (const n of nodes.values()) {
        const votes = n.attest()
        for (const v of votes) trace(`slot ${slot} ${n.id} votes ${v.source}@${v.sourceHeight} -> ${v.target}@${v.targetHeight}`)
        const b = behaviours.get(n.id)!
        if (votes.length > 1 && (does(b, 'double-vote') || does(b, 'surround-vote'))) equivocated(n.id, s)
      }
    })
    q.runUntil(start + slotMs - 1)
    for (const n of honest) {
      finalizedHeights.get(n.id)!.push(n.tracker.finalized.height)
      headHeights.get(n.id)!.push(n.head().height)
    }
  }
  q.runUntil((cfg.slots + 2) * slotMs)
  for (const n of honest) trace(`end ${n.id} head ${n.head().hash} final ${n.tracker.finalized.hash}`)

  // Backup-filled slots on the first honest node's final chain.
  let backupSlots = 0
  const first = honest[0]
  for (let h = first?.tracker.finalized.hash; first && h && h !== GENESIS.hash; h = registry.get(h)!.parent) if (registry.get(h)!.rank > 0) backupSlots++

  return {
    cfg,
    slotMs,
    blocks: registry,
    honest,
    nodes: [...nodes.values()],
    byzantine: [...byz, ...fakers],
    behaviours,
    finalizedHeights,
    headHeights,
    equivocators,
    receipts,
    weights,
    ledger,
    keys,
    network,
    backupSlots,
    traceHash: Buffer.from(keccak256(new TextEncoder().encode(lines.join('\n')))).toString('hex'),
  }
}
