/** Which browser origins may talk to the node (CORS for HTTP, the Origin check for WS). */
export class OriginPolicy {
  private readonly any: boolean
  private readonly set: Set<string>

  constructor(origins: string[]) {
    this.any = origins.includes('*')
    this.set = new Set(origins.map((o) => o.toLowerCase().replace(/\/+$/, '')))
  }

  /** The Access-Control-Allow-Origin value for a request's Origin, or undefined. */
  allowOrigin(origin: string | undefined): string | undefined {
    if (this.any) return '*'
    if (origin && this.set.has(origin.toLowerCase())) return origin
    return undefined
  }

  /** WS: non-browser clients send no Origin and are always allowed (as in Geth). */
  accepts(origin: string | undefined): boolean {
    return origin === undefined || this.any || this.set.has(origin.toLowerCase())
  }
}
