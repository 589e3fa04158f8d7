import { isIP } from 'node:net'

/**
 * --http.vhosts: which Host names the node answers (Geth's virtual-host check). It stops DNS
 * rebinding: a page at evil.example whose name is re-pointed at 127.0.0.1 still sends
 * `Host: evil.example`, and is refused. Requests to an IP literal are always allowed (a
 * rebinding page cannot send one), as is a request without Host (browsers always send it);
 * '*' allows every name.
 */
export class HostPolicy {
  private readonly any: boolean
  private readonly names: Set<string>

  constructor(vhosts: string[]) {
    this.any = vhosts.includes('*')
    this.names = new Set(vhosts.map((h) => h.trim().toLowerCase()).filter(Boolean))
  }

  accepts(hostHeader: string | undefined): boolean {
    if (hostHeader === undefined || hostHeader === '') return true
    const host = hostName(hostHeader)
    if (isIP(host) !== 0) return true
    return this.any || this.names.has(host.toLowerCase())
  }
}

/** The name part of a Host header: `[::1]:8545` → `::1`, `localhost:8545` → `localhost`. */
function hostName(header: string): string {
  if (header.startsWith('[')) {
    const end = header.indexOf(']')
    return end < 0 ? header : header.slice(1, end)
  }
  const colon = header.lastIndexOf(':')
  // More than one colon without brackets is a bare IPv6 address, not host:port.
  if (colon >= 0 && header.indexOf(':') === colon) return header.slice(0, colon)
  return header
}
