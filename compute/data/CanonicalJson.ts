/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, numbers in ECMAScript's
 * shortest round-trip form. Content addresses of specs, datasets and models are hashes of
 * this text, so two machines that agree on the value agree on the hash.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$')
}

function encode(v: unknown, path: string): string {
  if (v === null) return 'null'
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`canonical JSON: non-finite number at ${path}`)
      // -0 would print as 0 and silently change the value after a round trip.
      return Object.is(v, -0) ? '0' : String(v)
    case 'string':
      return JSON.stringify(v)
    case 'object': {
      if (Array.isArray(v)) return '[' + v.map((x, i) => encode(x, `${path}[${i}]`)).join(',') + ']'
      if (ArrayBuffer.isView(v)) return encode(Array.from(v as unknown as ArrayLike<number>), path)
      const keys = Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort()
      return '{' + keys.map((k) => JSON.stringify(k) + ':' + encode((v as Record<string, unknown>)[k], `${path}.${k}`)).join(',') + '}'
    }
    default:
      throw new TypeError(`canonical JSON: unsupported ${typeof v} at ${path}`)
  }
}

export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value))
}
