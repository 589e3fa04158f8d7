import { bytesToBigint } from '../common/bytes.js'
import { ChainError } from './errors.js'

// Shape checks for decoded RLP: every decoder in chain/ goes through these so that a
// malformed peer message or raw input fails with a named field instead of a TypeError.

export function expectList(raw: unknown, what: string, length?: number): unknown[] {
  if (!Array.isArray(raw)) throw new ChainError('BAD_ENCODING', `${what}: expected an RLP list`)
  if (length !== undefined && raw.length !== length)
    throw new ChainError('BAD_ENCODING', `${what}: expected ${length} fields, got ${raw.length}`)
  return raw
}

export function expectBytes(raw: unknown, what: string, length?: number): Uint8Array {
  if (!(raw instanceof Uint8Array)) throw new ChainError('BAD_ENCODING', `${what}: expected a byte string`)
  if (length !== undefined && raw.length !== length)
    throw new ChainError('BAD_ENCODING', `${what}: expected ${length} bytes, got ${raw.length}`)
  return raw
}

/** A canonical RLP integer: at most `maxBytes` long and without leading zero bytes. */
export function expectUint(raw: unknown, what: string, maxBytes = 32): bigint {
  const b = expectBytes(raw, what)
  if (b.length > maxBytes) throw new ChainError('BAD_ENCODING', `${what}: integer wider than ${maxBytes} bytes`)
  if (b.length > 0 && b[0] === 0) throw new ChainError('BAD_ENCODING', `${what}: integer has leading zero bytes`)
  return bytesToBigint(b)
}
