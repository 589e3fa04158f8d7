import type { FuzzTarget } from './targets.js'

/**
 * A decoder with a bug three nested checks deep (a TypeError for 0xc1 0x80 0x7f …), for the
 * fuzzer's own test: blind mutation finds it about once in 10⁷ inputs, coverage guidance in a
 * few thousand, because each passed check is a new block and its input is kept.
 */
export const plantedBug: FuzzTarget = {
  name: 'planted',
  entry: 'test/fuzz/PlantedBug.ts (the fuzzer’s own test)',
  run(b) {
    if (b.length < 3) return
    if (b[0] === 0xc1) {
      if (b[1] === 0x80) {
        if (b[2] === 0x7f) {
          const missing: { field?: { length: number } } = {}
          void missing.field!.length // what an unchecked RLP shape does
        }
      }
    }
  },
  expected: () => false,
  seeds: () => [Uint8Array.of(0, 0, 0, 0)],
}
