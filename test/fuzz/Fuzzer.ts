import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import type { CoverageMap } from './CoverageMap.js'
import { MAX_INPUT, mutate, Rng } from './Mutator.js'
import { RoundTripMismatch, type FuzzTarget } from './targets.js'

export interface FuzzOptions {
  seconds: number
  seed: number
  /** test/fuzz/corpus/<target>: read at start; with `saveCorpus`, new coverage is written there. */
  corpusDir: string
  saveCorpus: boolean
  /** Where reproducers of findings go (not committed; move one into the corpus once fixed). */
  findingsDir: string
  /** One input slower than this is a finding (decoders are synchronous: a hang shows as a slow run). */
  slowMs: number
  /** Stop after this many mutated inputs (with a fixed seed, the run is then reproducible). */
  maxExecs?: number
  stopAtFirstFinding?: boolean
}

export interface Finding {
  kind: 'crash' | 'round-trip' | 'slow' | 'memory'
  message: string
  inputHex: string
  file?: string
}

export interface FuzzReport {
  target: string
  execs: number
  seconds: number
  execsPerSecond: number
  /** Distinct code blocks (of chain/, network/, common/ and the decoding libraries) reached. */
  blocks: number
  blocksFromCorpus: number
  corpusStart: number
  corpusEnd: number
  findings: Finding[]
}

/** Bytes a single decode may allocate before it counts as absurd (an attacker's length prefix). */
/** Inputs run between two coverage takes. */
const BATCH = 32

/** Bytes a single decode may allocate before it counts as absurd (an attacker's length prefix). */
const ABSURD_BYTES = 64 * 1024 * 1024

export function corpusName(input: Uint8Array): string {
  return createHash('sha256').update(input).digest('hex').slice(0, 16)
}

export function loadCorpus(dir: string): Uint8Array[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .sort()
    .map((f) => new Uint8Array(readFileSync(join(dir, f))))
}

/** What one input does: nothing wrong (undefined) or a finding. */
export function check(target: FuzzTarget, input: Uint8Array, slowMs: number): Finding | undefined {
  const before = memoryInUse()
  const t0 = performance.now()
  let finding: Finding | undefined
  try {
    target.run(input)
  } catch (e) {
    if (e instanceof RoundTripMismatch) finding = { kind: 'round-trip', message: e.message, inputHex: hex(input) }
    else if (!target.expected(e)) finding = { kind: 'crash', message: describe(e), inputHex: hex(input) }
  }
  const ms = performance.now() - t0
  if (!finding && ms > slowMs) finding = { kind: 'slow', message: `${ms.toFixed(0)} ms for ${input.length} bytes`, inputHex: hex(input) }
  const grew = memoryInUse() - before
  if (!finding && grew > ABSURD_BYTES + 64 * input.length)
    finding = { kind: 'memory', message: `${(grew / 2 ** 20).toFixed(0)} MiB allocated for ${input.length} bytes`, inputHex: hex(input) }
  return finding
}

export function fuzz(target: FuzzTarget, cov: CoverageMap, o: FuzzOptions): FuzzReport {
  const rng = new Rng(o.seed)
  const corpus: Uint8Array[] = []
  const findings = new Map<string, Finding>()
  const note = (f: Finding) => {
    const key = `${f.kind}:${f.message.split('\n')[0]!.replace(/\d+/g, 'N')}`
    if (findings.has(key)) return
    mkdirSync(o.findingsDir, { recursive: true })
    f.file = join(o.findingsDir, `${f.kind}-${corpusName(Buffer.from(f.inputHex, 'hex'))}`)
    writeFileSync(f.file, Buffer.from(f.inputHex, 'hex'))
    findings.set(key, f)
  }
  cov.reset()
  cov.take() // whatever ran before this target is not its coverage
  const start = [...target.seeds(), ...loadCorpus(o.corpusDir)]
  for (const input of start) {
    const f = check(target, input, o.slowMs)
    if (f) note(f)
    cov.merge(cov.take())
    corpus.push(input)
  }
  const blocksFromCorpus = cov.blocks
  const t0 = performance.now()
  const deadline = t0 + o.seconds * 1000
  let execs = 0
  const maxExecs = o.maxExecs ?? Infinity
  while (performance.now() < deadline && execs < maxExecs && !(o.stopAtFirstFinding && findings.size)) {
    // A batch of inputs, one take; only a batch that reached something new is replayed input
    // by input to find which ones to keep (CoverageMap: takes are unions).
    const batch: Uint8Array[] = []
    for (let i = 0; i < BATCH && execs < maxExecs; i++) {
      // Newer entries reached something new last: pick them more often (half the time).
      const parent = rng.int(2) ? corpus[corpus.length - 1 - rng.int(Math.min(corpus.length, 16))]! : rng.pick(corpus)
      const input = mutate(parent, rng, corpus)
      batch.push(input)
      const f = check(target, input, o.slowMs)
      execs++
      if (f) note(f)
    }
    if (!cov.isNew(cov.take())) continue
    for (const input of batch) {
      const f = check(target, input, o.slowMs)
      if (cov.merge(cov.take()) === 0) continue
      corpus.push(input)
      if (o.saveCorpus && !f) {
        mkdirSync(o.corpusDir, { recursive: true })
        writeFileSync(join(o.corpusDir, corpusName(input)), input)
      }
    }
  }
  const seconds = (performance.now() - t0) / 1000
  return {
    target: target.name,
    execs,
    seconds,
    execsPerSecond: Math.round(execs / seconds),
    blocks: cov.blocks,
    blocksFromCorpus,
    corpusStart: start.length,
    corpusEnd: corpus.length,
    findings: [...findings.values()],
  }
}

function memoryInUse(): number {
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex')
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message.slice(0, 300)}\n${(e.stack ?? '').split('\n').slice(1, 4).join('\n')}`
  return `non-Error thrown: ${String(e).slice(0, 200)}`
}

/**
 * Keeps the smallest inputs that together reach every block the corpus reaches (seeds count as
 * given); returns the files to delete. `npm run fuzz -- --distill` after a long --save-corpus run.
 */
export function distill(target: FuzzTarget, cov: CoverageMap, corpusDir: string): { keep: number; drop: string[] } {
  cov.reset()
  cov.take()
  for (const input of target.seeds()) {
    check(target, input, Infinity)
    cov.merge(cov.take())
  }
  const files = existsSync(corpusDir) ? readdirSync(corpusDir) : []
  const inputs = files.map((f) => ({ f, b: new Uint8Array(readFileSync(join(corpusDir, f))) })).sort((a, b) => a.b.length - b.b.length || (a.f < b.f ? -1 : 1))
  const drop: string[] = []
  let keep = 0
  for (const { f, b } of inputs) {
    const finding = check(target, b, Infinity)
    // a reproducer of a fixed finding stays: it is the regression test
    if (cov.merge(cov.take()) > 0 || finding || f.startsWith('crash-')) keep++
    else drop.push(join(corpusDir, f))
  }
  return { keep, drop }
}
