import { CAPPED, FINALITY_BOUNDED, PER_BLOCK, SLACK, SLACK_OF } from './Memory.js'
import { WAIT_CODES } from './Peer.js'
import { INVALID_PARENT } from './Referee.js'
import type { BlockInfo, SimRecord } from './Simulation.js'

/**
 * The properties issue 11 asks of the real engine, checked on what a run recorded:
 *
 * - verdict: every honest node reaches the same verdict on every block it sees — one accepting
 *   and another refusing it is a violation, unless the refusal is about when it came (unknown
 *   parent, a timestamp ahead of the clock) or about the node's own finality (a block that does
 *   not descend from its finalized block, which is refused by design).
 * - safety: no two conflicting blocks finalized by honest nodes while the byzantine weight is
 *   below 1/3 of every epoch's set (and no FinalityTracker refused a conflicting finalization).
 * - silenced: an honest validator that leads a slot on the branch it holds (the rules as a pure
 *   function of that branch: a fresh engine) produces a block in it, and honest nodes do not
 *   refuse blocks honest validators made.
 * - liveness: finality resumes within LIVENESS_EPOCHS epochs of a partition's heal, and at the
 *   end of a run every honest node's finalized block is at most that far behind.
 * - memory: the components' maps stay bounded (Memory.ts).
 * - membership: honest nodes take no votes from keys outside every validator set (the gossip
 *   layer relays what addAttestation accepts) and report no evidence against them.
 * - detection: a node that imported both blocks of a double production reports it.
 */
export const PROPERTIES = ['verdict', 'safety', 'silenced', 'liveness', 'memory', 'membership', 'detection'] as const
export type Property = (typeof PROPERTIES)[number]

export interface Violation {
  property: Property
  /**
   * What explains it, when the cause is recognised: a finding number of issue 11, or a letter
   * for what the simulator found beyond it (FINDINGS_BEYOND_ISSUE_11).
   */
  finding?: number | string
  message: string
}

/** Causes the simulator recognises that issue 11 does not list. */
export const FINDINGS_BEYOND_ISSUE_11: Record<string, string> = {
  J: 'a justification known to part of the network only: votes reach the other nodes only by gossip at the time or in the next header (votes for its parent), the Attester never lowers its source, so after a partition the two groups vote from different sources and finality never resumes',
}

export const LIVENESS_EPOCHS = 4

/** Refusals that do not count as a verdict: timing, and blocks off the node's own finalized chain. */
const NOT_A_VERDICT = new Set([...WAIT_CODES, 'CONSENSUS_CONFLICTS_FINALIZED', 'KNOWN_BAD'])

/** Which finding a refusal code points at when honest nodes disagree. */
export function findingOfCode(code: string | undefined): number | undefined {
  if (!code) return undefined
  if (/FAKE_RECEIPT|BAD_WORK|NO_RECEIPT/.test(code)) return 1
  if (/NOT_PRODUCER|NOT_ELIGIBLE|OWN_ENGINE_DISAGREES|BAD_SLOT|BAD_ATTESTATION|BAD_VRF/.test(code)) return 2
  return undefined
}

export interface Measurements {
  blocks: number
  honestBlocks: number
  /** Honest blocks off the first honest node's final chain. */
  orphanRate: number
  refusedByCode: Record<string, number>
  /** Slots from a block's slot to the moment each honest node holds it final (at slot granularity). */
  timeToFinality: number[]
  /** Slots from a partition's heal until every honest node finalized a block made after it. */
  recoveryAfterHeal?: number
  expectedLeaderSlots: number
  missedLeaderSlots: number
  equivocationsSeen: number
  maxByzantineShare: number
  finalizedHeight: bigint
  headHeight: bigint
  memoryGrowth: Record<string, number>
}

function ancestors(blocks: ReadonlyMap<string, BlockInfo>, hash: string, genesis: string): Set<string> {
  const out = new Set<string>([hash])
  for (let h = blocks.get(hash); h; h = blocks.get(h.parent)) out.add(h.parent)
  out.add(genesis)
  return out
}

