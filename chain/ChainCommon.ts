import { Common, Hardfork, Mainnet, createCustomCommon, type CustomCrypto } from '@ethereumjs/common'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { paramsBlock } from '@ethereumjs/block'
import { paramsEVM } from '@ethereumjs/evm'
import { paramsTx } from '@ethereumjs/tx'
import { paramsVM } from '@ethereumjs/vm'
import { concatBytes } from '../common/bytes.js'
import { nativeKeccak256 } from './keccak.js'
import { nativeSecp256k1 } from './Secp256k1.js'
import { installSenderAddressMemo } from './SenderAddressMemo.js'

/**
 * The @ethereumjs Common every povchain component shares: the chain id from genesis and the
 * Prague rule set (PUSH0, transient storage, EIP-7702 …) from block 0.
 *
 * Sender recovery is the first wall a JS node hits (noble ≈ 290 recoveries/s per core,
 * libsecp256k1 ≈ 9,800/s), so when the `secp256k1` N-API addon loads we plug it in through
 * `customCrypto.ecrecover`; noble stays the reference and a test checks that both agree.
 */
export function createChainCommon(chainId: bigint, opts: { nativeCrypto?: boolean } = {}): Common {
  const customCrypto: CustomCrypto = {}
  const native = opts.nativeCrypto === false ? undefined : loadNativeEcrecover()
  if (native) customCrypto.ecrecover = native
  if (opts.nativeCrypto !== false && nativeKeccak256) customCrypto.keccak256 = nativeKeccak256
  const common = createCustomCommon({ chainId: Number(chainId), name: 'povchain' }, Mainnet, {
    hardfork: Hardfork.Prague,
    customCrypto,
  })
  presetParams(common)
  fastEipLookup(common)
  // Every node path builds its Common here first: the transactions it decodes share the memo.
  installSenderAddressMemo()
  return common
}

/** The Common internals `isActivatedEIP` reads (not in its typings). */
interface EipCacheHolder {
  _activatedEIPsCache: number[]
  _activatedEIPsSet?: Set<number>
  _activatedEIPsSetOf?: number[]
}

/**
 * `Common.isActivatedEIP` is `Array.includes` over the ~50 EIPs of the hardfork, and the EVM
 * asks it several times per opcode and per message (2.7 % of an eth_call's CPU): answer from a
 * Set instead. Common rebuilds `_activatedEIPsCache` as a new array whenever the hardfork or
 * the EIPs change (never in place), so the Set is rebuilt when that array is another one —
 * same answers in every state, copies included (`Common.copy` keeps own properties).
 * `chain/test/common-eip-lookup.property.test.ts` compares it with the original.
 */
export function fastEipLookup(common: Common): void {
  common.isActivatedEIP = function (this: Common, eip: number): boolean {
    const self = this as unknown as EipCacheHolder
    const list = self._activatedEIPsCache
    if (self._activatedEIPsSetOf !== list) {
      self._activatedEIPsSet = new Set(list)
      self._activatedEIPsSetOf = list
    }
    return self._activatedEIPsSet!.has(eip)
  }
}

/**
 * Every transaction, block header, EVM and VM that @ethereumjs constructs calls
 * `common.copy().updateParams(its module's params)`, which deep-copies the parameter tables
 * through JSON and rebuilds a cache: 0.1 ms per decoded transaction, the largest single cost
 * of eth_sendRawTransaction and eth_call in our profiles. The tables never change for a chain,
 * so apply them once here and make those calls no-ops (copies keep the own property).
 */
function presetParams(common: Common): void {
  const preset: object[] = [paramsTx, paramsBlock, paramsEVM, paramsVM]
  for (const p of preset) common.updateParams(p as never)
  const update = common.updateParams
  common.updateParams = function (this: Common, params: Parameters<Common['updateParams']>[0]) {
    if (!preset.includes(params)) update.call(this, params)
  } as Common['updateParams']
}

export type Ecrecover = NonNullable<CustomCrypto['ecrecover']>

function recoveryId(v: bigint, chainId?: bigint): number {
  if (v === 0n || v === 1n) return Number(v)
  if (chainId === undefined) return Number(v - 27n)
  return Number(v - (2n * chainId + 35n))
}

function pad32(b: Uint8Array): Uint8Array {
  if (b.length === 32) return b
  if (b.length > 32) throw new Error('signature component longer than 32 bytes')
  const out = new Uint8Array(32)
  out.set(b, 32 - b.length)
  return out
}

/** The reference implementation (noble): 64-byte uncompressed public key without prefix. */
export const nobleEcrecover: Ecrecover = (msgHash, v, r, s, chainId) => {
  const rec = recoveryId(v, chainId)
  if (rec !== 0 && rec !== 1) throw new Error('invalid signature v value')
  const sig = concatBytes(Uint8Array.of(rec), pad32(r), pad32(s))
  const pub = secp256k1.recoverPublicKey(sig, msgHash, { prehash: false })
  return secp256k1.Point.fromBytes(pub).toBytes(false).subarray(1)
}

export function loadNativeEcrecover(): Ecrecover | undefined {
  const addon = nativeSecp256k1()
  if (!addon) return undefined
  return (msgHash, v, r, s, chainId) => {
    const rec = recoveryId(v, chainId)
    if (rec !== 0 && rec !== 1) throw new Error('invalid signature v value')
    return addon.ecdsaRecover(concatBytes(pad32(r), pad32(s)), rec, msgHash, false).subarray(1)
  }
}

export { Common }
