import t from 'tap'
import { encodeErrorResult } from 'viem'
import { describeRevert, marketAbi } from '../client/WorkMarketReader.js'

t.test('a WorkMarket revert is decoded by name, with its enum arguments said in words', async (t) => {
  const enc = (errorName: string, args: unknown[]) => encodeErrorResult({ abi: marketAbi(), errorName, args } as never)
  t.equal(describeRevert(enc('WrongJobStatus', [4])), 'WorkMarket: WrongJobStatus(4) — the job is refunded: it was refunded; nothing more can be done with it')
  t.match(describeRevert(enc('WrongJobStatus', [3])), /WrongJobStatus\(3\) — the job is accepted: it is finished and paid/)
  t.match(describeRevert(enc('WrongJobStatus', [0])), /there is no such job/)
  t.match(describeRevert(enc('WrongSessionStatus', [5])), /WrongSessionStatus\(5\) — the session is expired/)
  t.equal(describeRevert('0x'), undefined, 'no data: nothing to say')
  t.equal(describeRevert('0x12345678'), undefined, 'not one of ours')
})
