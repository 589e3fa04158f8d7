/**
 * `npm run fuzz -- [--target rlp|transaction|header|block|body|receipts|protobuf|all]
 *   [--seconds 600] [--seed N] [--save-corpus] [--distill]`: coverage-guided fuzzing of the decoders
 * (test/fuzz/README.md). Exit code 1 when anything was found; reproducers in test/fuzz/findings/.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startFuzzSession } from './session.js'

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'all' },
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string' },
    'save-corpus': { type: 'boolean', default: false },
    'slow-ms': { type: 'string', default: '1000' },
    distill: { type: 'boolean', default: false },
  },
})
const s = await startFuzzSession()
const names = values.target === 'all' ? s.TARGETS.map((t) => t.name) : values.target!.split(',')
const unknown = names.filter((n) => !s.TARGETS.some((t) => t.name === n))
if (unknown.length) {
  console.error(`unknown target ${unknown.join(', ')}; the targets are ${s.TARGETS.map((t) => t.name).join(', ')}, or all`)
  process.exit(2)
}
const seed = values.seed ? Number(values.seed) : (Date.now() & 0x7fffffff) | 1
console.log(`seed ${seed} (--seed ${seed} replays the mutations)`)
let found = 0
for (const name of names) {
  const target = s.TARGETS.find((t) => t.name === name)!
  if (values.distill) {
    const { keep, drop } = s.distill(target, s.cov, join(s.corpusRoot, name))
    for (const f of drop) rmSync(f)
    console.log(`${name}: kept ${keep}, removed ${drop.length} inputs that add no block`)
    continue
  }
  const r = s.fuzz(target, s.cov, {
    seconds: Number(values.seconds) / (values.target === 'all' ? names.length : 1),
    seed,
    corpusDir: join(s.corpusRoot, name),
    saveCorpus: values['save-corpus']!,
    findingsDir: join(s.findingsRoot, name),
    slowMs: Number(values['slow-ms']),
  })
  console.log(
    `${r.target}: ${r.execs} execs in ${r.seconds.toFixed(0)} s (${r.execsPerSecond}/s), blocks ${r.blocksFromCorpus} from the corpus → ${r.blocks}, corpus ${r.corpusStart} → ${r.corpusEnd}, findings ${r.findings.length}`,
  )
  for (const f of r.findings) console.log(`  ${f.kind}: ${f.message}\n    input ${f.inputHex.slice(0, 200)}${f.inputHex.length > 200 ? '…' : ''}\n    saved ${f.file}`)
  found += r.findings.length
}
s.cov.stop()
process.exit(found ? 1 : 0)
