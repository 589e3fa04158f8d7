/**
 * EIP-7702 set-code transactions from viem (`signAuthorization` + `sendTransaction`) against a
 * dev node, as on Prague mainnet: the authorization is applied (eth_getCode shows
 * 0xef0100 ‖ delegate), the delegated code runs in the account's context, a sponsor can send
 * someone else's authorization, and delegating to the zero address clears it.
 */
import t from 'tap'
import { createPublicClient, createWalletClient, defineChain, http, pad, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { CHAIN_ID, DEV_KEYS, startInProcessNode } from './helpers/devnode.js'

const node = await startInProcessNode()
t.teardown(() => node.stop())

const chain = defineChain({
  id: Number(CHAIN_ID),
  name: 'povchain dev',
  nativeCurrency: { name: 'Pov', symbol: 'POV', decimals: 18 },
  rpcUrls: { default: { http: [node.httpUrl] } },
})
const pub = createPublicClient({ chain, transport: http(node.httpUrl), pollingInterval: 50 })
const wallet = (key: Hex) => createWalletClient({ account: privateKeyToAccount(key), chain, transport: http(node.httpUrl) })

/** The delegate: its code stores CALLER at slot 0 of whatever account runs it (CALLER PUSH1 0 SSTORE STOP). */
const RUNTIME = '0x3360005500'
const sponsor = wallet(DEV_KEYS[6] as Hex)
let delegate: Hex

t.before(async () => {
  const hash = await sponsor.sendTransaction({ data: `0x6005600c60003960056000f3${RUNTIME.slice(2)}` })
  const r = await pub.waitForTransactionReceipt({ hash, timeout: 15_000 })
  delegate = r.contractAddress!
  t.equal(await pub.getCode({ address: delegate }), RUNTIME)
})

t.test('an account delegates to a contract and runs its code in one self-sent type-4 transaction', async (t) => {
  const eoa = wallet(DEV_KEYS[7] as Hex)
  const me = eoa.account.address
  const authorization = await eoa.signAuthorization({ contractAddress: delegate, executor: 'self' })
  const hash = await eoa.sendTransaction({ authorizationList: [authorization], to: me, data: '0x' })
  const r = await pub.waitForTransactionReceipt({ hash, timeout: 15_000 })
  t.equal(r.status, 'success')
  t.equal(r.type, 'eip7702', 'receipt type')
  t.equal(await pub.getCode({ address: me }), `0xef0100${delegate.slice(2).toLowerCase()}`, 'eth_getCode shows the delegation')
  t.equal(await pub.getStorageAt({ address: me, slot: '0x0' }), pad(me.toLowerCase() as Hex), 'the delegated code ran in the account (it stored its caller)')
  const tx = await pub.getTransaction({ hash })
  t.equal(tx.type, 'eip7702')
  t.equal(tx.authorizationList?.length, 1)
  t.equal(tx.authorizationList![0]!.address.toLowerCase(), delegate.toLowerCase())
  t.equal(tx.authorizationList![0]!.nonce, authorization.nonce)
  t.equal(await pub.getTransactionCount({ address: me }), 2, 'the transaction and the authorization each used a nonce')
})

t.test('a sponsor sends another account’s authorization; calls to the account then run the delegate', async (t) => {
  const user = privateKeyToAccount(generatePrivateKey())
  const authorization = await createWalletClient({ account: user, chain, transport: http(node.httpUrl) }).signAuthorization({ contractAddress: delegate })
  const estimate = await pub.estimateGas({ account: sponsor.account, authorizationList: [authorization], to: user.address, data: '0x' })
  t.ok(estimate > 21_000n, `eth_estimateGas with an authorization list: ${estimate}`)
  const hash = await sponsor.sendTransaction({ authorizationList: [authorization], to: user.address, data: '0x' })
  const r = await pub.waitForTransactionReceipt({ hash, timeout: 15_000 })
  t.equal(r.status, 'success')
  t.equal(await pub.getCode({ address: user.address }), `0xef0100${delegate.slice(2).toLowerCase()}`)
  t.equal(await pub.getStorageAt({ address: user.address, slot: '0x0' }), pad(sponsor.account.address.toLowerCase() as Hex), 'ran with the sponsor as caller')
  t.equal(await pub.getTransactionCount({ address: user.address }), 1, 'the authorization bumped the user’s nonce')
  // eth_call into the delegated account runs the delegate too (the store is rolled back).
  const call = await pub.call({ account: privateKeyToAccount(DEV_KEYS[8] as Hex), to: user.address, data: '0x' })
  t.equal(call.data, undefined, 'eth_call into it succeeds (the delegate returns nothing)')

  // Delegating to the zero address clears the code again.
  const clear = await createWalletClient({ account: user, chain, transport: http(node.httpUrl) }).signAuthorization({
    contractAddress: '0x0000000000000000000000000000000000000000',
  })
  const h2 = await sponsor.sendTransaction({ authorizationList: [clear], to: sponsor.account.address, value: 0n })
  t.equal((await pub.waitForTransactionReceipt({ hash: h2, timeout: 15_000 })).status, 'success')
  t.equal(await pub.getCode({ address: user.address }), undefined, 'no code after delegating to 0x0')
})
