import { fileURLToPath } from 'node:url'
import { CoverageMap } from './CoverageMap.js'

/**
 * Starts V8 coverage, then loads the fuzzer and its targets (dynamic imports: code compiled
 * before coverage starts has no block counters). The coverage counts the node's own decoding
 * code (chain/, network/, common/) and the libraries it decodes with; not the fuzzer, not tap.
 */
export async function startFuzzSession(alsoCover: (url: string) => boolean = () => false) {
  const root = fileURLToPath(new URL('../../', import.meta.url))
  const rootUrl = `file://${root}`
  const libs = /\/node_modules\/(@ethereumjs|protobufjs|@protobufjs|@noble|ethereum-cryptography)\//
  const cov = new CoverageMap((url) => {
    if (alsoCover(url)) return true
    // node_modules may be a symlink to another checkout's: libraries are matched by name.
    if (url.includes('/node_modules/')) return libs.test(url)
    if (!url.startsWith(rootUrl)) return false
    const rel = url.slice(rootUrl.length)
    return /^(chain|network|common)\//.test(rel) && !rel.includes('/test/')
  })
  const { fuzz, check, loadCorpus, corpusName, distill } = await import('./Fuzzer.js')
  const { TARGETS } = await import('./targets.js')
  return { cov, fuzz, check, loadCorpus, corpusName, distill, TARGETS, corpusRoot: `${root}test/fuzz/corpus`, findingsRoot: `${root}test/fuzz/findings` }
}
