import { AccessList2930Tx, Blob4844Tx, EOACode7702Tx, FeeMarket1559Tx, LegacyTx } from '@ethereumjs/tx'
import { Address } from '@ethereumjs/util'
import { keccak256 } from './keccak.js'

/**
 * `tx.getSenderAddress()` as @ethereumjs/tx writes it re-hashes the (cached) public key with
 * noble's JS keccak on every call, and a transaction is asked for its sender 3–5 times on its
 * way through the node (pool validation, the executor, runTx, the RPC formatters): ≈ 1.2 % of
 * an ERC-20 transfer's server CPU. This remembers the address per transaction object, hashed
 * once with the node's (native) keccak — only for frozen transactions, the same condition under
 * which @ethereumjs caches the public key (an unfrozen one may have its signature edited).
 * Every call returns a fresh Address over a copy of the bytes, as the original does, so a
 * caller that writes into it changes nothing for the next. Errors are the original's: the
 * public key is still asked of `getSenderPublicKey()`, which throws on a bad signature.
 * `chain/test/sender-address-memo.property.test.ts` compares it with the original.
 */

type SenderAddressFn = (this: TxLike) => Address
interface TxLike {
  getSenderPublicKey(): Uint8Array
  /** @ethereumjs/tx's per-transaction cache (hash, public key …): a plain object, not frozen. */
  cache: { senderAddressBytes?: Uint8Array }
}
interface TxPrototype {
  getSenderAddress: SenderAddressFn
}

const TX_CLASSES = [LegacyTx, AccessList2930Tx, FeeMarket1559Tx, Blob4844Tx, EOACode7702Tx] as const

let originals: Map<TxPrototype, SenderAddressFn> | undefined

/** The sender as @ethereumjs/tx computes it (the reference the memo is tested against). */
export function plainSenderAddress(tx: object): Address {
  const proto = Object.getPrototypeOf(tx) as TxPrototype
  const original = originals?.get(proto) ?? proto.getSenderAddress
  return original.call(tx as TxLike)
}

/** Installs the memo on every transaction class; idempotent. */
export function installSenderAddressMemo(): void {
  if (originals) return
  originals = new Map()
  for (const cls of TX_CLASSES) {
    const proto = cls.prototype as unknown as TxPrototype
    const original = proto.getSenderAddress
    originals.set(proto, original)
    proto.getSenderAddress = function (this: TxLike): Address {
      if (!Object.isFrozen(this)) return original.call(this)
      // Kept in the transaction's own cache object, next to the public key it derives from
      // (a WeakMap of every transaction would cost the GC more than the hash it saves).
      let bytes = this.cache.senderAddressBytes
      if (bytes === undefined) {
        const pub = this.getSenderPublicKey()
        // What publicToAddress refuses (never from a recovery): let the original say so.
        if (pub.length !== 64) return original.call(this)
        bytes = keccak256(pub).slice(12)
        this.cache.senderAddressBytes = bytes
      }
      return new Address(bytes.slice())
    }
  }
}
