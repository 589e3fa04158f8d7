import { open } from 'node:fs/promises'

/**
 * A minimal ustar writer for image layers and archives: fixed owner (0:0) and mtime (0), entries
 * sorted by path, so the same files give the same bytes on every host. Long paths use the ustar
 * prefix field (up to 255 bytes).
 */
export interface TarEntry {
  path: string
  /** File contents in memory. */
  data?: Uint8Array
  /** Or: a file on disk of `size` bytes, streamed (large layers). */
  source?: { file: string; size: number }
  /** A symbolic link to this target. */
  symlink?: string
  /** A hard link to this earlier entry's path. */
  hardlink?: string
  /** Directory when none of data/source/symlink/hardlink is given. */
  mode?: number
}

const enc = new TextEncoder()

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0'
}

type Kind = 'file' | 'dir' | 'symlink' | 'hardlink'

function kindOf(e: TarEntry): Kind {
  if (e.symlink !== undefined) return 'symlink'
  if (e.hardlink !== undefined) return 'hardlink'
  if (e.data !== undefined || e.source !== undefined) return 'file'
  return 'dir'
}

const TYPE_FLAG: Record<Kind, number> = { file: 0x30, hardlink: 0x31, symlink: 0x32, dir: 0x35 }

function fits(name: string, prefixOk: boolean): { name: string; prefix: string } | undefined {
  if (enc.encode(name).length <= 100) return { name, prefix: '' }
  if (!prefixOk) return undefined
  const cut = name.lastIndexOf('/', name.length - 2)
  if (cut < 0) return undefined
  const prefix = name.slice(0, cut)
  const rest = name.slice(cut + 1)
  return enc.encode(rest).length <= 100 && enc.encode(prefix).length <= 155 ? { name: rest, prefix } : undefined
}

function rawHeader(name: string, prefix: string, size: number, mode: number, type: number, link: string): Uint8Array {
  const h = new Uint8Array(512)
  const put = (s: string, off: number) => h.set(enc.encode(s), off)
  put(name, 0)
  put(octal(mode & 0o7777, 8), 100)
  put(octal(0, 8), 108)
  put(octal(0, 8), 116)
  put(octal(size, 12), 124)
  put(octal(0, 12), 136)
  put('        ', 148)
  h[156] = type
  put(link, 157)
  put('ustar\0', 257)
  put('00', 263)
  put(prefix, 345)
  let sum = 0
  for (let i = 0; i < 512; i++) sum += h[i]!
  put(octal(sum, 7) + ' ', 148)
  return h
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  let len = enc.encode(body).length + 1
  while (String(len).length + enc.encode(body).length !== len) len = String(len).length + enc.encode(body).length
  return `${len}${body}`
}

/** The header of one entry, preceded by a PAX header when the path or link target is too long for ustar. */
function header(path: string, size: number, mode: number, kind: Kind, link = ''): Uint8Array[] {
  const full = kind === 'dir' && !path.endsWith('/') ? path + '/' : path
  const f = fits(full, true)
  const linkFits = enc.encode(link).length <= 100
  const out: Uint8Array[] = []
  if (!f || !linkFits) {
    const records = enc.encode((f ? '' : paxRecord('path', full)) + (linkFits ? '' : paxRecord('linkpath', link)))
    out.push(rawHeader('PaxHeader', '', records.length, 0o644, 0x78, ''))
    out.push(records)
    const pad = (512 - (records.length % 512)) % 512
    if (pad) out.push(new Uint8Array(pad))
  }
  const short = f ?? { name: full.slice(-99).replace(/^\/+/, ''), prefix: '' }
  out.push(rawHeader(short.name, short.prefix, size, mode, TYPE_FLAG[kind], linkFits ? link : link.slice(0, 100)))
  return out
}

/** Yields the archive in chunks, entries sorted by path for a reproducible layer. */
export async function* tarChunks(entries: TarEntry[]): AsyncGenerator<Uint8Array> {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  for (const e of sorted) {
    const kind = kindOf(e)
    const size = kind === 'file' ? (e.data?.length ?? e.source!.size) : 0
    const mode = e.mode ?? (kind === 'dir' ? 0o755 : kind === 'symlink' ? 0o777 : 0o644)
    yield* header(e.path.replace(/^\/+/, ''), size, mode, kind, e.symlink ?? e.hardlink?.replace(/^\/+/, '') ?? '')
    if (kind !== 'file') continue
    if (e.data) yield e.data
    else yield* fileChunks(e.source!.file, size)
    const pad = (512 - (size % 512)) % 512
    if (pad) yield new Uint8Array(pad)
  }
  yield new Uint8Array(1024)
}

async function* fileChunks(file: string, size: number): AsyncGenerator<Uint8Array> {
  const fh = await open(file, 'r')
  try {
    let off = 0
    while (off < size) {
      const buf = new Uint8Array(Math.min(1 << 20, size - off))
      const { bytesRead } = await fh.read(buf, 0, buf.length, off)
      if (bytesRead === 0) throw new Error(`${file} shrank while being archived`)
      off += bytesRead
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead)
    }
  } finally {
    await fh.close()
  }
}
