import t from 'tap'
import fc from 'fast-check'
import { Account, createAccountFromRLP } from '@ethereumjs/util'
import { copyAccount } from '../WorldState.js'

// copyAccount (what the call VMs' read memo hands out instead of decoding the account RLP again)
// against the plain path, a fresh decoding of the serialised account: same fields, same
// serialisation, and a reader editing its copy changes neither the original nor the next copy.

const accountArb = fc.record({
  nonce: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  balance: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
  storageRoot: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  codeHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
})

t.test('copyAccount equals a fresh decoding and shares nothing a reader edits', async (t) => {
  let n = 0
  fc.assert(
    fc.property(accountArb, fc.bigInt({ min: 0n, max: 2n ** 64n }), (f, spend) => {
      const rlp = new Account(f.nonce, f.balance, f.storageRoot, f.codeHash).serialize()
      const memo = createAccountFromRLP(rlp)
      const copy = copyAccount(memo)
      const plain = createAccountFromRLP(rlp)
      if (Buffer.compare(copy.serialize(), plain.serialize()) !== 0) return false
      if (copy.isContract() !== plain.isContract() || copy.isEmpty() !== plain.isEmpty()) return false
      // What the EVM does to an account it read: new nonce and balance, new storage root.
      copy.nonce += 1n
      copy.balance = copy.balance >= spend ? copy.balance - spend : 0n
      copy.storageRoot = new Uint8Array(32).fill(0xab)
      n++
      return Buffer.compare(memo.serialize(), rlp) === 0 && Buffer.compare(copyAccount(memo).serialize(), rlp) === 0
    }),
    { numRuns: 1000 },
  )
  t.equal(n, 1000)
})
