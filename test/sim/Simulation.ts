import type { Attestation } from '../../chain/Attestation.js'
import type { Block } from '../../chain/Block.js'
import { keccak256 } from '../../chain/keccak.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import { bytesToHex, concatBytes, equalBytes, hexToBytes, u64ToBytes } from '../../common/bytes.js'
import type { Equivocation, Producer } from '../../consensus/ChainService.js'
import { MAX_CLOCK_DISPARITY_SECONDS } from '../../consensus/HeaderValidator.js'
import { makeAdversary, type Adversary, type AdversaryContext, type AdversaryName } from './Adversaries.js'
import { EventQueue } from './EventQueue.js'
import { measureMemory, type MemorySample } from './Memory.js'
import { Network } from './Network.js'
import { Peer, type Msg, type Outcome, type Role } from './Peer.js'
import { Referee } from './Referee.js'
import { Rng } from './Rng.js'
import { makeGenesis } from './SimChain.js'
import { workTransaction, type ValidatorSetConfig } from './SimContracts.js'

const hex = bytesToHex

/**
 * The consensus simulator on the real engine (issue 11): N nodes, each a real ChainService with
 * its BlockStore on LevelDB, HeaderValidator, ProofOfValueEngine (ECVRF, seals), FinalityGadget
 * fed with signed attestations, the node's SlotProducer and Attester, on virtual time; the EVM
 * and system contracts are the model of SimContracts.ts. A seeded network (Network.ts) delays,
 * drops, reorders and partitions messages; adversaries (Adversaries.ts) attack. A run is a pure
 * function of its config (trace hash). Checks.ts turns what it records into property verdicts.
 */
export interface SimConfig {
  seed: number
  /** Honest validators. */
  validators: number
  slots: number
  /** One byzantine node per entry. */
  adversaries?: AdversaryName[]
  slotSeconds?: number
  slotsPerEpoch?: number
  maxBackups?: number
  /** HeaderValidator's clock allowance (node/PovNode.ts: 15 s). */
  maxFutureSeconds?: number
  /** Per-message delay, ms. */
  delayMs?: [number, number]
  dropRate?: number
  reorderRate?: number
  gstSlot?: number
  /** Indices into the honest validators (side A); everyone else is side B; adversaries bridge. */
  partition?: { fromSlot: number; toSlot: number; groupA: number[] }
  /** An honest node without a key that joins at this slot and syncs from genesis. */
  lateJoiner?: { atSlot: number }
  /** Slots between two work orders of one validator. */
  workEvery?: [number, number]
  /** Sample component sizes every epoch (the memory property). Default true. */
  memory?: boolean
  /** Prune contract states below each node's finalized block every 32 slots (long runs). */
  pruneStates?: boolean
  trace?: (line: string) => void
  /** Called with the nodes at the end of the run, before they stop (debugging, tests). */
  inspect?: (peers: ReadonlyMap<string, Peer>) => Promise<void>
}

export const DEFAULTS = {
  slotSeconds: 2,
  slotsPerEpoch: 4,
  maxBackups: 2,
  maxFutureSeconds: MAX_CLOCK_DISPARITY_SECONDS,
  genesisTimestamp: 1_800_000_000n,
  receiptWindowBlocks: 64n,
  workEvery: [3, 8] as [number, number],
}

export const VS_CONFIG: ValidatorSetConfig = {
  minBond: 1n,
  maxValidators: 21,
  weightWindowBlocks: 64n,
  maxWeight: 1_000_000n,
  pairCapPerWindow: 1_000_000n,
}
const GENESIS_WEIGHT = 1000n
const BYZANTINE_GENESIS_WEIGHT = 700n

export interface BlockInfo {
  hash: string
  parent: string
  number: bigint
  slot: bigint
  producer: string
  /** The node that made it and whether it is honest. */
  by: string
  honest: boolean
  note?: string
  /** Virtual ms it was made. */
  madeAt: number
  /** The referee's verdict (Referee.ts): validity as a function of the block and its ancestors. */
  ref?: Outcome
}

