/**
 * A minimal ustar writer for `docker import`: fixed owner (0:0) and mtime (0) so the same files
 * give the same layer bytes. Long paths use the ustar prefix field (up to 255 bytes).
 */
export interface TarEntry {
  path: string
  /** Absent for directories. */
  data?: Uint8Array
  mode?: number
}

const enc = new TextEncoder()

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0'
}

function header(path: string, size: number, mode: number, dir: boolean): Uint8Array {
  const h = new Uint8Array(512)
  let name = dir && !path.endsWith('/') ? path + '/' : path
  let prefix = ''
  if (enc.encode(name).length > 100) {
    const cut = name.lastIndexOf('/', name.length - 2)
    prefix = name.slice(0, cut)
    name = name.slice(cut + 1)
    if (enc.encode(name).length > 100 || enc.encode(prefix).length > 155) throw new RangeError(`tar path too long: ${path}`)
  }
  const put = (s: string, off: number) => h.set(enc.encode(s), off)
  put(name, 0)
  put(octal(mode, 8), 100)
  put(octal(0, 8), 108)
  put(octal(0, 8), 116)
  put(octal(size, 12), 124)
  put(octal(0, 12), 136)
  put('        ', 148)
  h[156] = dir ? 0x35 : 0x30
  put('ustar\0', 257)
  put('00', 263)
  put(prefix, 345)
  let sum = 0
  for (let i = 0; i < 512; i++) sum += h[i]!
  put(octal(sum, 7) + ' ', 148)
  return h
}

/** Yields the archive in chunks, entries sorted by path for a reproducible layer. */
export function* tarChunks(entries: TarEntry[]): Generator<Uint8Array> {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  for (const e of sorted) {
    const dir = e.data === undefined
    const size = e.data?.length ?? 0
    yield header(e.path.replace(/^\/+/, ''), size, e.mode ?? (dir ? 0o755 : 0o644), dir)
    if (e.data) {
      yield e.data
      const pad = (512 - (size % 512)) % 512
      if (pad) yield new Uint8Array(pad)
    }
  }
  yield new Uint8Array(1024)
}
