import { ComputeError } from '../ComputeError.js'
import { validateDataset, type Dataset } from './Dataset.js'

export interface CsvImportOptions {
  name: string
  /** Header name or 0-based index of the label column; default: the last column. */
  label?: string | number
  task?: 'classification' | 'regression'
  /** Whether the first row is a header; default: detected (any non-numeric cell in row 1). */
  header?: boolean
}

/** RFC 4180 fields: quotes, doubled quotes inside quotes, CRLF or LF line ends. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  let i = 0
  const line = () => rows.length + 1
  while (i < text.length) {
    const c = text[i]!
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"'
          i += 2
          continue
        }
        quoted = false
        i++
        continue
      }
      field += c
      i++
      continue
    }
    if (c === '"') {
      if (field.length > 0) throw new ComputeError('COMPUTE_CSV', `CSV line ${line()}: quote inside an unquoted field`)
      quoted = true
    } else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++
      row.push(field)
      field = ''
      if (!(row.length === 1 && row[0]!.trim() === '')) rows.push(row)
      row = []
    } else field += c
    i++
  }
  if (quoted) throw new ComputeError('COMPUTE_CSV', `CSV line ${line()}: unterminated quoted field`)
  row.push(field)
  if (!(row.length === 1 && row[0]!.trim() === '')) rows.push(row)
  return rows
}

const NUMERIC = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/

export function csvToDataset(text: string, opts: CsvImportOptions): Dataset {
  const rows = parseCsv(text)
  if (rows.length === 0) throw new ComputeError('COMPUTE_CSV', 'CSV is empty')
  const width = rows[0]!.length
  if (width < 2) throw new ComputeError('COMPUTE_CSV', 'CSV needs at least one feature column and one label column')
  rows.forEach((r, i) => {
    if (r.length !== width) throw new ComputeError('COMPUTE_CSV', `CSV line ${i + 1}: ${r.length} fields, expected ${width}`)
  })
  const hasHeader = opts.header ?? rows[0]!.some((c) => !NUMERIC.test(c))
  const header = hasHeader ? rows[0]!.map((h) => h.trim()) : rows[0]!.map((_, i) => `c${i}`)
  const body = hasHeader ? rows.slice(1) : rows
  if (body.length === 0) throw new ComputeError('COMPUTE_CSV', 'CSV has a header but no data rows')

  let labelCol = width - 1
  if (typeof opts.label === 'number') labelCol = opts.label
  else if (typeof opts.label === 'string') labelCol = /^\d+$/.test(opts.label) ? Number(opts.label) : header.indexOf(opts.label)
  if (!(labelCol >= 0 && labelCol < width)) throw new ComputeError('COMPUTE_CSV', `label column ${String(opts.label)} not found`)

  const featureCols = header.map((_, i) => i).filter((i) => i !== labelCol)
  const x = body.map((r, ri) =>
    featureCols.map((c) => {
      const cell = r[c]!
      if (!NUMERIC.test(cell)) {
        throw new ComputeError('COMPUTE_CSV', `CSV line ${ri + 1 + (hasHeader ? 1 : 0)} column "${header[c]}": "${cell.slice(0, 40)}" is not a number`)
      }
      return Number(cell)
    }),
  )
  const labels = body.map((r) => r[labelCol]!.trim())
  const task = opts.task ?? (labels.every((l) => NUMERIC.test(l)) && new Set(labels).size > 20 ? 'regression' : 'classification')
  let y: number[]
  let classes: string[] | undefined
  if (task === 'classification') {
    // Sorted class names, so the same CSV rows in any order map labels to the same indices.
    classes = [...new Set(labels)].sort()
    const index = new Map(classes.map((c, i) => [c, i]))
    y = labels.map((l) => index.get(l)!)
  } else {
    y = labels.map((l, i) => {
      if (!NUMERIC.test(l)) throw new ComputeError('COMPUTE_CSV', `CSV line ${i + 1 + (hasHeader ? 1 : 0)}: label "${l.slice(0, 40)}" is not a number`)
      return Number(l)
    })
  }
  const ds: Dataset = {
    format: 'povchain-dataset',
    version: 1,
    name: opts.name,
    task,
    features: featureCols.map((c) => header[c]!),
    ...(classes ? { classes } : {}),
    x,
    y,
  }
  return validateDataset(ds)
}