export interface VerdictRecord {
  outcome: Outcome
  atMs: number
}

export interface ExpectedLeader {
  peer: string
  slot: number
  parent: string
  /** Set when the node's head had already reached the slot at its start (a block from its future). */
  future?: { hash: string; slot: bigint; by: string }
}

/** What a run recorded; Checks.ts reads it. */
export interface SimRecord {
  cfg: SimConfig
  slotMs: number
  slotsPerEpoch: number
  genesis: string
  blocks: Map<string, BlockInfo>
  /** Honest nodes' outcomes per block hash. */
  verdicts: Map<string, Map<string, VerdictRecord>>
  /** Adversary name of each byzantine node id. */
  byzantine: Map<string, AdversaryName>
  honestIds: string[]
  /** Validators' addresses (hex) → node id; the bonded ones. */
  validatorOf: Map<string, string>
  /** Per honest node: (slot, finalized hash, finalized height, finalized block's slot) at each slot end. */
  finality: Map<string, { slot: number; hash: string; height: bigint; fslot: bigint; head: bigint }[]>
  /** Per honest node, FinalityTracker conflicts seen (refused conflicting finalizations). */
  conflicts: Map<string, { finalized: string; refused: string }[]>
  expected: ExpectedLeader[]
  /** Slots each honest validator produced a block in. */
  produced: Map<string, Set<number>>
  /** Why an expected leader did not produce (filled at slot end). */
  missed: { e: ExpectedLeader; why: string; code?: string }[]
  equivocations: { peer: string; kind: Equivocation['kind']; offender: string; slot: number }[]
  /** Votes by keys in no validator set that an honest node accepted (the membership property). */
  nonMemberVotes: Map<string, number>
  /** Votes by such keys that reached an honest node at all (accepted or refused: the attack took place). */
  nonMemberVotesSeen: number
  memory: Map<string, MemorySample[]>
  /** Byzantine share of each epoch's weight on the final canonical chain of the first honest node. */
  byzantineShare: { epoch: bigint; share: number }[]
  joinedAt: Map<string, number>
  /** Each honest node's highest justified block and head at the end. */
  justified: Map<string, { hash: string; height: bigint; head: string }>
  traceHash: string
  wallSeconds: number
  messages: { sent: number; lost: number }
}

function keyFor(seed: number, id: string): Producer {
  const key = keccak256(concatBytes(new TextEncoder().encode('povchain/sim-key'), u64ToBytes(BigInt(seed >>> 0)), new TextEncoder().encode(id)))
  return { key, address: privateKeyToAddress(key) }
}

