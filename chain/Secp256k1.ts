import { createRequire } from 'node:module'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { concatBytes } from '../common/bytes.js'

/**
 * secp256k1 for the node's own signatures (seals, dev VRF, and the senders of transactions
 * through ChainCommon). libsecp256k1 through the `secp256k1` N-API addon is ~35× faster at
 * recovery than noble; noble is the reference and the fallback when the addon cannot load.
 * Both sign with RFC 6979 nonces, so their signatures are byte-identical (tested).
 */
interface NativeAddon {
  ecdsaSign(msg: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number }
  ecdsaRecover(sig: Uint8Array, recid: number, msg: Uint8Array, compressed: boolean): Uint8Array
}

let addon: NativeAddon | null | undefined

export function nativeSecp256k1(): NativeAddon | undefined {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)('secp256k1') as NativeAddon
    } catch {
      addon = null
    }
  }
  return addon ?? undefined
}

export interface Secp256k1Impl {
  /** Signs a 32-byte digest: r ‖ s ‖ recovery id (65 bytes). */
  sign(digest: Uint8Array, key: Uint8Array): Uint8Array
  /** The 65-byte uncompressed public key that made an r ‖ s signature with this recovery id. */
  recover(digest: Uint8Array, rs: Uint8Array, recid: number): Uint8Array
}

export const nobleSecp256k1: Secp256k1Impl = {
  sign(digest, key) {
    const rec = secp256k1.sign(digest, key, { prehash: false, format: 'recovered' })
    return concatBytes(rec.subarray(1, 65), rec.subarray(0, 1))
  },
  recover(digest, rs, recid) {
    const pub = secp256k1.recoverPublicKey(concatBytes(Uint8Array.of(recid), rs), digest, { prehash: false })
    return secp256k1.Point.fromBytes(pub).toBytes(false)
  },
}

function nativeImpl(a: NativeAddon): Secp256k1Impl {
  return {
    sign(digest, key) {
      const { signature, recid } = a.ecdsaSign(digest, key)
      return concatBytes(signature, Uint8Array.of(recid))
    },
    recover(digest, rs, recid) {
      return a.ecdsaRecover(rs, recid, digest, false)
    },
  }
}

let chosen: Secp256k1Impl | undefined
export function secp(): Secp256k1Impl {
  if (!chosen) {
    const a = nativeSecp256k1()
    chosen = a ? nativeImpl(a) : nobleSecp256k1
  }
  return chosen
}
