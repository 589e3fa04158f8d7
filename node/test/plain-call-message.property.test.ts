import fc from 'fast-check'
import t from 'tap'
import { Hardfork } from '@ethereumjs/common'
import { createTx, getCalldataFloorGas } from '@ethereumjs/tx'
import { Address } from '@ethereumjs/util'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { plainCallMessage, withinTxGasCap } from '../CallRunner.js'

/*
 * eth_call's plain path computes the intrinsic gas and the EIP-7623 calldata floor of the call
 * without building the @ethereumjs transaction. For random calldata (runs of zero bytes, as ABI
 * encoding has), values, gas limits and senders — on the node's Prague Common and on the later
 * hardforks where the plain path applies — both must equal what @ethereumjs/tx answers for the
 * unsigned legacy transaction CallRunner.buildTx builds.
 */

const base = createChainCommon(31337n)
const commons = [Hardfork.Prague, Hardfork.Osaka, 'bpo1', 'bpo2', 'bpo5', Hardfork.Amsterdam]
  .map((hf) => {
    const c = base.copy()
    try {
      c.setHardfork(hf as Hardfork)
    } catch {
      return undefined
    }
    return c
  })
  .concat([withEips([7976])]) // EIP-7976's floor tokens (4 per byte) on Prague
  .filter((c) => c !== undefined && !c.isActivatedEIP(2780))

function withEips(eips: number[]) {
  const c = base.copy()
  c.setEIPs(eips)
  return c
}

const calldata = fc.array(fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 64 }).map((n) => new Uint8Array(n))), { maxLength: 6 })
  .map((parts) => Uint8Array.from(parts.flatMap((p) => [...p])))

t.test('plainCallMessage: intrinsic gas and calldata floor as @ethereumjs/tx computes them', async (t) => {
  t.ok(commons.length >= 3, `hardforks compared: ${commons.map((c) => c!.hardfork() + (c!.isActivatedEIP(7976) ? '+7976' : '')).join(', ')}`)
  let floors = 0
  let capped = 0
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: commons.length - 1 }),
      calldata,
      fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
      fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 21_000n, max: 2n ** 25n })),
      fc.uint8Array({ minLength: 20, maxLength: 20 }),
      fc.uint8Array({ minLength: 20, maxLength: 20 }),
      (ci, data, value, gas, to, from) => {
        const common = commons[ci]
        // Above EIP-7825's cap (Osaka) CallRunner takes the createTx path, which refuses it.
        if (!withinTxGasCap(gas, common!)) {
          try {
            createTx({ type: 0, to, value, data, gasLimit: gas, nonce: 0n, gasPrice: 0n }, { common: common!, freeze: false })
            return false
          } catch {
            capped++
            return true
          }
        }
        const m = plainCallMessage({ to, from, data, value }, gas, common!)
        const tx = createTx({ type: 0, to, value, data, gasLimit: gas, nonce: 0n, gasPrice: 0n }, { common: common!, freeze: false })
        const floor = getCalldataFloorGas(tx, new Address(from))
        if (floor > 0n) floors++
        return m.intrinsic === tx.getIntrinsicGas() && m.floor === floor && m.gasLimit === gas && m.value === value && m.to.equals(tx.to!) && m.data === data
      },
    ),
    { numRuns: 2000 },
  )
  t.ok(floors > 100, `${floors} cases with an EIP-7623 floor`)
  t.ok(capped > 10, `${capped} gas limits above EIP-7825's cap left to createTx, which refuses them`)
  // A call without value or data: TX_BASE only, and the floor equals it.
  const empty = plainCallMessage({ to: new Uint8Array(20) }, 30_000n, base)
  t.equal(empty.intrinsic, 21_000n)
  t.equal(empty.floor, 21_000n)
})
