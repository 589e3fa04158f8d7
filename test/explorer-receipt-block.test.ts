/**
 * The block that names a CLI job's receipt, in the explorer (headless Chromium, as
 * test/explorer.test.ts). `povchain node --dev --genesis FILE --worker` on the dev chain with
 * 4-slot epochs and a genesis validator of token weight (test/helpers/earnedWeightGenesis.ts): a
 * job submitted with `povchain job submit` is worked by a dev worker, verified by the other and
 * accepted; the worker bonds, enters the validator set and seals a block whose header names that
 * job and session (found by walking the exact blocks after the bond, never 'latest'). The
 * block's page shows the job, the session and the accepted receipt of its producer; its job link
 * leads to the job page, which shows that session accepted with the same worker; the session link
 * leads to the session page. No console errors. Screenshot: block-receipt.png.
 */
import t from 'tap'
import { join } from 'node:path'
import type { Locator } from 'playwright-core'
import { encodeFunctionData, parseAbi, type Hex } from 'viem'
import { VALIDATOR_SET_ADDRESS } from '../genesis/ValidatorSetGenesis.js'
import { ROOT, rpc, tempDir, waitFor } from './helpers/devnode.js'
import { cliJson } from './helpers/cliJson.js'
import { startEarnedWeightNode } from './helpers/earnedWeightGenesis.js'
import { chromiumMissing, launchExplorerBrowser, shotsDir } from './helpers/explorerBrowser.js'

const SPEC = join(ROOT, 'compute/examples/iris-train.json')
const ETHER = 10n ** 18n
const bondAbi = parseAbi(['function bond() payable'])

interface RpcHeader {
  number: string
  hash: string
  producer: string
  jobId: string
  sessionId: string
}
interface JobView {
  jobId: Hex
  status: string
  session: Hex
}
interface SessionView {
  sessionId: Hex
  status: string
  worker: string
}

const missing = chromiumMissing(t)
t.setTimeout(600_000) // a verified job (~2 min on a loaded 2-core machine), a bond, two epoch transitions, the browser

t.test('the block that names a CLI job\'s receipt shows it and links to the job, whose page shows the accepted session', { skip: missing ?? false }, async (t) => {
  const t0 = Date.now()
  const shots = shotsDir(t)
  const { dir, cleanup } = tempDir('povchain-explorer-receipt-')
  t.teardown(cleanup)
  const node = await startEarnedWeightNode(dir)
  t.teardown(() => node.stop())
  const url = node.httpUrl
  const base = `${url}/explorer/`
  const ui = await launchExplorerBrowser(t)
  const page = await ui.newPage()
  const text = (sel: string) => page.locator(sel).innerText({ timeout: 30_000 })
  // Link targets in lower case: the pages link addresses as the node spells them (checksummed or not).
  const hrefs = (l: Locator) => l.locator('a').evaluateAll((as) => as.map((a) => (a.getAttribute('href') ?? '').toLowerCase()))

  // The job, through the CLI; accepted on the chain (its status read at each new block).
  const { jobId } = (await cliJson(['job', 'submit', SPEC, '--rpc', url])) as { jobId: Hex }
  const job = await waitFor(async () => {
    const j = await rpc<JobView | null>(url, 'pov_getJob', [jobId])
    return j?.status === 'accepted' ? j : false
  }, 'the CLI job accepted', 240_000, 250)
  const session = await rpc<SessionView>(url, 'pov_getSession', [job.session])
  t.equal(session.status, 'accepted', `job ${jobId.slice(0, 10)}… accepted in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  const worker = session.worker.toLowerCase()

  // Its worker bonds (a dev account: unlocked) and, two epoch transitions later, leads slots.
  const bondTx = await rpc<Hex>(url, 'eth_sendTransaction', [{ from: worker, to: VALIDATOR_SET_ADDRESS, value: `0x${ETHER.toString(16)}`, data: encodeFunctionData({ abi: bondAbi, functionName: 'bond' }) }])
  const bonded = await waitFor(() => rpc<{ status: string; blockNumber: string } | null>(url, 'eth_getTransactionReceipt', [bondTx]), 'the bond mined', 60_000, 200)
  t.equal(bonded.status, '0x1', 'the worker bonded')

  // The first block after the bond that its worker sealed: each exact block in turn, as it comes.
  let own: RpcHeader | undefined
  const deadline = Date.now() + 120_000
  for (let n = BigInt(bonded.blockNumber) + 1n; !own; n++) {
    const h = await waitFor(() => rpc<RpcHeader | null>(url, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, false]), `block ${n}`, Math.max(1, deadline - Date.now()), 200)
    if (h.producer.toLowerCase() === worker) own = h
  }
  const number = BigInt(own.number)
  t.equal(own.jobId, jobId, `block ${number}, sealed by the worker, names the CLI job`)
  t.equal(own.sessionId, job.session, 'and its accepted session')
  const trace = await rpc<{ work: { receipt: { worker: string; accepted: boolean; genesis: boolean; recordedInBlock: string } } }>(url, 'pov_getBlockWork', [own.hash])
  t.match(trace.work.receipt, { accepted: true, genesis: false }, 'the node traces it to the earned receipt')

  // Its page: producer, job, session and the receipt, linked.
  await page.goto(`${base}#/block/${number}`)
  t.equal(await text('#block-job'), jobId, 'the block page shows the job its header names')
  t.equal(await text('#block-session'), job.session, 'and the session')
  t.equal(await page.locator('#block-session a').getAttribute('href'), `#/session/${job.session}`, 'linked to its session page')
  const receiptRow = page.locator('table.fields tr', { hasText: 'work receipt' })
  t.match(await receiptRow.innerText(), /accepted/, 'the receipt is shown accepted')
  t.same(await hrefs(receiptRow), [`#/address/${worker}`, `#/block/${BigInt(trace.work.receipt.recordedInBlock)}`], 'with its worker and the block that recorded it')
  t.same(await hrefs(page.locator('table.fields tr', { has: page.locator('th', { hasText: /^producer$/ }) })), [`#/address/${worker}`], 'the producer is the worker')
  await page.screenshot({ path: join(shots, 'block-receipt.png'), fullPage: true })

  // The job link: the job page, with that session accepted and worked by the producer.
  await page.locator('#block-job a').click()
  await page.waitForURL((u) => u.hash === `#/job/${jobId}`, { timeout: 30_000 })
  t.equal(await text('#job-status'), 'accepted', 'the job page from the block link: accepted')
  const card = page.locator('section.card', { has: page.locator(`h2 a[href="#/session/${job.session}"]`) })
  await card.waitFor({ timeout: 30_000 })
  t.equal(await card.locator('.session-status').innerText(), 'accepted', 'the session the block names is accepted on the job page')
  t.same(await hrefs(card.locator('table.fields tr', { has: page.locator('th', { hasText: /^worker$/ }) })), [`#/address/${worker}`], 'worked by the block\'s producer')
  await page.screenshot({ path: join(shots, 'job-from-block.png'), fullPage: true })

  // And the session link of the block page: the session page of the same job.
  await page.goBack()
  await page.waitForURL((u) => u.hash === `#/block/${number}`, { timeout: 30_000 })
  await page.locator('#block-session a').click()
  await page.waitForURL((u) => u.hash === `#/session/${job.session}`, { timeout: 30_000 })
  t.equal(await text('.session-status'), 'accepted', 'the session page from the block link')
  t.equal(await page.locator(`main a[href="#/job/${jobId}"]`).count(), 1, 'naming its job')

  t.same(ui.problems, [], 'no console errors')
  t.comment(`CLI job → worker's block ${number} → its page and links in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
})
