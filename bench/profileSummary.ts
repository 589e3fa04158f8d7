/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per
 * package/area, as percentages of the sampled time. Usage:
 *   node dist/bench/profileSummary.js FILE.cpuprofile [--top 30] [--json] [--callers FUNCTION [--depth 4]]
 *     [--minus SMALLER.cpuprofile --per EXTRA_TXS]   marginal cost per extra unit of work
 *     [--inclusive F1,F2,...]   time of samples whose stack contains each function
 */
import { readFileSync } from 'node:fs'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

/** Which library or area a frame belongs to (its npm package, a node: built-in, or ours). */
export function areaOf(f: CallFrame): string {
  const name = f.functionName
  if (!f.url) {
    if (name === '(garbage collector)') return 'GC'
    if (name === '(idle)' || name === '(program)' || name === '(root)') return name
    return `native:${name || '(anonymous)'}`
  }
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url)
  if (m) return m[1]!
  if (f.url.startsWith('node:')) return f.url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/')
  const ours = /\/dist\/([^/]+)\//.exec(f.url)
  if (ours) return `povchain/${ours[1]}`
  return f.url
}

/** Self time of functions named `name`, grouped by their chain of `depth` callers. */
export function callersOf(p: CpuProfile, name: string, depth = 4, top = 15) {
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0))
  const chains = new Map<string, number>()
  let total = 0
  for (const [id, us] of selfUs) {
    if (byId.get(id)!.callFrame.functionName !== name) continue
    total += us
    const names: string[] = []
    for (let cur = parent.get(id); cur !== undefined && names.length < depth; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame
      names.push(`${f.functionName || '(anon)'}@${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1}`)
    }
    const k = names.join(' < ')
    chains.set(k, (chains.get(k) ?? 0) + us)
  }
  return {
    name,
    ms: Math.round(total / 1000),
    callers: [...chains].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => ({ ms: Math.round(us / 1000), chain: k })),
  }
}

/** Time of samples whose stack contains a function named in `names` (inclusive time), per name. */
export function inclusive(p: CpuProfile, names: string[]) {
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const out = new Map<string, number>(names.map((n) => [n, 0]))
  let busy = 0
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!
    const us = p.timeDeltas[i] ?? 0
    if (byId.get(id)!.callFrame.functionName === '(idle)') continue
    busy += us
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const fname = byId.get(cur)!.callFrame.functionName
      if (out.has(fname) && !seen.has(fname)) {
        seen.add(fname)
        out.set(fname, out.get(fname)! + us)
      }
    }
  }
  return { busy_ms: Math.round(busy / 1000), rows: [...out].map(([name, us]) => ({ name, ms: Math.round(us / 1000), pct_busy: Math.round((1000 * us) / busy) / 10 })) }
}

export function summarise(p: CpuProfile, top = 30) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0))
  }
  let total = 0
  let idle = 0
  const fn = new Map<string, number>()
  const area = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame
    total += us
    if (f.functionName === '(idle)') {
      idle += us
      continue
    }
    const file = f.url ? f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/') : ''
    const key = `${f.functionName || '(anonymous)'} ${file}${f.url ? `:${f.lineNumber + 1}` : ''}`
    fn.set(key, (fn.get(key) ?? 0) + us)
    const a = areaOf(f)
    area.set(a, (area.get(a) ?? 0) + us)
  }
  const busy = total - idle
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ name: k, ms: Math.round(us / 1000), pct_busy: Math.round((1000 * us) / busy) / 10 }))
  return { total_ms: Math.round(total / 1000), busy_ms: Math.round(busy / 1000), idle_ms: Math.round(idle / 1000), functions: rows(fn), areas: rows(area) }
}

function main(): void {
  const args = process.argv.slice(2)
  const file = args.find((a) => !a.startsWith('--'))
  if (!file) {
    console.error('usage: node dist/bench/profileSummary.js FILE.cpuprofile [--top N] [--json] [--callers FUNCTION [--depth 4]] [--minus SMALLER.cpuprofile --per N] [--inclusive F1,F2,...]')
    process.exit(1)
  }
  const ti = args.indexOf('--top')
  const top = ti >= 0 ? Number(args[ti + 1]) : 30
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const ci = args.indexOf('--callers')
  if (ci >= 0) {
    const di = args.indexOf('--depth')
    const c = callersOf(profile, args[ci + 1] ?? '', di >= 0 ? Number(args[di + 1]) : 4, top)
    console.log(`${c.name}: ${c.ms} ms self time; by callers (nearest first):`)
    for (const r of c.callers) console.log(`  ${String(r.ms).padStart(6)} ms  ${r.chain}`)
    return
  }
  const ii = args.indexOf('--inclusive')
  if (ii >= 0) {
    const r = inclusive(profile, (args[ii + 1] ?? '').split(','))
    console.log(`inclusive time (stack contains the function; async continuations are not attributed to their caller), busy ${r.busy_ms} ms:`)
    for (const x of r.rows) console.log(`  ${String(x.pct_busy).padStart(5)}%  ${String(x.ms).padStart(6)} ms  ${x.name}`)
    return
  }
  const mi = args.indexOf('--minus')
  if (mi >= 0) {
    // Marginal cost: (this profile - a smaller run's profile) / extra transactions.
    const base = summarise(JSON.parse(readFileSync(args[mi + 1]!, 'utf8')) as CpuProfile, 10_000)
    const big = summarise(profile, 10_000)
    const pi = args.indexOf('--per')
    const per = pi >= 0 ? Number(args[pi + 1]) : 1
    const diff = (a: { name: string; ms: number }[], b: { name: string; ms: number }[]) => {
      const m = new Map(a.map((r) => [r.name, r.ms]))
      for (const r of b) m.set(r.name, (m.get(r.name) ?? 0) - r.ms)
      const total = big.busy_ms - base.busy_ms
      return [...m].sort((x, y) => y[1] - x[1]).slice(0, top)
        .map(([name, ms]) => `  ${(ms / per).toFixed(3).padStart(7)} ms/unit  ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${name}`)
    }
    console.log(`marginal busy time ${big.busy_ms - base.busy_ms} ms over ${per} units = ${((big.busy_ms - base.busy_ms) / per).toFixed(3)} ms/unit\n\nby area:`)
    console.log(diff(big.areas, base.areas).join('\n'))
    console.log('\nby function:')
    console.log(diff(big.functions, base.functions).join('\n'))
    return
  }
  const s = summarise(profile, top)
  if (args.includes('--json')) {
    console.log(JSON.stringify(s))
    return
  }
  console.log(`sampled ${s.total_ms} ms, busy ${s.busy_ms} ms, idle ${s.idle_ms} ms (percentages are of busy time)\n`)
  console.log('self time by area:')
  for (const r of s.areas) console.log(`  ${String(r.pct_busy).padStart(5)}%  ${String(r.ms).padStart(6)} ms  ${r.name}`)
  console.log('\nself time by function:')
  for (const r of s.functions) console.log(`  ${String(r.pct_busy).padStart(5)}%  ${String(r.ms).padStart(6)} ms  ${r.name}`)
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) main()