export async function runSimulation(cfg: SimConfig): Promise<SimRecord> {
  const started = performance.now()
  const slotSeconds = cfg.slotSeconds ?? DEFAULTS.slotSeconds
  const spe = cfg.slotsPerEpoch ?? DEFAULTS.slotsPerEpoch
  const slotMs = slotSeconds * 1000
  const g0 = DEFAULTS.genesisTimestamp
  const wallBase = Number(g0) * 1000
  const netRng = new Rng(cfg.seed)
  const workRng = new Rng(cfg.seed ^ 0x3c6ef372)
  const advRng = new Rng(cfg.seed ^ 0x5eed)

  const honestIds = Array.from({ length: cfg.validators }, (_, i) => `v${i}`)
  const advNames = cfg.adversaries ?? []
  const advIds = advNames.map((_, i) => `b${i}`)
  const advs = new Map<string, Adversary>(advNames.map((n, i) => [advIds[i]!, makeAdversary(n, cfg.seed + i)]))
  const keys = new Map<string, Producer>()
  for (const id of honestIds) keys.set(id, keyFor(cfg.seed, id))
  for (const [id, a] of advs) if (a.validator) keys.set(id, keyFor(cfg.seed, id))
  const genesisValidators = [...keys].map(([id, k]) => ({ address: k.address, bond: 1n, weight: advs.has(id) ? BYZANTINE_GENESIS_WEIGHT : GENESIS_WEIGHT }))
  const g = makeGenesis({
    seed: cfg.seed,
    timestamp: g0,
    slotSeconds,
    slotsPerEpoch: spe,
    maxBackups: cfg.maxBackups ?? DEFAULTS.maxBackups,
    receiptWindowBlocks: DEFAULTS.receiptWindowBlocks,
    maxFutureSeconds: cfg.maxFutureSeconds ?? DEFAULTS.maxFutureSeconds,
    vs: VS_CONFIG,
    validators: genesisValidators,
  })

  const q = new EventQueue()
  const joinerIds = cfg.lateJoiner ? ['j0'] : []
  const allIds = [...honestIds, ...advIds, ...joinerIds]
  const network = new Network(q, netRng, slotMs, cfg, allIds, new Set(advIds))
  const peers = new Map<string, Peer>()
  const wallMs = () => wallBase + q.now

  // Records.
  let traceAcc: Uint8Array = new Uint8Array(32)
  const trace = (line: string) => {
    traceAcc = keccak256(concatBytes(traceAcc, new TextEncoder().encode(line)))
    cfg.trace?.(line)
  }
  const rec: SimRecord = {
    cfg,
    slotMs,
    slotsPerEpoch: spe,
    genesis: hex(g.block.hash()),
    blocks: new Map(),
    verdicts: new Map(),
    byzantine: new Map(advIds.map((id, i) => [id, advNames[i]!])),
    honestIds: [...honestIds, ...joinerIds],
    validatorOf: new Map([...keys].map(([id, k]) => [hex(k.address), id])),
    finality: new Map(),
    conflicts: new Map(),
    expected: [],
    produced: new Map(honestIds.map((id) => [id, new Set<number>()])),
    missed: [],
    equivocations: [],
    nonMemberVotes: new Map(),
    nonMemberVotesSeen: 0,
    memory: new Map(),
    byzantineShare: [],
    joinedAt: new Map(),
    justified: new Map(),
    traceHash: '',
    wallSeconds: 0,
    messages: { sent: 0, lost: 0 },
  }
  const slotOf = () => Math.floor(q.now / slotMs)
  const referee = new Referee(g)
  let unjudged: string[] = []
  const judge = async () => {
    await referee.drain()
    for (const h of unjudged) {
      const info = rec.blocks.get(h)!
      info.ref = referee.verdict(h)
      if (info.ref && !info.ref.ok) trace(`referee refuses ${h}: ${info.ref.code}`)
    }
    unjudged = []
  }
  const register = (p: Peer, b: Block, note?: string) => {
    const h = hex(b.hash())
    if (rec.blocks.has(h)) return
    referee.add(b)
    unjudged.push(h)
    rec.blocks.set(h, {
      hash: h,
      parent: hex(b.header.parentHash),
      number: b.number,
      slot: b.header.slot,
      producer: hex(b.header.producer),
      by: p.id,
      honest: p.role !== 'byzantine',
      note,
      madeAt: q.now,
    })
    trace(`${q.now} ${p.id} makes ${h} #${b.number} slot ${b.header.slot} on ${hex(b.header.parentHash)}${note ? ` (${note})` : ''}`)
  }

  const online = () => [...peers.values()].filter((p) => p.online)
  const ctx = {
    wallMs,
    send(from: string, to: string, m: Msg) {
      const target = peers.get(to)
      if (!target) return
      network.send(from, to, () => target.receive(from, m))
    },
    others: (id: string) => online().filter((p) => p.id !== id).map((p) => p.id),
    onVerdict(p: Peer, b: Block, o: Outcome) {
      if (p.role === 'byzantine') return
      const h = hex(b.hash())
      let m = rec.verdicts.get(h)
      if (!m) rec.verdicts.set(h, (m = new Map()))
      const prev = m.get(p.id)
      // A wait (unknown parent, future) is replaced by what follows; a verdict is kept, a second one noted.
      if (!prev || (!prev.outcome.ok && (prev.outcome.code === 'CONSENSUS_UNKNOWN_PARENT' || prev.outcome.code === 'CONSENSUS_FUTURE_BLOCK'))) m.set(p.id, { outcome: o, atMs: q.now })
      else if (prev.outcome.ok !== o.ok && !(!o.ok && o.code === 'KNOWN_BAD')) m.set(p.id, { outcome: o, atMs: q.now })
      trace(`${q.now} ${p.id} ${o.ok ? o.status : o.code} ${h}`)
    },
    onProduced(p: Peer, b: Block) {
      register(p, b)
      rec.produced.get(p.id)?.add(Number(b.header.slot))
      if (p.role !== 'byzantine') ctx.onVerdict(p, b, { ok: true, status: 'local' })
    },
    onEquivocation(p: Peer, e: Equivocation) {
      if (p.role === 'byzantine') return
      rec.equivocations.push({ peer: p.id, kind: e.kind, offender: hex(e.offender), slot: slotOf() })
      trace(`${q.now} ${p.id} sees ${e.kind} by ${hex(e.offender)}`)
    },
    onVote(p: Peer, a: Attestation, accepted: boolean) {
      if (p.role === 'byzantine' || rec.validatorOf.has(hex(a.validator))) return
      rec.nonMemberVotesSeen++
      if (accepted) rec.nonMemberVotes.set(p.id, (rec.nonMemberVotes.get(p.id) ?? 0) + 1)
    },
  }

  const makePeer = (id: string, role: Role) => {
    const adv = advs.get(id)
    const p: Peer = new Peer(id, role, ctx, keys.get(id), {
      produce: adv ? adv.produces : true,
      attest: adv ? adv.attests : true,
      route: adv?.route ? () => adv.route!(p, advCtx) : undefined,
    })
    return p
  }
  for (const id of honestIds) peers.set(id, makePeer(id, 'honest'))
  for (const id of advIds) peers.set(id, makePeer(id, 'byzantine'))
  for (const p of peers.values()) await p.start(g)
  const honestPeers = () => online().filter((p) => p.role !== 'byzantine')

  const advCtx: AdversaryContext = {
    rng: advRng,
    slotSeconds,
    slotsPerEpoch: BigInt(spe),
    maxFutureSeconds: g.maxFutureSeconds,
    receiptWindowBlocks: g.engine.receiptWindowBlocks,
    wallMs,
    slotStartMs: (slot) => wallBase + Number(slot) * slotMs,
    at(ms, fn) {
      q.at(Math.max(q.now, ms - wallBase), fn)
    },
    others: ctx.others,
    honest: honestPeers,
    sideOf: (id) => network.sideOf(id),
    partitionActive: () => network.partitionActive(),
    forged: (p, b, note) => register(p, b, note),
  }

  // Work: each validator finalises sessions at a seeded pace; the order travels from the worker.
  let nonce = 0n
  const nextWork = new Map([...keys.keys()].map((id) => [id, workRng.int(1, (cfg.workEvery ?? DEFAULTS.workEvery)[1])]))
  const emitWork = (slot: number) => {
    for (const [id, k] of keys) {
      if (nextWork.get(id)! > slot) continue
      const [lo, hi] = cfg.workEvery ?? DEFAULTS.workEvery
      nextWork.set(id, slot + workRng.int(lo, hi))
      const fee = BigInt(workRng.int(50, 150)) * (advs.has(id) ? 7n : 10n) / 10n
      const n = nonce++
      const sessionId = keccak256(concatBytes(new TextEncoder().encode('povchain/sim-session'), u64ToBytes(BigInt(cfg.seed >>> 0)), u64ToBytes(n)))
      const tx = workTransaction(
        {
          worker: k.address,
          client: keccak256(u64ToBytes(BigInt(workRng.int(1, 5)))).subarray(12),
          jobId: keccak256(concatBytes(sessionId, Uint8Array.of(1))),
          sessionId,
          workloadId: keccak256(Uint8Array.of(workRng.int(1, 3))),
          value: fee * 20n,
          protocolFee: fee,
        },
        n,
        g.common,
      )
      const bytes = tx.serialize()
      const worker = peers.get(id)!
      worker.sc.pool.add(tx)
      const adv = advs.get(id)
      const to = (adv?.workRecipients?.(worker, advCtx) ?? ctx.others(id)).filter((x) => x !== id)
      for (const x of to) ctx.send(id, x, { kind: 'tx', bytes })
      trace(`${q.now} work ${hex(sessionId).slice(0, 10)} for ${id}`)
    }
  }

  const silencingCheckStart = async (slot: number) => {
    for (const p of honestPeers()) {
      if (!p.key || p.syncing) continue
      const head = p.chain.head()
      const parent = head.slot < BigInt(slot) ? head : await p.canonicalBefore(BigInt(slot))
      const ranking = await p.sc
        .freshEngine()
        .ranking(parent, BigInt(slot))
        .catch(() => [] as Uint8Array[])
      if (!ranking[0] || !equalBytes(ranking[0], p.key.address)) continue
      const e: ExpectedLeader = { peer: p.id, slot, parent: hex(parent.hash()) }
      if (head.slot >= BigInt(slot)) e.future = { hash: hex(head.hash()), slot: head.slot, by: rec.blocks.get(hex(head.hash()))?.by ?? '?' }
      rec.expected.push(e)
    }
  }
  const silencingCheckEnd = async (slot: number) => {
    for (const e of rec.expected) {
      if (e.slot !== slot) continue
      if (rec.produced.get(e.peer)?.has(slot)) continue
      const p = peers.get(e.peer)!
      if (e.future) {
        rec.missed.push({ e, why: `its head was already block ${e.future.hash.slice(0, 10)} of slot ${e.future.slot} (by ${e.future.by}) when slot ${slot} began` })
        continue
      }
      const complaint = p.complaints.find((c) => c.wallMs >= wallBase + slot * slotMs && c.wallMs < wallBase + (slot + 1) * slotMs)
      const code = (complaint?.fields.err as string | undefined)?.match(/CONSENSUS_[A-Z_]+/)?.[0]
      const parent = (await p.sc.store.getHeader(hexToBytes(e.parent)))!
      // The same question the SlotProducer asked its engine (cached there: asking again changes nothing).
      const own = await p.sc.engine.earliestTimestamp(p.key!.address, parent, BigInt(slot)).catch((err: Error) => err.message)
      const start = g0 + BigInt(slot * slotSeconds)
      const disagrees = own === undefined || (typeof own === 'bigint' && own !== start)
      const why = complaint
        ? `SlotProducer: ${complaint.msg}: ${String(complaint.fields.err)}`
        : disagrees
          ? `its own engine ${own === undefined ? 'ranks it out of the slot' : `gives it a backup's turn (from ${own})`}, while the rules of the branch (a fresh engine) make it the leader`
          : `no block (own engine: earliest ${String(own)})`
      rec.missed.push({ e, why, code: code ?? (disagrees ? 'OWN_ENGINE_DISAGREES' : undefined) })
    }
  }

  const finalityRecord = (slot: number) => {
    for (const p of honestPeers()) {
      const f = p.chain.finality.finalized
      let list = rec.finality.get(p.id)
      if (!list) rec.finality.set(p.id, (list = []))
      const fh = hex(f.hash)
      const prev = list[list.length - 1]
      const fslot = rec.blocks.get(fh)?.slot ?? 0n
      list.push({ slot, hash: fh, height: f.height, fslot, head: p.chain.head().number })
      if (!prev || prev.hash !== fh) trace(`${q.now} ${p.id} finalized ${fh} #${f.height}`)
    }
  }

  // The schedule.
  for (let s = 1; s <= cfg.slots; s++) {
    const start = s * slotMs
    const slot = BigInt(s)
    if (cfg.lateJoiner && cfg.lateJoiner.atSlot === s) {
      q.at(start, async () => {
        const j = makePeer('j0', 'observer')
        peers.set('j0', j)
        await j.start(g)
        rec.joinedAt.set('j0', s)
        const from = honestIds[advRng.int(0, honestIds.length - 1)]!
        j.startSync(from)
        trace(`${q.now} j0 joins, syncing from ${from}`)
      })
    }
    q.at(start, () => silencingCheckStart(s))
    for (let k = 0; k < slotMs; k += 500) {
      q.at(start + k, async () => {
        for (const p of online()) await p.tick()
        if (k === 0) for (const p of online()) {
          const a = advs.get(p.id)
          if (a?.onSlot) {
            await a.onSlot(p, advCtx, slot)
            await p.settle()
          }
        }
      })
    }
    q.at(start + 700, () => emitWork(s))
    q.at(start + slotMs - 1, async () => {
      await judge()
      await silencingCheckEnd(s)
      finalityRecord(s)
      if (cfg.memory !== false && s % spe === 0) for (const p of honestPeers()) {
        let list = rec.memory.get(p.id)
        if (!list) rec.memory.set(p.id, (list = []))
        list.push(measureMemory(p, s))
      }
      if (cfg.pruneStates && s % 32 === 0) {
        let lowest: bigint | undefined
        for (const p of online()) {
          const f = await p.sc.store.getHeader(p.chain.finality.finalized.hash)
          if (!f) continue
          p.sc.states.prune(f.number - 64n)
          p.sc.pool.prune(f.stateRoot)
          if (lowest === undefined || f.number < lowest) lowest = f.number
        }
        if (lowest !== undefined) referee.prune(lowest - 256n)
      }
    })
  }
  await q.drain((cfg.slots + 1) * slotMs)
  await judge()

  for (const p of honestPeers()) {
    const tracker = (p.chain.finality as unknown as { tracker: { conflicts: { finalized: string; refused: string }[] } }).tracker
    rec.conflicts.set(p.id, [...tracker.conflicts])
    rec.justified.set(p.id, { hash: hex(p.chain.finality.justified.hash), height: p.chain.finality.justified.height, head: hex(p.chain.head().hash()) })
    trace(`end ${p.id} head ${hex(p.chain.head().hash())} final ${hex(p.chain.finality.finalized.hash)}`)
  }
  rec.byzantineShare = await byzantineShare(peers.get(honestIds[0]!)!, new Set(advIds.map((id) => keys.get(id)).filter((k) => k).map((k) => hex(k!.address))), spe)
  await cfg.inspect?.(peers)
  for (const p of peers.values()) await p.stop()
  rec.traceHash = hex(traceAcc)
  rec.wallSeconds = (performance.now() - started) / 1000
  rec.messages = { sent: network.sent, lost: network.lost }
  return rec
}

/** The byzantine share of each epoch's validator weight along a node's canonical chain. */
async function byzantineShare(p: Peer, byz: Set<string>, spe: number): Promise<{ epoch: bigint; share: number }[]> {
  const out: { epoch: bigint; share: number }[] = []
  const head = p.chain.head()
  const lastEpoch = head.slot / BigInt(spe)
  for (let e = 0n; e <= lastEpoch; e++) {
    const parent = await p.canonicalBefore(e * BigInt(spe))
    const vs = await p.sc.freshEngine().validatorsFor(parent, e * BigInt(spe)).catch(() => [])
    let total = 0n
    let bad = 0n
    for (const v of vs) {
      total += v.weight
      if (byz.has(hex(v.address))) bad += v.weight
    }
    if (total > 0n) out.push({ epoch: e, share: Number((bad * 1_000_000n) / total) / 1_000_000 })
  }
  return out
}
