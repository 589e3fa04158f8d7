/**
 * The swap end to end, against Hardhat's node as the real source chain:
 * deploy an ERC-20, distribute it, snapshot (CLI), build a genesis with SwapBridge (CLI),
 * start povchain, claim (CLI with a keystore, and a plain ethers call), reject bad claims;
 * lock after the snapshot and relay with 3 attesters / threshold 2 — one killed and restarted
 * mid-way, a reorg inside the confirmation window and one below the relays' cursors —
 * pass the deadline, finalize (CLI), and account for every wei.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Contract, ContractFactory, hexlify, Interface, JsonRpcProvider, Wallet, type Log } from 'ethers'
import { getAddress, type Address, type Hex } from 'viem'
import { hexToBytes } from '../../common/bytes.js'
import { DEV_ASSET_REWARD_FUND } from '../../genesis/AssetRegistryGenesis.js'
import { loadContractArtifacts } from '../../genesis/ContractArtifacts.js'
import { DEV_VALIDATOR_BOND, DEV_VALIDATOR_REWARD_FUND } from '../../genesis/presets.js'
import { encryptKeystore, TEST_SCRYPT } from '../../accounts/index.js'
import { DEV_KEYS, rpc, startInProcessNode, tempDir, waitFor, type InProcessNode } from '../../test/helpers/devnode.js'
import { DEFAULT_SWAP_BRIDGE_ADDRESS } from '../BridgeGenesis.js'
import { SNAPSHOT_KIND, type SnapshotFile } from '../Snapshot.js'
import { SWAP_BRIDGE_ABI } from '../SwapBridgeAbi.js'
import { CLAIM_TYPES, SWAP_DOMAIN_NAME, SWAP_DOMAIN_VERSION } from '../SwapMessages.js'
import { runCli, startCli, startHardhat, type Child } from '../../test/helpers/bridgeProcesses.js'
import { chromiumMissing, launchExplorerBrowser, shotsDir, type ExplorerBrowser } from '../../test/helpers/explorerBrowser.js'

const E18 = 10n ** 18n
const POV_CHAIN_ID = 7777n
const DEADLINE = 40n
const LOCK_RESERVE = 500n * E18
const CONFIRMATIONS = 3
const BRIDGE = getAddress(DEFAULT_SWAP_BRIDGE_ADDRESS)

t.test('swap bridge end to end against a Hardhat source chain', { timeout: 240_000 }, async (t) => {
  const tmp = tempDir('povchain-bridge-e2e-')
  const children: Child[] = []
  let pov: InProcessNode | undefined
  t.teardown(async () => {
    for (const c of children) await c.kill('SIGKILL').catch(() => {})
    await pov?.stop().catch(() => {})
    tmp.cleanup()
  })
  const started = Date.now()
  const step = (what: string) => t.comment(`${((Date.now() - started) / 1000).toFixed(1)}s ${what}`)

  // ── source chain ───────────────────────────────────────────────────────────────────────
  const hh = await startHardhat()
  children.push(hh)
  step('hardhat node up')
  const src = new JsonRpcProvider(hh.url, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 })
  const hhRpc = <T>(method: string, params: unknown[] = []) => rpc<T>(hh.url, method, params)
  const deployer = new Wallet(DEV_KEYS[0]!, src)
  const artifacts = loadContractArtifacts()
  const deploy = async (name: string, args: unknown[] = []) => {
    const a = artifacts.get(name)!
    const c = await new ContractFactory(a.abi as never, hexlify(a.bytecode), deployer).deploy(...args)
    await c.waitForDeployment()
    return c as Contract
  }
  const token = await deploy('BridgeTestToken')
  const tokenAddr = getAddress(await token.getAddress())
  const holders = Array.from({ length: 4 }, () => Wallet.createRandom().connect(src))
  const [h1, h2, h3, h4] = holders as unknown as [Wallet, Wallet, Wallet, Wallet]
  await (await token.getFunction('mint')(deployer.address, 1000n * E18)).wait()
  for (const [w, v] of [[h1, 300n], [h2, 200n], [h3, 150n], [h4, 50n]] as const) await (await token.getFunction('transfer')(w.address, v * E18)).wait()
  await (await deployer.sendTransaction({ to: h1.address, value: E18 })).wait()
  await (await (token.connect(h1) as Contract).getFunction('transfer')(h3.address, 20n * E18)).wait()
  await (await (token.connect(h1) as Contract).getFunction('burn')(5n * E18)).wait()
  const snapshotBlock = BigInt(await src.getBlockNumber())
  const expected = new Map<string, bigint>([
    [deployer.address, 300n * E18],
    [h1.address, 275n * E18],
    [h2.address, 200n * E18],
    [h3.address, 170n * E18],
    [h4.address, 50n * E18],
  ])
  // Moves after the snapshot must not change it.
  await (await token.getFunction('transfer')(h4.address, 1n * E18)).wait()
  step(`token distributed, snapshot block ${snapshotBlock}`)

  // ── snapshot (CLI) ─────────────────────────────────────────────────────────────────────
  const snapFile = join(tmp.dir, 'snapshot.json')
  const out = await runCli(['bridge', 'snapshot', '--rpc', hh.url, '--token', tokenAddr, '--block', String(snapshotBlock), '--out', snapFile, '--range', '3'])
  t.match(out, /holders 5/)
  const snap = JSON.parse(readFileSync(snapFile, 'utf8')) as SnapshotFile
  t.equal(snap.kind, SNAPSHOT_KIND)
  t.same(new Map(snap.holders.map((h) => [h.address, BigInt(h.amount)])), expected, 'holders and balances at the snapshot block')
  const snapshotTotal = BigInt(snap.total)
  t.equal(snapshotTotal, 995n * E18)
  t.equal(snap.tokenTotalSupply, snapshotTotal.toString(), 'equals totalSupply() at the block')
  t.same(snap.contracts, [], 'no holder has code (eth_getCode at the snapshot block)')
  step('snapshot taken')

  // ── lock contract, genesis (CLI), povchain ─────────────────────────────────────────────
  // Lock window: a day of source time (the test needs minutes); refunds only after settlement.
  const srcNow = BigInt((await src.getBlock('latest'))!.timestamp)
  const lock = await deploy('SwapLock', [tokenAddr, srcNow + 86_400n, srcNow + 2n * 86_400n, LOCK_RESERVE, deployer.address])
  const lockAddr = getAddress(await lock.getAddress())
  const lockDeployBlock = await src.getBlockNumber()
  const attesterKeys = [0, 1, 2].map(() => Wallet.createRandom())
  const genesisFile = join(tmp.dir, 'genesis.json')
  const genesisOut = await runCli([
    'bridge', 'genesis', '--preset', 'dev', '--chain-id', String(POV_CHAIN_ID), '--snapshot', snapFile, '--source-rpc', hh.url,
    '--attesters', attesterKeys.map((k) => k.address).join(','), '--threshold', '2', '--deadline', String(DEADLINE),
    '--lock-contract', lockAddr, '--lock-reserve', `${LOCK_RESERVE}`, '--attester-balance', '1e18', '--out', genesisFile,
  ])
  t.match(genesisOut, new RegExp(`lock checked: cap ${LOCK_RESERVE}`), 'genesis checked the lock contract against the snapshot and the reserve')
  pov = await startInProcessNode({ cfg: { genesisFile } })
  const povUrl = pov.httpUrl
  const dst = new JsonRpcProvider(povUrl, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 })
  t.equal(BigInt((await dst.getNetwork()).chainId), POV_CHAIN_ID)
  const bridge = new Contract(BRIDGE, SWAP_BRIDGE_ABI as never, dst)
  t.equal(await dst.getBalance(BRIDGE), snapshotTotal + LOCK_RESERVE, 'SwapBridge holds exactly snapshot total + lock reserve')
  t.equal(await bridge.getFunction('merkleRoot')(), snap.root)
  const supplyAt = async (n: bigint | 'latest') => BigInt((await rpc<{ totalSupply: Hex }>(povUrl, 'pov_totalSupply', [typeof n === 'bigint' ? `0x${n.toString(16)}` : n])).totalSupply)
  const genesisSupply = await supplyAt(0n)
  // The dev preset's supply (accounts + system-contract funds + the genesis validator's bond) + 3 attesters × 1 coin + the bridge's.
  t.equal(genesisSupply, 20n * 10_000n * E18 + DEV_ASSET_REWARD_FUND + DEV_VALIDATOR_BOND + DEV_VALIDATOR_REWARD_FUND + 3n * E18 + snapshotTotal + LOCK_RESERVE, 'pov_totalSupply at genesis')
  step('povchain started from the bridge genesis')

  // ── claims ─────────────────────────────────────────────────────────────────────────────
  // h1 claims with the CLI and a keystore, to another recipient; a dev account pays the gas.
  const r1 = Wallet.createRandom().address
  const ks = join(tmp.dir, 'h1.json')
  writeFileSync(ks, JSON.stringify(await encryptKeystore(hexToBytes(h1.privateKey), 'pw', { scrypt: TEST_SCRYPT })))
  writeFileSync(join(tmp.dir, 'pw'), 'pw\n')
  writeFileSync(join(tmp.dir, 'gas.key'), DEV_KEYS[1]!)
  const claimOut = await runCli(['bridge', 'claim', '--rpc', povUrl, '--keystore', ks, '--password', join(tmp.dir, 'pw'), '--proof-file', snapFile, '--recipient', r1, '--gas-key-file', join(tmp.dir, 'gas.key')])
  t.match(claimOut, new RegExp(`claimed ${275n * E18}`))
  t.equal(await dst.getBalance(r1), 275n * E18, 'CLI claim paid the recipient')
  // h2 claims with plain ethers: eth_signTypedData-style signature, sent by any funded wallet.
  const payer = new Wallet(DEV_KEYS[2]!, dst)
  const domain = { name: SWAP_DOMAIN_NAME, version: SWAP_DOMAIN_VERSION, chainId: POV_CHAIN_ID, verifyingContract: BRIDGE }
  const proofOf = (a: string) => snap.holders.find((h) => h.address === a)!
  const p2 = proofOf(h2.address)
  const sig2 = await h2.signTypedData(domain, { Claim: [...CLAIM_TYPES.Claim] }, { holder: h2.address, recipient: h2.address, amount: p2.amount })
  const asPayer = bridge.connect(payer) as Contract
  await (await asPayer.getFunction('claim')(h2.address, h2.address, p2.amount, p2.proof, sig2)).wait()
  t.equal(await dst.getBalance(h2.address), 200n * E18, 'wallet claim paid the holder')
  // Clear reasons for what must fail.
  const revert = async (args: unknown[]) => {
    try {
      await asPayer.getFunction('claim').staticCall(...args)
      return 'no revert'
    } catch (e) {
      return String((e as { reason?: string }).reason ?? (e as Error).message)
    }
  }
  const p3 = proofOf(h3.address)
  const p4 = proofOf(h4.address)
  const sig3 = await h3.signTypedData(domain, { Claim: [...CLAIM_TYPES.Claim] }, { holder: h3.address, recipient: h3.address, amount: p3.amount })
  t.match(await revert([h2.address, h2.address, p2.amount, p2.proof, sig2]), /SwapBridge: already claimed/, 'double claim')
  t.match(await revert([h3.address, h3.address, p3.amount, p4.proof, sig3]), /SwapBridge: invalid proof/, 'wrong proof')
  t.match(await revert([h3.address, h3.address, p3.amount, p3.proof, await h4.signTypedData(domain, { Claim: [...CLAIM_TYPES.Claim] }, { holder: h3.address, recipient: h3.address, amount: p3.amount })]), /SwapBridge: invalid signature/, 'wrong signature')
  t.match(await revert([h3.address, r1, p3.amount, p3.proof, sig3]), /SwapBridge: invalid signature/, 'recipient not the one signed')
  step('claims done')

  // ── lock and relay ─────────────────────────────────────────────────────────────────────
  const relays: (Child | undefined)[] = []
  const startRelay = (i: number) => {
    const keyFile = join(tmp.dir, `attester${i}.key`)
    writeFileSync(keyFile, attesterKeys[i]!.privateKey)
    const c = startCli([
      'bridge', 'relay', '--source-rpc', hh.url, '--lock', lockAddr, '--rpc', povUrl, '--key-file', keyFile,
      '--state', join(tmp.dir, `relay${i}.json`), '--confirmations', String(CONFIRMATIONS), '--from-block', String(lockDeployBlock), '--poll-ms', '150',
    ])
    children.push(c)
    relays[i] = c
    return c
  }
  for (const i of [0, 1, 2]) startRelay(i)
  const relayCursor = (i: number) => {
    try {
      return (JSON.parse(readFileSync(join(tmp.dir, `relay${i}.json`), 'utf8')) as { cursor: { number: number; hash: string } | null }).cursor
    } catch {
      return null
    }
  }
  const buyer = Wallet.createRandom().connect(src)
  await (await deployer.sendTransaction({ to: buyer.address, value: E18 })).wait()
  await (await token.getFunction('transfer')(buyer.address, 200n * E18)).wait()
  const asBuyer = token.connect(buyer) as Contract
  const lockAsBuyer = lock.connect(buyer) as Contract
  await (await asBuyer.getFunction('approve')(lockAddr, 2n ** 256n - 1n)).wait()
  const recipients = Array.from({ length: 4 }, () => Wallet.createRandom().address)
  const doLock = async (to: string, amount: bigint) => (await lockAsBuyer.getFunction('lock')(to, amount)).wait()
  const mine = (n: number) => hhRpc('hardhat_mine', [`0x${n.toString(16)}`])
  const released = async (nonce: bigint) => Boolean(await bridge.getFunction('released')(nonce))

  await doLock(recipients[0]!, 40n * E18)
  t.notOk(await waitFor(() => released(0n), 'nothing', 800).catch(() => false), 'not relayed before the confirmations')
  await mine(CONFIRMATIONS)
  await waitFor(() => released(0n), 'lock 0 released', 60_000, 100)
  step('lock 0 released')

  // Attester 3 dies (SIGKILL); the other two still make the quorum.
  await relays[2]!.kill('SIGKILL')
  await doLock(recipients[1]!, 25n * E18)
  await mine(CONFIRMATIONS)
  await waitFor(() => released(1n), 'lock 1 released by two attesters', 60_000, 100)
  step('lock 1 released with attester 3 down')

  // A reorg inside the confirmation window: the lock of the dropped branch is never paid.
  const snapId = await hhRpc<string>('evm_snapshot')
  await doLock(recipients[2]!, 33n * E18)
  await mine(1)
  await new Promise((r) => setTimeout(r, 700))
  t.equal(await hhRpc('evm_revert', [snapId]), true)
  await doLock(recipients[3]!, 34n * E18) // the same nonce 2, other recipient and amount
  // Attester 3 comes back: it resumes from its saved cursor and must not attest what is released.
  startRelay(2)
  await mine(CONFIRMATIONS)
  await waitFor(() => released(2n), 'lock 2 released', 60_000, 100)
  step('lock 2 released after a shallow reorg; attester 3 restarted')

  // A reorg below the relays' cursors (deeper than the confirmations), on empty blocks.
  const base = await src.getBlockNumber()
  const deepId = await hhRpc<string>('evm_snapshot')
  await mine(8)
  await waitFor(() => [0, 1, 2].every((i) => (relayCursor(i)?.number ?? 0) >= base + 8 - CONFIRMATIONS), 'relays past the doomed blocks', 60_000, 100)
  t.equal(await hhRpc('evm_revert', [deepId]), true)
  await mine(10)
  const newHead = await src.getBlock(base + 10 - CONFIRMATIONS)
  await waitFor(() => [0, 1, 2].every((i) => relayCursor(i)?.hash === newHead!.hash), 'relays on the new branch', 60_000, 100)
  t.ok(relays.some((r) => /reorganised below the relay cursor/.test(r!.output())), 'the deep reorg was noticed and rescanned')
  // One more lock after all that, relayed once.
  await doLock(recipients[0]!, 7n * E18)
  await mine(CONFIRMATIONS)
  await waitFor(() => released(3n), 'lock 3 released', 60_000, 100)
  step('lock 3 released after a deep reorg')
  for (const r of relays) await r!.kill('SIGTERM')

  const totalLocked = BigInt(await lock.getFunction('totalLocked')())
  t.equal(totalLocked, (40n + 25n + 34n + 7n) * E18, 'canonical locks on the source')
  const logsOf = async (event: string) => {
    const iface = new Interface(SWAP_BRIDGE_ABI as never)
    const logs = await dst.getLogs({ address: BRIDGE, topics: [iface.getEvent(event)!.topicHash], fromBlock: 0, toBlock: 'latest' })
    return logs.map((l: Log) => iface.parseLog(l)!.args)
  }
  const attestedEv = await logsOf('Attested')
  const seen = new Set<string>()
  for (const a of attestedEv) {
    const k = `${a.nonce}:${a.attester}`
    t.notOk(seen.has(k), `attester ${a.attester} counted once for lock ${a.nonce}`)
    seen.add(k)
  }
  t.notOk(attestedEv.some((a) => a.nonce === 1n && a.attester === attesterKeys[2]!.address), 'the dead attester never attested lock 1')
  const releasedEv = await logsOf('Released')
  t.same(releasedEv.map((r) => Number(r.nonce)).sort(), [0, 1, 2, 3], 'each lock released once')
  t.equal(await dst.getBalance(recipients[0]!), 47n * E18)
  t.equal(await dst.getBalance(recipients[1]!), 25n * E18)
  t.equal(await dst.getBalance(recipients[2]!), 0n, 'the reorged-out lock paid nothing')
  t.equal(await dst.getBalance(recipients[3]!), 34n * E18)

  // ── the explorer's bridge page, while the swap is open (headless Chromium) ───────────────
  const noBrowser = chromiumMissing(t)
  let ui: ExplorerBrowser | undefined
  const bridgePage = async (shot: string) => {
    ui ??= await launchExplorerBrowser(t)
    const page = await ui.newPage()
    await page.goto(`${povUrl}/explorer/`)
    await page.locator('nav a[href="#/bridge"]').click()
    await page.locator('#bridge-state').waitFor({ timeout: 30_000 })
    await page.screenshot({ path: join(shotsDir(t), shot), fullPage: true })
    return page
  }
  if (noBrowser) t.comment(`explorer bridge page not checked: ${noBrowser}`)
  else {
    const page = await bridgePage('bridge-open.png')
    t.equal(await page.locator('#bridge-state').innerText(), 'open', 'the explorer: the swap is open')
    t.match(await page.locator('#bridge-deadline').innerText(), new RegExp(`block ${DEADLINE} \\(\\d+ blocks from now\\)`), 'the explorer: blocks left before the deadline')
    t.match(await page.locator('#bridge-claimed').innerText(), new RegExp(`^475 POV of ${snapshotTotal / E18} POV`), 'the explorer: claimed of the snapshot')
    t.match(await page.locator('#bridge-released').innerText(), new RegExp(`^${totalLocked / E18} POV of ${LOCK_RESERVE / E18} POV`), 'the explorer: released of the lock reserve')
    t.equal(await page.locator('#bridge-attesters tbody tr').count(), 3, 'the explorer: the three attesters')
    await page.close()
  }

  // ── deadline and finalize ──────────────────────────────────────────────────────────────
  t.ok(BigInt(await dst.getBlockNumber()) < DEADLINE, 'everything above happened before the deadline')
  const filler = new Wallet(DEV_KEYS[3]!, dst)
  // eth_call and estimateGas run on the head block: past the deadline means head > deadline.
  while (BigInt(await dst.getBlockNumber()) <= DEADLINE) await (await filler.sendTransaction({ to: filler.address, value: 0n })).wait()
  t.match(await revert([h3.address, h3.address, p3.amount, p3.proof, sig3]), /SwapBridge: swap closed/, 'claim after the deadline')
  writeFileSync(join(tmp.dir, 'fin.key'), DEV_KEYS[4]!)
  const fin = JSON.parse(await runCli(['bridge', 'finalize', '--rpc', povUrl, '--key-file', join(tmp.dir, 'fin.key'), '--json'])) as Record<string, string | boolean>
  t.equal(fin.explained, true, 'supply decrease = burned + the block’s base fees')
  const finalizedEv = (await logsOf('Finalized'))[0]!
  const claimedEv = await logsOf('Claimed')
  const claimed = claimedEv.reduce((s, c) => s + BigInt(c.amount), 0n)
  const releasedSum = releasedEv.reduce((s, r) => s + BigInt(r.amount), 0n)
  const burned = BigInt(finalizedEv.burned)
  t.equal(BigInt(fin.burned as string), burned)
  t.equal(BigInt(fin.totalSupplyBefore as string) - BigInt(fin.totalSupplyAfter as string) - BigInt(fin.baseFeeBurnedInBlock as string), burned)
  t.equal(await dst.getBalance(BRIDGE), 0n)
  // The accounting, to the wei.
  t.equal(claimed, 475n * E18)
  t.equal(releasedSum, totalLocked, 'released = locked on the source')
  t.equal(BigInt(finalizedEv.unclaimed), snapshotTotal - claimed)
  t.equal(claimed + releasedSum + BigInt(finalizedEv.unclaimed), snapshotTotal + totalLocked, 'minted + burned (unclaimed) = snapshot total + locked')
  t.equal(claimed + releasedSum + burned, snapshotTotal + LOCK_RESERVE, 'and the unused lock reserve is burned too')
  t.equal(new Set(claimedEv.map((c) => c.holder)).size, claimedEv.length, 'no holder paid twice')
  // Total supply now = genesis − every base fee burned − the bridge burn.
  const head = BigInt(await dst.getBlockNumber())
  let fees = 0n
  for (let n = 1n; n <= head; n++) {
    const b = (await dst.getBlock(n))!
    fees += b.baseFeePerGas! * b.gasUsed
  }
  t.equal(await supplyAt(head), genesisSupply - fees - burned, 'total supply: genesis − base fees − burned, to the wei')
  const status = JSON.parse(await runCli(['bridge', 'status', '--rpc', povUrl, '--json'])) as Record<string, unknown>
  t.equal(status.finalized, true)
  t.equal(status.totalSupply, (genesisSupply - fees - burned).toString())
  if (!noBrowser) {
    const page = await bridgePage('bridge-finalized.png')
    t.equal(await page.locator('#bridge-state').innerText(), 'finalized', 'the explorer: finalized')
    t.equal(await page.locator('#bridge-balance').innerText(), '0 POV', 'the explorer: the bridge holds nothing')
    t.equal(await page.locator('#bridge-payments tbody tr').count(), claimedEv.length + releasedEv.length, 'the explorer: every claim and release listed')
    t.same(ui!.problems, [], 'the explorer: no console errors')
  }
  step('finalized and accounted')
})
