/**
 * The explorer in Firefox: Debian's `firefox-esr`, headless, driven by puppeteer-core over
 * WebDriver BiDi (playwright-core drives only its own patched Firefox builds). Against a plain
 * `povchain node --dev`: a transfer shows on its transaction page and on both addresses' pages;
 * an ERC-20 transfer shows in the receiver's token transfers and token balances (1.5 TKN);
 * the home page goes live over the WebSocket and shows the new head; the block, validators,
 * jobs and assets pages render; search finds a block number and a transaction hash; every page
 * fits a 390 px wide screen; no page logs a console error or throws. Screenshots go to the
 * folder the test prints, with a `firefox-` prefix. test/explorer.test.ts covers the same pages
 * (and the work behind them) in Chromium.
 *
 * Without Firefox (/usr/bin/firefox-esr, or POVCHAIN_FIREFOX) the test skips and says why
 * (fails with POVCHAIN_REQUIRE_FIREFOX=1, as in CI).
 */
import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'puppeteer-core'
import { ROOT, rpc, startNodeProcess, tempDir, waitFor } from './helpers/devnode.js'
import { shotsDir } from './helpers/explorerBrowser.js'
import { compileSolidity } from './helpers/solidity.js'
import { encodeFunctionData, parseAbi } from 'viem'
import { execFileSync } from 'node:child_process'

const FIREFOX = process.env.POVCHAIN_FIREFOX ?? '/usr/bin/firefox-esr'

t.setTimeout(300_000)

function firefoxMissing(): string | undefined {
  const missing = existsSync(FIREFOX) ? undefined : `no Firefox at ${FIREFOX} (apt-get install firefox-esr, or set POVCHAIN_FIREFOX)`
  if (missing && process.env.POVCHAIN_REQUIRE_FIREFOX === '1') t.fail(`${missing}; POVCHAIN_REQUIRE_FIREFOX=1 (CI) requires it`)
  return missing
}

const missing = firefoxMissing()

