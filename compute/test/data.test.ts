import t from 'tap'
import { fieldOf } from './helpers.js'
import fc from 'fast-check'
import { readFileSync, writeFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { ComputeError } from '../ComputeError.js'
import { contentHash } from '../ContentHash.js'
import { csvToDataset, parseCsv } from '../data/CsvImport.js'
import { decodeDataset, encodeDataset, validateDataset } from '../data/Dataset.js'
import { irisDataset } from '../data/IrisDataset.js'
import { BlobStore } from '../worker/BlobStore.js'
import { irisBytes, irisHash, tmpDir } from './helpers.js'

t.test('Iris converts to the documented format with the hash the examples pin', async (t) => {
  const ds = irisDataset()
  t.equal(ds.x.length, 150)
  t.equal(ds.features.length, 4)
  t.same(ds.classes, ['setosa', 'versicolor', 'virginica'])
  t.equal(contentHash(encodeDataset(ds)), irisHash)
  const example = JSON.parse(readFileSync(new URL('../examples/iris-train.json', import.meta.url), 'utf8')) as { dataset: string }
  t.equal(example.dataset, irisHash, 'examples/iris-train.json names the bundled Iris dataset')
  t.same(decodeDataset(irisBytes), ds)
})

t.test('CSV import: header detection, quoting, label column, class mapping', async (t) => {
  const ds = csvToDataset('a,b,"the label"\n1,2,"x, y"\n3,4.5e1,z\r\n-1,.5,"x, y"\n', { name: 't' })
  t.same(ds.features, ['a', 'b'])
  t.same(ds.classes, ['x, y', 'z'])
  t.same(ds.x, [[1, 2], [3, 45], [-1, 0.5]])
  t.same(ds.y, [0, 1, 0])
  const byName = csvToDataset('y,f1,f2\n1.5,1,2\n2.5,3,4\n', { name: 'r', label: 'y', task: 'regression' })
  t.same(byName.y, [1.5, 2.5])
  t.same(byName.features, ['f1', 'f2'])
  const noHeader = csvToDataset('1,2,0\n3,4,1\n', { name: 'n' })
  t.same(noHeader.features, ['c0', 'c1'])
  t.same(parseCsv('"a""b",c'), [['a"b', 'c']])
  t.throws(() => csvToDataset('a,b\n1,x\n2,y\n3\n', { name: 'bad' }), { code: 'COMPUTE_CSV', message: /line 4/ })
  t.throws(() => csvToDataset('a,b,c\n1,two,x\n', { name: 'bad' }), { code: 'COMPUTE_CSV', message: /"two" is not a number/ })
  t.throws(() => csvToDataset('"unterminated,1\n', { name: 'bad' }), { code: 'COMPUTE_CSV' })
  t.throws(() => csvToDataset('', { name: 'bad' }), { code: 'COMPUTE_CSV' })
  t.throws(() => csvToDataset('a,b\n1,2\n', { name: 'bad', label: 'nope' }), { code: 'COMPUTE_CSV' })
})

t.test('property: CSV of random numeric rows imports and round-trips through the codec', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constantFrom('p', 'q', 'r')), { minLength: 2, maxLength: 40 }),
      (rows) => {
        fc.pre(new Set(rows.map((r) => r[2])).size >= 2)
        const csv = 'u,v,label\n' + rows.map((r) => `${r[0]},${r[1]},${r[2]}`).join('\n')
        const ds = csvToDataset(csv, { name: 'p' })
        const back = decodeDataset(encodeDataset(ds))
        return back.x.every((row, i) => Object.is(row[0], rows[i]![0] === 0 ? 0 : rows[i]![0]) || row[0] === rows[i]![0]) && back.y.length === rows.length
      },
    ),
    { numRuns: 100 },
  )
  t.pass()
})

t.test('dataset validation names the field', async (t) => {
  const ds = irisDataset()
  t.equal(fieldOf(() => validateDataset({ ...ds, x: [[1, 2, 3, 4], [1, 2]] })), 'x[1]')
  t.equal(fieldOf(() => validateDataset({ ...ds, y: ds.y.map((y, i) => (i === 7 ? 9 : y)) })), 'y[7]')
  t.equal(fieldOf(() => validateDataset({ ...ds, format: 'csv' })), 'format')
  t.throws(() => decodeDataset(new Uint8Array([0xff, 0xfe])), { code: 'COMPUTE_INVALID_DATASET' })
})

t.test('blob store: content addressing, corruption detection, limits, refs', async (t) => {
  const dir = tmpDir()
  const store = new BlobStore({ dir, maxBlobBytes: 4096, maxTotalBytes: 10_000 })
  const h = await store.put(new TextEncoder().encode('hello'))
  t.equal(h, contentHash(new TextEncoder().encode('hello')))
  t.equal(await store.put(new TextEncoder().encode('hello')), h, 'idempotent')
  t.same(new TextDecoder().decode(await store.get(h)), 'hello')
  await t.rejects(store.put(new Uint8Array(5000)), { code: 'COMPUTE_BLOB_TOO_LARGE' })
  await store.put(new Uint8Array(4000).fill(1))
  await store.put(new Uint8Array(4000).fill(2))
  await t.rejects(store.put(new Uint8Array(4000).fill(3)), { code: 'COMPUTE_BLOB_TOO_LARGE', message: /store full/ })
  // Flip a byte on disk: the read must fail, not serve bad data.
  const sub = join(dir, 'blobs', h.slice(2, 4))
  const file = join(sub, readdirSync(sub)[0]!)
  writeFileSync(file, 'hellO')
  await t.rejects(store.get(h), { code: 'COMPUTE_BLOB_CORRUPT' })
  await t.rejects(store.get(('0x' + '0'.repeat(64)) as `0x${string}`), { code: 'COMPUTE_BLOB_NOT_FOUND' })
  await t.rejects(store.get('nonsense' as `0x${string}`), ComputeError)
  await store.setRef('session-abc', 'value')
  t.equal(await store.getRef('session-abc'), 'value')
  t.equal(await store.getRef('../etc/passwd'), undefined)
  await t.rejects(store.setRef('../x', 'v'), ComputeError)
})
