/**
 * Web pages served on the HTTP port next to JSON-RPC (node/ plugs the explorer in here; rpc/
 * knows nothing of what the pages are). Only GET and HEAD reach it, after the Host check.
 */
export interface PageRequest {
  /** The URL path without the query, e.g. `/explorer/app.js`. */
  path: string
  /** The request's Host header (already accepted by --http.vhosts). */
  host: string | undefined
  /** The port the HTTP server listens on. */
  httpPort: number
  /** The port WebSocket JSON-RPC is served on (the HTTP port when shared); undefined when WS is off. */
  wsPort: number | undefined
}

export interface PageResponse {
  status: number
  headers: Record<string, string>
  body: string | Uint8Array
}

export interface PageHandler {
  /** Where a browser asking for `/` (Accept: text/html) is redirected, e.g. `/explorer/`. */
  readonly home: string
  /** The page for a path, or undefined when the handler does not serve it (→ 404). */
  serve(req: PageRequest): PageResponse | undefined
}

/**
 * The node's own pages may open WebSocket JSON-RPC without `--ws.origins`: an upgrade whose
 * Origin is `http://<the upgrade's Host name>:<HTTP port>` comes from a page the node served
 * itself. A DNS-rebinding page cannot pass (its Host name is refused by --http.vhosts first),
 * and no other page can carry that origin.
 */
export function isOwnPageOrigin(origin: string | undefined, hostHeader: string | undefined, httpPort: number | undefined): boolean {
  if (!origin || !hostHeader || !httpPort) return false
  let o: URL
  try {
    o = new URL(origin)
  } catch {
    return false
  }
  if (o.protocol !== 'http:' || o.pathname !== '/' || o.username || o.password) return false
  const originPort = o.port === '' ? 80 : Number(o.port)
  let host: string
  try {
    host = new URL(`http://${hostHeader}`).hostname
  } catch {
    return false
  }
  return originPort === httpPort && o.hostname.toLowerCase() === host.toLowerCase()
}