function describe(rec: SimRecord, b: BlockInfo | undefined, hash: string): string {
  if (!b) return `block ${hash.slice(0, 12)}`
  const who = b.honest ? `honest ${b.by}` : `${rec.byzantine.get(b.by) ?? 'byzantine'} ${b.by}`
  return `block ${hash.slice(0, 12)} #${b.number} slot ${b.slot} by ${who}${b.note ? ` (${b.note})` : ''}`
}

export function checkRecord(rec: SimRecord): { violations: Violation[]; measurements: Measurements } {
  const v: Violation[] = []
  const spe = rec.slotsPerEpoch
  const refusedByCode: Record<string, number> = {}

  // verdict (against each other and against the referee), and honest blocks refused (silenced).
  // Blocks the referee refuses only because an ancestor is invalid are counted with that ancestor.
  const rootOf = (hash: string): string => {
    let h = hash
    for (let b = rec.blocks.get(h); b?.ref && !b.ref.ok && b.ref.code === INVALID_PARENT; b = rec.blocks.get(h)) h = b.parent
    return h
  }
  const inherited = new Map<string, string[]>()
  for (const [hash, byNode] of rec.verdicts) {
    const b = rec.blocks.get(hash)
    if (b?.ref && !b.ref.ok && b.ref.code === INVALID_PARENT && [...byNode.values()].some((r) => r.outcome.ok)) {
      const root = rootOf(hash)
      inherited.set(root, [...(inherited.get(root) ?? []), hash])
    }
  }
  for (const [hash, byNode] of rec.verdicts) {
    if (rec.blocks.get(hash)?.ref?.ok === false && rec.blocks.get(hash)!.ref!.ok === false && (rec.blocks.get(hash)!.ref as { code: string }).code === INVALID_PARENT) continue
    const accepted: string[] = []
    const refused: { node: string; code: string; message: string }[] = []
    for (const [node, r] of byNode) {
      if (r.outcome.ok) accepted.push(node)
      else if (!NOT_A_VERDICT.has(r.outcome.code)) refused.push({ node, code: r.outcome.code, message: r.outcome.message })
      if (!r.outcome.ok) refusedByCode[r.outcome.code] = (refusedByCode[r.outcome.code] ?? 0) + 1
    }
    const b = rec.blocks.get(hash)
    const ref = b?.ref
    const refText = !ref ? 'no referee verdict' : ref.ok ? 'the referee accepts it' : `the referee refuses it (${ref.code}: ${ref.message})`
    const wrongAccept = ref && !ref.ok ? accepted : []
    const wrongRefuse = ref?.ok ? refused : []
    const descendants = inherited.get(hash) ?? []
    if ((accepted.length > 0 && refused.length > 0) || wrongAccept.length > 0 || wrongRefuse.length > 0 || descendants.length > 0) {
      const code = refused[0]?.code ?? (ref && !ref.ok ? ref.code : undefined)
      v.push({
        property: 'verdict',
        finding: findingOfCode(code),
        message: `${describe(rec, b, hash)}: ${accepted.length ? `accepted by ${accepted.join(', ')}` : 'accepted by no honest node'}; ${
          refused.length ? `refused by ${refused.map((r) => `${r.node} (${r.code}: ${r.message})`).join('; ')}` : 'refused by none'
        }; ${refText}${descendants.length ? `; and ${descendants.length} descendants that only an invalid ancestor makes invalid were accepted by honest nodes` : ''}`,
      })
    }
    if (b?.honest && refused.length > 0)
      v.push({
        property: 'silenced',
        finding: findingOfCode(refused[0]!.code),
        message: `${describe(rec, b, hash)} refused by honest ${refused.map((r) => `${r.node} (${r.code})`).join(', ')}; ${refText}`,
      })
  }

  // silenced: expected leaders that made nothing
  for (const m of rec.missed) {
    v.push({
      property: 'silenced',
      finding: m.e.future ? 3 : findingOfCode(m.code),
      message: `honest ${m.e.peer} leads slot ${m.e.slot} on block ${m.e.parent.slice(0, 12)} but made no block: ${m.why}`,
    })
  }

  // safety
  const shares = rec.byzantineShare.map((s) => s.share)
  const maxShare = shares.length ? Math.max(...shares) : 0
  if (maxShare < 1 / 3) {
    const finals = new Map<string, { height: bigint; node: string }>()
    for (const [node, list] of rec.finality) for (const f of list) if (!finals.has(f.hash)) finals.set(f.hash, { height: f.height, node })
    const top = [...finals].sort((a, b) => (a[1].height > b[1].height ? -1 : a[1].height < b[1].height ? 1 : a[0] < b[0] ? -1 : 1))[0]
    if (top) {
      const line = ancestors(rec.blocks, top[0], rec.genesis)
      for (const [h, f] of finals)
        if (!line.has(h)) v.push({ property: 'safety', message: `${f.node} finalized ${describe(rec, rec.blocks.get(h), h)}, which conflicts with ${describe(rec, rec.blocks.get(top[0]), top[0])} finalized by ${top[1].node}` })
    }
    for (const [node, cs] of rec.conflicts) for (const c of cs) v.push({ property: 'safety', message: `${node}'s FinalityTracker refused finalizing ${c.refused.slice(0, 12)}, which conflicts with its finalized ${c.finalized.slice(0, 12)}` })
  }

  // liveness
  const bound = LIVENESS_EPOCHS * spe
  let recovery: number | undefined
  const heal = rec.cfg.partition?.toSlot
  if (heal !== undefined && heal < rec.cfg.slots) {
    let worst = 0
    for (const [node, list] of rec.finality) {
      const joined = rec.joinedAt.get(node)
      if (joined !== undefined && joined > heal) continue
      const first = list.find((f) => f.slot >= heal && f.fslot >= BigInt(heal))
      const took = first ? first.slot - heal : Infinity
      worst = Math.max(worst, took)
    }
    recovery = worst
    if (worst > bound && rec.cfg.slots - heal > bound)
      v.push({ property: 'liveness', finding: splitJustification(rec), message: `finality had not resumed ${bound} slots after the partition healed at slot ${heal} (${worst === Infinity ? 'never' : `${worst} slots`})${justifiedText(rec)}` })
  }
  const settledFrom = Math.max(heal ?? 0, rec.cfg.gstSlot ?? 0, ...[...rec.joinedAt.values()])
  if (rec.cfg.slots - settledFrom > 2 * bound) {
    for (const [node, list] of rec.finality) {
      const last = list[list.length - 1]
      if (last && last.fslot + BigInt(bound) < BigInt(rec.cfg.slots))
        v.push({ property: 'liveness', finding: splitJustification(rec), message: `${node} ends the run at slot ${rec.cfg.slots} with its finalized block at slot ${last.fslot} (height ${last.height}, head ${last.head})${justifiedText(rec)}` })
    }
  }

  // memory
  const memoryGrowth: Record<string, number> = {}
  for (const [node, samples] of rec.memory) {
    const last = samples[samples.length - 1]
    if (!last) continue
    const mid = samples[Math.floor(samples.length / 2)]!
    const unfinal = Number(last.head - last.finalized)
    for (const [k, n] of Object.entries(last.sizes)) {
      memoryGrowth[k] = Math.max(memoryGrowth[k] ?? 0, n - (mid.sizes[k] ?? 0))
      if (n < 0) {
        v.push({ property: 'memory', message: `${node}: ${k} not found (renamed or removed?) — update test/sim/Memory.ts` })
        continue
      }
      const cap = CAPPED[k]
      if (cap && n > cap.cap) v.push({ property: 'memory', message: `${node}: ${k} holds ${n} entries, above its cap ${cap.cap} (${cap.where})` })
      const slack = SLACK_OF[k] ?? SLACK
      if ((FINALITY_BOUNDED as readonly string[]).includes(k) && n > slack + PER_BLOCK * unfinal)
        v.push({
          property: 'memory',
          finding: 7,
          message: `${node}: ${k} holds ${n} entries at slot ${last.slot} with ${unfinal} blocks above the finalized one (bound ${slack} + ${PER_BLOCK}×${unfinal}); it held ${mid.sizes[k]} at slot ${mid.slot}`,
        })
    }
  }

  // membership
  for (const [node, n] of rec.nonMemberVotes)
    v.push({ property: 'membership', finding: 5, message: `${node} accepted ${n} votes signed by keys that are in no validator set (its gossip would relay them)` })
  const reported = new Map<string, number>()
  for (const e of rec.equivocations) if (!rec.validatorOf.has(e.offender)) reported.set(`${e.peer} ${e.kind}`, (reported.get(`${e.peer} ${e.kind}`) ?? 0) + 1)
  for (const [k, n] of reported) v.push({ property: 'membership', finding: 5, message: `${k.split(' ')[0]} reported ${n} ${k.split(' ')[1]} offences by keys that are in no validator set (EvidenceReporter would pay to submit them)` })

  // detection
  const pairs = new Map<string, string[]>()
  for (const b of rec.blocks.values()) if (b.note?.startsWith('equivocation ')) pairs.set(`${b.producer}:${b.slot}`, [...(pairs.get(`${b.producer}:${b.slot}`) ?? []), b.hash])
  for (const [k, hs] of pairs) {
    if (hs.length < 2) continue
    const [producer, slot] = k.split(':')
    for (const node of rec.honestIds) {
      const both = hs.every((h) => rec.verdicts.get(h)?.get(node)?.outcome.ok)
      if (!both) continue
      if (!rec.equivocations.some((e) => e.peer === node && e.kind === 'doubleProduction' && e.offender === producer))
        v.push({ property: 'detection', message: `${node} imported both blocks ${producer.slice(0, 10)} sealed for slot ${slot} and reported no double production` })
    }
  }

  // measurements
  const first = rec.honestIds.find((id) => rec.finality.has(id))
  const lastF = first ? rec.finality.get(first)!.at(-1) : undefined
  const finalLine = lastF ? ancestors(rec.blocks, lastF.hash, rec.genesis) : new Set<string>()
  const honestBlocks = [...rec.blocks.values()].filter((b) => b.honest)
  const orphaned = honestBlocks.filter((b) => lastF && b.number <= lastF.height && !finalLine.has(b.hash)).length
  const ttf: number[] = []
  for (const [, list] of rec.finality) {
    let i = 0
    for (const b of [...rec.blocks.values()].filter((x) => finalLine.has(x.hash)).sort((a, c) => (a.number < c.number ? -1 : 1))) {
      while (i < list.length && list[i]!.height < b.number) i++
      if (i < list.length) ttf.push(list[i]!.slot + 1 - Number(b.slot))
    }
  }
  return {
    violations: v,
    measurements: {
      blocks: rec.blocks.size,
      honestBlocks: honestBlocks.length,
      orphanRate: honestBlocks.length ? orphaned / honestBlocks.length : 0,
      refusedByCode,
      timeToFinality: ttf,
      recoveryAfterHeal: recovery,
      expectedLeaderSlots: rec.expected.length,
      missedLeaderSlots: rec.missed.length,
      equivocationsSeen: rec.equivocations.length,
      maxByzantineShare: maxShare,
      finalizedHeight: lastF?.height ?? 0n,
      headHeight: lastF?.head ?? 0n,
      memoryGrowth,
    },
  }
}

/**
 * 'J' (FINDINGS_BEYOND_ISSUE_11) when the honest nodes end on one chain — every node's head
 * descends from every node's highest justified block — but with different highest justified
 * blocks: they agree on the blocks and disagree on what is justified.
 */
function splitJustification(rec: SimRecord): string | undefined {
  const js = [...rec.justified.values()]
  if (new Set(js.map((j) => j.hash)).size <= 1) return undefined
  for (const j of js) {
    const line = ancestors(rec.blocks, j.head, rec.genesis)
    if (!js.every((x) => line.has(x.hash))) return undefined
  }
  return 'J'
}

function justifiedText(rec: SimRecord): string {
  return `; highest justified: ${[...rec.justified].map(([n, j]) => `${n} #${j.height} ${j.hash.slice(0, 10)}`).join(', ')}`
}

export function quantile(xs: number[], q: number): number | undefined {
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}
