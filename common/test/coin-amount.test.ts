import t from 'tap'
import fc from 'fast-check'
import { formatEther, parseEther } from 'viem'
import { roundedCoins } from '../CoinAmount.js'

t.test('examples', async (t) => {
  t.equal(roundedCoins(10n ** 18n), '1')
  t.equal(roundedCoins(25n * 10n ** 17n), '2.5')
  t.equal(roundedCoins(123456789012345678n), '≈0.123456')
  t.equal(roundedCoins(100000000000000n), '0.0001')
  t.equal(roundedCoins(1234n), '≈0.00000000000000123')
  t.equal(roundedCoins(1n), '0.000000000000000001')
  t.equal(roundedCoins(0n), '0')
  t.equal(roundedCoins(-15n * 10n ** 17n), '-1.5')
})

t.test('property: exact when shown without ≈, else within a millionth of a coin or 0.1 % of the amount', async (t) => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), (wei) => {
      const s = roundedCoins(wei)
      const shown = parseEther(s.replace('≈', '') as `${number}`)
      if (!s.startsWith('≈')) return shown === wei
      const err = wei - shown
      return err > 0n && (err < 10n ** 12n || err * 1000n < wei) && s.length <= formatEther(wei).length
    }),
    { numRuns: 2000 },
  )
  t.pass()
})
