import { BlockList, isIP } from 'node:net'
import { lookup } from 'node:dns/promises'
import { JobError } from '../client/JobError.js'

/**
 * Addresses no registered endpoint may point a worker at unless an IP rule names them: a worker
 * registers any URL it likes, and a node that POSTs to it on its own is a blind SSRF into the
 * fetching node's network (loopback services, the cloud metadata service at 169.254.169.254,
 * the LAN). IANA special-purpose ranges, IPv4 and IPv6.
 */
const NON_PUBLIC = new BlockList()
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NON_PUBLIC.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['2002::', 16],
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) NON_PUBLIC.addSubnet(net, bits, 'ipv6')

/** An IPv4-mapped IPv6 address as its IPv4 address (::ffff:127.0.0.1 is loopback). */
function unmapped(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const m = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (m) return { address: m[1]!, family: 'ipv4' }
  // The URL parser writes ::ffff:127.0.0.1 as ::ffff:7f00:1.
  const h = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address)
  if (h) {
    const hi = parseInt(h[1]!, 16)
    const lo = parseInt(h[2]!, 16)
    return { address: `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`, family: 'ipv4' }
  }
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' }
}

/** Whether an address is on the public internet (none of the special-purpose ranges). */
export function isPublicAddress(address: string): boolean {
  const a = unmapped(address)
  return !NON_PUBLIC.check(a.address, a.family)
}

type Rule = { kind: 'any' } | { kind: 'name'; host: string; port?: number } | { kind: 'ip'; range: BlockList; text: string; port?: number }

/** An allowed endpoint: where it resolved to (the address to connect to, checked). */
export interface AllowedEndpoint {
  url: URL
  address: string
  family: 4 | 6
}

const port = (u: URL) => Number(u.port || (u.protocol === 'https:' ? 443 : 80))

/**
 * Which registered worker endpoints this node's blob fetcher may send HTTP requests to
 * (`povchain node --worker.fetch-allow`); by default none: blobs come over p2p, where the
 * peer id a request is signed for is authenticated by the connection. Entries, comma-separated:
 * - `*`: any http(s) endpoint whose name resolves to public addresses only;
 * - `host` or `host:port`: that DNS name (any port, or that one), public addresses only;
 * - an IP address or range, with an optional port: `127.0.0.1`, `10.0.0.0/8:8545`, `[fd00::1]:8545`,
 *   `[fd00::]/8` — the only way to let the fetcher reach loopback, private or link-local
 *   addresses (a devnet on one machine: `127.0.0.1`).
 * A name is resolved before the request and every address it resolves to must be allowed; the
 * connection goes to the checked address (no second lookup for a rebinding DNS server to
 * answer differently), and redirects are not followed (AllowedEndpointRpc).
 */
export class EndpointAllowList {
  private readonly rules: Rule[]

  constructor(readonly entries: readonly string[]) {
    this.rules = entries.map(parseRule)
  }

  get empty(): boolean {
    return this.rules.length === 0
  }

  /** Whether `url` is an http(s) URL a rule names (before resolution: see resolve). */
  names(url: string): boolean {
    const u = parseUrl(url)
    return u !== undefined && this.rules.some((r) => ruleNames(r, u))
  }

  /**
   * The address to connect to for `url`: resolved, and every address allowed (public, or within
   * an IP rule). Throws JOB_ENDPOINT_REFUSED with the reason otherwise.
   */
  async resolve(url: string): Promise<AllowedEndpoint> {
    const u = parseUrl(url)
    if (!u) throw refused(url, 'only http(s) URLs without credentials are fetched from')
    const named = this.rules.filter((r) => ruleNames(r, u))
    if (!named.length) throw refused(url, `not on --worker.fetch-allow (${this.entries.join(',') || 'empty: p2p only'})`)
    const host = u.hostname.replace(/^\[|\]$/g, '')
    const addresses = isIP(host) ? [{ address: host, family: isIP(host) as 4 | 6 }] : await lookup(host, { all: true, verbatim: true }).catch((e: Error) => {
      throw refused(url, `its name does not resolve (${e.message})`)
    })
    if (!addresses.length) throw refused(url, 'its name resolves to no address')
    for (const a of addresses) {
      if (isPublicAddress(a.address)) continue
      const plain = unmapped(a.address)
      const covered = this.rules.some((r) => r.kind === 'ip' && (r.port === undefined || r.port === port(u)) && r.range.check(plain.address, plain.family))
      if (!covered) throw refused(url, `it resolves to ${a.address}, a loopback, private or reserved address no IP entry of --worker.fetch-allow names`)
    }
    const first = addresses[0]!
    return { url: u, address: first.address, family: first.family === 6 ? 6 : 4 }
  }
}

function refused(url: string, why: string): JobError {
  return new JobError('ENDPOINT_REFUSED', `not fetching from ${url}: ${why}`)
}

function parseUrl(url: string): URL | undefined {
  try {
    const u = new URL(url)
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password) return undefined
    return u
  } catch {
    return undefined
  }
}

function ruleNames(r: Rule, u: URL): boolean {
  if (r.kind === 'any') return true
  if (r.port !== undefined && r.port !== port(u)) return false
  const host = u.hostname.replace(/^\[|\]$/g, '')
  if (r.kind === 'name') return host.toLowerCase() === r.host
  if (!isIP(host)) return false
  const a = unmapped(host)
  return r.range.check(a.address, a.family)
}

function parseRule(entry: string): Rule {
  const e = entry.trim()
  if (e === '*') return { kind: 'any' }
  const bad = () => new JobError('BAD_FETCH_ALLOW', `--worker.fetch-allow: ${JSON.stringify(entry)} is none of *, host[:port], an IP address or range with an optional port (127.0.0.1, 10.0.0.0/8:8545, [fd00::]/8)`)
  // [v6](/bits)?(:port)? | v4(/bits)?(:port)? | name(:port)?
  const m = /^\[([0-9a-fA-F:.]+)\](?:\/(\d{1,3}))?(?::(\d{1,5}))?$/.exec(e) ?? /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d{1,2}))?(?::(\d{1,5}))?$/.exec(e)
  const portOf = (p: string | undefined) => {
    if (p === undefined) return undefined
    const n = Number(p)
    if (!(n >= 1 && n <= 65535)) throw bad()
    return n
  }
  if (m) {
    const family = isIP(m[1]!)
    if (!family) throw bad()
    const a = unmapped(m[1]!)
    const bits = m[2] === undefined ? (a.family === 'ipv4' ? 32 : 128) : Number(m[2])
    if (bits > (a.family === 'ipv4' ? 32 : 128)) throw bad()
    const range = new BlockList()
    range.addSubnet(a.address, bits, a.family)
    const p = portOf(m[3])
    return { kind: 'ip', range, text: e, ...(p !== undefined ? { port: p } : {}) }
  }
  const n = /^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::(\d{1,5}))?$/.exec(e)
  if (!n) throw bad()
  const p = portOf(n[5])
  return { kind: 'name', host: n[1]!.toLowerCase(), ...(p !== undefined ? { port: p } : {}) }
}
