/**
 * Build step (`npm run build`): converts the bundled datasets into our format and writes
 * dist/datasets/<name>.json plus dist/datasets/index.json ({name: content hash}).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { contentHash } from '../ContentHash.js'
import { bundledDatasetsDir } from '../data/BundledDatasets.js'
import { encodeDataset } from '../data/Dataset.js'
import { irisDataset } from '../data/IrisDataset.js'

const dir = process.argv[2] ?? bundledDatasetsDir()
mkdirSync(dir, { recursive: true })
const index: Record<string, string> = {}
for (const [name, ds] of [['iris', irisDataset()]] as const) {
  const bytes = encodeDataset(ds)
  writeFileSync(join(dir, `${name}.json`), bytes)
  index[name] = contentHash(bytes)
  process.stdout.write(`dataset ${name}: ${ds.x.length} rows, ${index[name]} -> ${join(dir, name + '.json')}\n`)
}
writeFileSync(join(dir, 'index.json'), JSON.stringify(index, null, 2) + '\n')
