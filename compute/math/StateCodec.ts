import { ComputeError } from '../ComputeError.js'

/**
 * A tiny explicit binary format for workload state. Byte order is fixed (little-endian) and NaN
 * is canonicalised, so the bytes — and therefore the checkpoint hash — do not depend on the
 * host's endianness or on which NaN payload a CPU produced.
 */
export class StateWriter {
  private buf = new Uint8Array(1024)
  private dv = new DataView(this.buf.buffer)
  private len = 0

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return
    let cap = this.buf.length * 2
    while (cap < this.len + n) cap *= 2
    const next = new Uint8Array(cap)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
    this.dv = new DataView(next.buffer)
  }

  u32(x: number): this {
    this.ensure(4)
    this.dv.setUint32(this.len, x >>> 0, true)
    this.len += 4
    return this
  }

  f64(x: number): this {
    this.ensure(8)
    if (x !== x) {
      this.dv.setUint32(this.len, 0, true)
      this.dv.setUint32(this.len + 4, 0x7ff80000, true)
    } else this.dv.setFloat64(this.len, x, true)
    this.len += 8
    return this
  }

  f64s(a: ArrayLike<number>): this {
    this.u32(a.length)
    this.ensure(a.length * 8)
    for (let i = 0; i < a.length; i++) this.f64(a[i]!)
    return this
  }

  u32s(a: ArrayLike<number>): this {
    this.u32(a.length)
    this.ensure(a.length * 4)
    for (let i = 0; i < a.length; i++) this.u32(a[i]!)
    return this
  }

  bytes(b: Uint8Array): this {
    this.u32(b.length)
    this.ensure(b.length)
    this.buf.set(b, this.len)
    this.len += b.length
    return this
  }

  str(s: string): this {
    return this.bytes(new TextEncoder().encode(s))
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len)
  }
}

export class StateReader {
  private dv: DataView
  private pos = 0

  constructor(private readonly buf: Uint8Array) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new ComputeError('COMPUTE_INVALID_CHECKPOINT', `checkpoint state truncated at byte ${this.pos}`)
    }
  }

  u32(): number {
    this.need(4)
    const v = this.dv.getUint32(this.pos, true)
    this.pos += 4
    return v
  }

  f64(): number {
    this.need(8)
    const v = this.dv.getFloat64(this.pos, true)
    this.pos += 8
    return v
  }

  f64s(expectLength?: number): Float64Array {
    const n = this.u32()
    if (expectLength !== undefined && n !== expectLength) {
      throw new ComputeError('COMPUTE_INVALID_CHECKPOINT', `checkpoint array has ${n} entries, expected ${expectLength}`)
    }
    this.need(n * 8)
    const out = new Float64Array(n)
    for (let i = 0; i < n; i++) out[i] = this.f64()
    return out
  }

  u32s(expectLength?: number): Uint32Array {
    const n = this.u32()
    if (expectLength !== undefined && n !== expectLength) {
      throw new ComputeError('COMPUTE_INVALID_CHECKPOINT', `checkpoint array has ${n} entries, expected ${expectLength}`)
    }
    this.need(n * 4)
    const out = new Uint32Array(n)
    for (let i = 0; i < n; i++) out[i] = this.u32()
    return out
  }

  bytes(): Uint8Array {
    const n = this.u32()
    this.need(n)
    const out = this.buf.slice(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  str(): string {
    return new TextDecoder().decode(this.bytes())
  }

  end(): void {
    if (this.pos !== this.buf.length) {
      throw new ComputeError('COMPUTE_INVALID_CHECKPOINT', `checkpoint state has ${this.buf.length - this.pos} trailing bytes`)
    }
  }
}
