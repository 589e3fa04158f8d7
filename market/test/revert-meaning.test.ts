import t from 'tap'
import { encodeErrorResult } from 'viem'
import { describeRevert, marketAbi } from '../client/WorkMarketReader.js'

t.test('a WorkMarket revert is decoded by name, with its enum arguments said in words', async (t) => {
  const enc = (errorName: string, args: unknown[]) => encodeErrorResult({ abi: marketAbi(), errorName, args } as never)
  t.equal(describeRevert(enc('WrongJobStatus', [4])), 'WorkMarket: WrongJobStatus(4) — the job is refunded: it was refunded; nothing more can be done with it')
  t.match(describeRevert(enc('WrongJobStatus', [3])), /WrongJobStatus\(3\) — the job is accepted: it is finished and paid/)
  t.match(describeRevert(enc('WrongJobStatus', [0])), /there is no such job/)
  t.match(describeRevert(enc('WrongSessionStatus', [5])), /WrongSessionStatus\(5\) — the session is expired/)
  t.match(describeRevert(enc('RegistryFull', [1_100_000_000_000_000_001n])), /RegistryFull\(1100000000000000001\) — the worker registry is full: a bond of at least 1\.100001 coins at your rating displaces its weakest idle worker/, 'the bond that enters, rounded up')
  t.match(describeRevert(enc('RegistryFull', [2n ** 256n - 1n])), /every worker in it has pending work: nobody can be displaced now/)
  t.equal(describeRevert('0x'), undefined, 'no data: nothing to say')
  t.equal(describeRevert('0x12345678'), undefined, 'not one of ours')
})
