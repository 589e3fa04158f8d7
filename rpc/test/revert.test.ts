import fc from 'fast-check'
import t from 'tap'
import { bytesToHex, concatBytes, hexToBytes } from '../../common/bytes.js'
import { callFailure, decodeRevertReason, revertError } from '../RevertReason.js'

function abiString(s: string): Uint8Array {
  const b = new TextEncoder().encode(s)
  const word = (n: number) => {
    const w = new Uint8Array(32)
    new DataView(w.buffer).setUint32(28, n)
    return w
  }
  const padded = new Uint8Array(Math.ceil(b.length / 32) * 32)
  padded.set(b)
  return concatBytes(hexToBytes('0x08c379a0'), word(32), word(b.length), padded)
}

function panic(code: number): Uint8Array {
  const w = new Uint8Array(32)
  new DataView(w.buffer).setUint32(28, code)
  return concatBytes(hexToBytes('0x4e487b71'), w)
}

t.test('Error(string) reasons decode', async (t) => {
  fc.assert(fc.property(fc.string(), (s) => decodeRevertReason(abiString(s)) === s))
  const e = revertError(abiString('Ownable: caller is not the owner'))
  t.equal(e.rpcCode, 3)
  t.equal(e.message, 'execution reverted: Ownable: caller is not the owner')
  t.equal(e.data, bytesToHex(abiString('Ownable: caller is not the owner')))
})

t.test('Panic codes use Geth wording', async (t) => {
  t.equal(revertError(panic(1)).message, 'execution reverted: assert(false)')
  t.equal(revertError(panic(0x11)).message, 'execution reverted: arithmetic underflow or overflow')
  t.equal(revertError(panic(0x12)).message, 'execution reverted: division or modulo by zero')
  t.equal(revertError(panic(0x99)).message, 'execution reverted: unknown panic code: 0x99')
})

t.test('custom errors and garbage: plain message, data kept', async (t) => {
  const custom = hexToBytes('0x8c5be1e5' + '00'.repeat(31) + '07')
  const e = revertError(custom)
  t.equal(e.message, 'execution reverted')
  t.equal(e.data, bytesToHex(custom))
  t.equal(revertError(new Uint8Array()).message, 'execution reverted')
  t.equal(revertError(new Uint8Array()).data, '0x')
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => typeof revertError(b).message === 'string'))
  // truncated Error(string)
  t.equal(decodeRevertReason(abiString('hello').subarray(0, 40)), undefined)
})

t.test('non-revert failures', async (t) => {
  const oog = callFailure({ returnValue: new Uint8Array(), gasUsed: 0n, reverted: false, error: 'out of gas' }, 50_000_000n)
  t.equal(oog.rpcCode, -32000)
  t.equal(oog.message, 'gas required exceeds allowance (50000000)')
  const inv = callFailure({ returnValue: new Uint8Array(), gasUsed: 0n, reverted: false, error: 'invalid opcode: INVALID' })
  t.equal(inv.message, 'invalid opcode: INVALID')
})
