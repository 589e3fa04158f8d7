import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** What the node tells the page in `/explorer/config.json` besides where its WebSocket is. */
export interface ExplorerNodeInfo {
  chainId: number
  /** Contracts whose ABI the node knows (the system contracts): the page decodes their calls, logs and errors. */
  contracts: { name: string; address: string; abi: readonly unknown[] }[]
}

export interface ExplorerRequest {
  path: string
  host: string | undefined
  httpPort: number
  wsPort: number | undefined
}

export interface ExplorerResponse {
  status: number
  headers: Record<string, string>
  body: string | Uint8Array
}

/** The URL prefix the explorer lives under on the node's HTTP port. */
export const EXPLORER_PATH = '/explorer/'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
}

/** A Host header's name as the page's WebSocket URL may use it, or undefined for anything unusual. */
function hostName(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined
  try {
    const name = new URL(`http://${hostHeader}`).hostname
    return /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)$/.test(name) ? name : undefined
  } catch {
    return undefined
  }
}

/**
 * The built explorer (esbuild writes it to dist/explorer/site at `npm run build`): the files read
 * once at start and served from memory under /explorer/, with their content types, `nosniff`,
 * no framing and a CSP that allows only the node's own scripts, styles and RPC endpoints.
 */
export class ExplorerSite {
  readonly home = EXPLORER_PATH
  private readonly files = new Map<string, Uint8Array>()

  constructor(
    private readonly info: ExplorerNodeInfo,
    readonly assetsDir: string | undefined = findExplorerAssets(),
  ) {
    if (assetsDir) for (const f of walk(assetsDir)) this.files.set(relative(assetsDir, f).split(sep).join('/'), readFileSync(f))
  }

  /** True when the built page is there (npm run build); otherwise /explorer/ explains how to build it. */
  get built(): boolean {
    return this.files.has('index.html')
  }

  serve(req: ExplorerRequest): ExplorerResponse | undefined {
    if (req.path === '/explorer') return { status: 301, headers: { location: EXPLORER_PATH }, body: '' }
    if (!req.path.startsWith(EXPLORER_PATH)) return undefined
    const name = req.path.slice(EXPLORER_PATH.length) || 'index.html'
    const host = hostName(req.host)
    const wsUrl = host && req.wsPort ? `ws://${host}:${req.wsPort}` : undefined
    const headers = (type: string): Record<string, string> => ({
      'content-type': type,
      'content-security-policy': [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        `connect-src 'self'${wsUrl ? ` ${wsUrl}` : ''}`,
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
      ].join('; '),
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cache-control': name === 'index.html' || name === 'config.json' ? 'no-cache' : 'public, max-age=300',
    })
    if (name === 'config.json') {
      const body = JSON.stringify({ rpcPath: '/', wsUrl: wsUrl ?? null, ...this.info })
      return { status: 200, headers: headers(TYPES['.json']!), body }
    }
    if (!this.built) return { status: 503, headers: headers(TYPES['.txt']!), body: 'the explorer is not built: run `npm run build` in the povchain folder\n' }
    const file = this.files.get(decodeURIComponentSafe(name))
    if (!file) return { status: 404, headers: headers(TYPES['.txt']!), body: 'not found\n' }
    return { status: 200, headers: headers(TYPES[extname(name)] ?? 'application/octet-stream'), body: file }
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) yield* walk(p)
    else yield p
  }
}

/**
 * dist/explorer/site, from the compiled module (dist/explorer/ExplorerSite.js) or from the
 * source run through tsx (explorer/ExplorerSite.ts, as the tests do).
 */
export function findExplorerAssets(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url))
  for (const dir of [join(here, 'site'), join(here, '..', 'dist', 'explorer', 'site')]) if (existsSync(join(dir, 'index.html'))) return dir
  return undefined
}