t.test('the explorer works in Firefox (WebDriver BiDi): pages, live head, search, phone width, no console errors', { skip: missing ?? false }, async (t) => {
  const shots = shotsDir(t)
  if (!existsSync(join(ROOT, 'dist/explorer/site/index.html'))) execFileSync(process.execPath, [join(ROOT, 'explorer/build.mjs')], { stdio: 'inherit' })
  const { dir, cleanup } = tempDir('povchain-explorer-ff-')
  t.teardown(cleanup)
  const node = await startNodeProcess({ datadir: join(dir, 'node'), timeoutMs: 120_000 })
  t.teardown(() => node.stop())
  const url = node.httpUrl
  const base = `${url}/explorer/`

  const puppeteer = (await import('puppeteer-core')).default
  const browser: Browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    // A profile of its own in the test's temp dir: nothing from the machine's user leaks in.
    userDataDir: join(dir, 'firefox-profile'),
  })
  t.teardown(() => browser.close())
  t.comment(`browser: ${await browser.version()}`)
  const problems: string[] = []
  const newPage = async (width = 1280, height = 900): Promise<Page> => {
    const page = await browser.newPage()
    await page.setViewport({ width, height })
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`)
    })
    page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message ?? String(e)}`))
    return page
  }
  const page = await newPage()
  const text = async (sel: string) => (await page.waitForSelector(sel, { timeout: 30_000 }))!.evaluate((el) => (el as unknown as { innerText: string }).innerText)
  const goto = async (hash: string) => {
    await page.goto(`${base}${hash}`)
    // A hash change in the same document does not reload: wait for the route's content.
  }

  // Home through the node's redirect, then live over the WebSocket.
  await page.goto(`${url}/`)
  t.equal(new URL(page.url()).pathname, '/explorer/', 'GET / redirects a browser to the explorer')
  await page.waitForSelector('#home-stats', { timeout: 30_000 })
  await page.waitForFunction("[...document.querySelectorAll('header *')].some((e) => e.innerText?.trim() === 'live')", { timeout: 15_000 })
  t.pass('the home page is live (WebSocket subscription)')

  // A transfer: the head moves on the open home page without a reload, and the transfer shows.
  const accounts = await rpc<string[]>(url, 'eth_accounts')
  const from = accounts[0]!
  const other = '0x00000000000000000000000000000000000f1ef0'
  const txHash = await rpc<string>(url, 'eth_sendTransaction', [{ from, to: other, value: '0xde0b6b3a7640000' }])
  const rc = await waitFor(() => rpc<{ blockNumber: string; status: string } | null>(url, 'eth_getTransactionReceipt', [txHash]), 'the transfer mined', 30_000, 100)
  const minedIn = BigInt(rc.blockNumber)
  await page.waitForSelector(`#recent-blocks a[href="#/block/${minedIn}"]`, { timeout: 30_000 })
  t.pass(`block ${minedIn} appeared on the open home page, live`)
  await page.screenshot({ path: join(shots, 'firefox-home.png'), fullPage: true })

  await goto(`#/tx/${txHash}`)
  t.equal(await text('#tx-status'), 'success', 'the transaction page')
  await page.screenshot({ path: join(shots, 'firefox-transaction.png'), fullPage: true })
  for (const a of [from, other]) {
    await goto(`#/address/${a}`)
    await page.waitForSelector(`#addr-txs a[href="#/tx/${txHash}"]`, { timeout: 30_000 })
    t.pass(`the transfer is listed on ${a}`)
  }
  t.match(await text('#addr-balance'), /^1 POV$/, 'the receiver holds 1 coin')
  await page.screenshot({ path: join(shots, 'firefox-address.png'), fullPage: true })

  // An ERC-20 (deployed here): the receiver's page lists the Transfer log and its balance, by symbol and decimals.
  const token = compileSolidity({ 'Tkn.sol': TOKEN_SOL }).Tkn!
  const deployTx = await rpc<string>(url, 'eth_sendTransaction', [{ from, data: token.bytecode, gas: '0x200000' }])
  const deployed = await waitFor(() => rpc<{ contractAddress: string; status: string } | null>(url, 'eth_getTransactionReceipt', [deployTx]), 'the token deployed', 30_000, 100)
  t.equal(deployed.status, '0x1', 'the token deployed')
  const send = encodeFunctionData({ abi: parseAbi(['function transfer(address to, uint256 amount) returns (bool)']), functionName: 'transfer', args: [other, 15n * 10n ** 17n] })
  const tokenTx = await rpc<string>(url, 'eth_sendTransaction', [{ from, to: deployed.contractAddress, data: send, gas: '0x100000' }])
  await waitFor(() => rpc<{ status: string } | null>(url, 'eth_getTransactionReceipt', [tokenTx]), 'the token transfer mined', 30_000, 100)
  await goto(`#/address/${other}`)
  await page.reload() // the same hash as before: the (not live) address page loads again
  await page.waitForSelector(`#addr-transfers a[href="#/tx/${tokenTx}"]`, { timeout: 30_000 })
  t.pass('the token transfer is listed on the receiver')
  t.match(await text('#addr-tokens tbody tr'), /TKN[\s\S]*1\.5 TKN/, 'the receiver holds 1.5 TKN (balanceOf, symbol, decimals)')
  await page.screenshot({ path: join(shots, 'firefox-address-token.png'), fullPage: true })
  // The node has no ABI for this contract: its input and log are decoded with the ERC-20 standard's.
  await goto(`#/tx/${tokenTx}`)
  await page.waitForSelector('#tx-call', { timeout: 30_000 })
  t.match(await text('#tx-call'), /ERC-20\.transfer[\s\S]*to[\s\S]*value[\s\S]*1500000000000000000/, 'the token transfer\'s input is decoded by the ERC-20 standard ABI')
  t.match(await text('main'), /Transfer[\s\S]*from[\s\S]*value[\s\S]*1500000000000000000/, 'its Transfer log is decoded')

  await goto(`#/block/${minedIn}`)
  await page.waitForSelector('#block-finality', { timeout: 30_000 })
  await page.waitForSelector(`a[href="#/tx/${txHash}"]`, { timeout: 30_000 })
  t.pass('the block page lists the transfer')
  await page.screenshot({ path: join(shots, 'firefox-block.png'), fullPage: true })

  await goto('#/validators')
  await page.waitForSelector('#validators tbody tr', { timeout: 30_000 })
  await goto('#/jobs')
  await page.waitForSelector('#jobs-list, #jobs-list-empty', { timeout: 30_000 }) // a plain dev node has posted no job
  await goto('#/assets')
  await page.waitForSelector('#assets', { timeout: 30_000 })
  t.pass('validators, jobs and assets pages render')

  // Search: a block number and a transaction hash.
  for (const [q, hash] of [[String(minedIn), `#/block/${minedIn}`], [txHash, `#/tx/${txHash}`]] as const) {
    await goto('')
    const input = (await page.waitForSelector('#search input', { timeout: 30_000 }))!
    await input.type(q)
    await page.click('#search button')
    await page.waitForFunction(`location.hash === ${JSON.stringify(hash)}`, { timeout: 30_000 })
    t.pass(`search ${q.slice(0, 12)}… → ${hash.slice(0, 20)}`)
  }

  // A phone-width screen: every page fits its width.
  const phone = await newPage(390, 844)
  for (const h of ['', `#/block/${minedIn}`, `#/tx/${txHash}`, `#/address/${from}`, '#/validators', '#/jobs', '#/assets']) {
    await phone.goto(`${base}${h}`)
    await phone.waitForSelector('main .card, main .stats', { timeout: 30_000 })
    const overflow = (await phone.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number
    t.ok(overflow <= 0, `${h || 'home'} fits a 390 px screen (overflow ${overflow} px)`)
  }
  await phone.goto(base)
  await phone.waitForSelector('#recent-blocks', { timeout: 30_000 })
  await phone.screenshot({ path: join(shots, 'firefox-home-phone.png'), fullPage: true })

  t.same(problems, [], 'no console errors or uncaught exceptions on any page')
})

/** A minimal ERC-20 (18 decimals, symbol TKN): the deployer holds the supply. */
const TOKEN_SOL = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract Tkn {
  string public constant symbol = "TKN";
  uint8 public constant decimals = 18;
  mapping(address => uint256) public balanceOf;
  event Transfer(address indexed from, address indexed to, uint256 value);
  constructor() { balanceOf[msg.sender] = 1e24; emit Transfer(address(0), msg.sender, 1e24); }
  function transfer(address to, uint256 amount) external returns (bool) {
    balanceOf[msg.sender] -= amount;
    balanceOf[to] += amount;
    emit Transfer(msg.sender, to, amount);
    return true;
  }
}
`
