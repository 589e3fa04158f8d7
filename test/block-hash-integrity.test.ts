/**
 * Block hashes any Ethereum tool can verify, against a running dev node: for every block,
 * keccak256(rlp(the header fields eth_getBlockByNumber returns, in the standard Prague
 * order)) is its `hash` (the client suites' "block-hash-integrity" check, computed with
 * viem only), parent hashes link, debug_getRawHeader/Block decode with @ethereumjs/block
 * (a plain Prague Common, not povchain's) and ethers to the same hash, newHeads carries the
 * same fields, and BLOCKHASH inside the EVM — in eth_call and in executed transactions —
 * returns the hash the RPC shows.
 */
import t from 'tap'
import WebSocket from 'ws'
import { createBlockFromRLP, createBlockHeaderFromRLP } from '@ethereumjs/block'
import { createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common'
import { JsonRpcProvider, Wallet, decodeRlp, getBytes, keccak256 as ethersKeccak, toBeHex, zeroPadValue } from 'ethers'
import { fromRlp } from 'viem'
import { decodeExtraData } from '../chain/Header.js'
import { bytesToHex, hexToBytes } from '../common/bytes.js'
import { CHAIN_ID, DEV_KEYS, hex, rpc, startInProcessNode, waitFor } from './helpers/devnode.js'
import { blockHashFromJson, HEADER_JSON_FIELDS, headerRlpFromJson } from './helpers/headerJson.js'

type Json = Record<string, any>

const node = await startInProcessNode()
t.teardown(() => node.stop())
const url = node.httpUrl
const provider = new JsonRpcProvider(url, Number(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 })
t.teardown(() => provider.destroy())
const wallet = new Wallet(DEV_KEYS[2]!, provider)

// A standard Prague Common, as a third-party tool would build it. The "extraData ≤ 32 bytes
// after genesis" rule of Ethereum's beacon consensus is skipped: like Clique, Parlia and Bor,
// povchain carries its consensus fields in extraData (chain/README.md).
const pragueCommon = createCustomCommon({ chainId: Number(CHAIN_ID) }, Mainnet, { hardfork: Hardfork.Prague })
const ethjsOpts = { common: pragueCommon, skipConsensusFormatValidation: true, setHardfork: false } as const

/**
 * Runtime: with calldata, returns BLOCKHASH(calldata word); without, stores
 * BLOCKHASH(NUMBER - 1) at slot 0 (so the executed block's view is on the chain).
 *   CALLDATASIZE PUSH1 0x0d JUMPI  PUSH1 1 NUMBER SUB BLOCKHASH PUSH1 0 SSTORE STOP
 *   JUMPDEST PUSH1 0 CALLDATALOAD BLOCKHASH PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
 */
const RUNTIME = '36600d57600143034060005500' + '5b6000354060005260206000f3'
const INITCODE = '0x601a600c600039601a6000f3' + RUNTIME

let contract = ''
const storeBlocks: number[] = []

t.before(async () => {
  const deploy = await wallet.sendTransaction({ data: INITCODE })
  const r = await deploy.wait(1, 15_000)
  contract = r!.contractAddress!
  t.equal(await provider.getCode(contract), '0x' + RUNTIME, 'the BLOCKHASH probe is deployed')
  // A few blocks with transactions that read BLOCKHASH(parent) while they execute.
  for (let i = 0; i < 4; i++) {
    const tx = await wallet.sendTransaction({ to: contract, gasLimit: 60_000 })
    storeBlocks.push((await tx.wait(1, 15_000))!.blockNumber)
  }
})

async function block(n: number | string): Promise<Json> {
  return rpc<Json>(url, 'eth_getBlockByNumber', [typeof n === 'number' ? hex(n) : n, false])
}

t.test('keccak256(rlp(JSON header fields)) is the hash of every block, and parents link', async (t) => {
  const head = Number(await rpc<string>(url, 'eth_blockNumber'))
  t.ok(head >= 5, `head ${head}`)
  let prev: Json | undefined
  for (let n = 0; n <= head; n++) {
    const b = await block(n)
    for (const k of HEADER_JSON_FIELDS) t.ok(typeof b[k] === 'string', `block ${n} has ${k}`)
    t.equal(blockHashFromJson(b), b.hash, `block ${n}: keccak256(rlp(header fields)) = hash`)
    if (prev) t.equal(b.parentHash, prev.hash, `block ${n} links to ${n - 1}`)
    t.equal(b.sha3Uncles, '0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347')
    t.equal(b.difficulty, '0x0')
    t.equal(b.nonce, '0x0000000000000000')
    t.equal(b.withdrawalsRoot, '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421')
    t.same(b.withdrawals, [])
    t.equal(b.blobGasUsed, '0x0')
    t.equal(b.excessBlobGas, '0x0')
    t.equal(b.parentBeaconBlockRoot, '0x' + '00'.repeat(32))
    t.equal(b.requestsHash, '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    // The PoV fields are still there, decoded, and they are what extraData carries.
    const pov = decodeExtraData(hexToBytes(b.extraData))
    t.equal(b.producer, bytesToHex(pov.producer), `block ${n}: producer from extraData`)
    t.equal(BigInt(b.slot), pov.slot)
    t.equal(b.seal, bytesToHex(pov.seal))
    if (n > 0) t.equal(pov.seal.length, 65, `block ${n} is sealed`)
    prev = b
  }
})

t.test('debug_getRawHeader is the standard RLP: @ethereumjs/block, ethers and viem decode it to the same hash', async (t) => {
  const head = Number(await rpc<string>(url, 'eth_blockNumber'))
  for (const n of [0, 1, head - 1, head]) {
    const b = await block(n)
    const raw = await rpc<string>(url, 'debug_getRawHeader', [hex(n)])
    t.equal(raw, headerRlpFromJson(b), `block ${n}: the raw header is the RLP of the JSON fields`)
    t.equal(ethersKeccak(raw), b.hash)
    const eh = createBlockHeaderFromRLP(getBytes(raw), ethjsOpts)
    t.equal(bytesToHex(eh.hash()), b.hash, `block ${n}: @ethereumjs/block's hash`)
    t.equal(eh.number, BigInt(n))
    t.equal(bytesToHex(eh.parentHash), b.parentHash)
    t.equal(bytesToHex(eh.requestsHash!), b.requestsHash)
    t.equal(eh.blobGasUsed, 0n)
    t.equal((decodeRlp(raw) as string[]).length, 21, 'ethers: 21 items')
    t.equal((fromRlp(raw as `0x${string}`, 'hex') as string[])[12], b.extraData, 'viem: item 12 is extraData')
    const hdr = await rpc<Json>(url, 'eth_getHeaderByNumber', [hex(n)])
    t.equal(blockHashFromJson(hdr), b.hash, 'eth_getHeaderByNumber carries the same fields')
    t.same(await rpc<Json>(url, 'eth_getHeaderByHash', [b.hash]), hdr)
  }
  const n = storeBlocks[0]!
  const full = await rpc<Json>(url, 'eth_getBlockByNumber', [hex(n), false])
  const rawBlock = await rpc<string>(url, 'debug_getRawBlock', [hex(n)])
  const eb = createBlockFromRLP(getBytes(rawBlock), ethjsOpts)
  t.equal(bytesToHex(eb.hash()), full.hash, 'debug_getRawBlock decodes to the same block')
  t.same(eb.transactions.map((x) => bytesToHex(x.hash())), full.transactions)
  t.equal(BigInt(full.size), BigInt(getBytes(rawBlock).length), 'size is the length of the block RLP')
  t.ok(await eb.transactionsTrieIsValid(), 'its transactions root holds')
})

t.test('BLOCKHASH inside the EVM returns the RPC hash', async (t) => {
  // Executed transactions: each stored BLOCKHASH(parent) while its block was built.
  for (const n of storeBlocks) {
    const b = await block(n)
    const stored = await rpc<string>(url, 'eth_getStorageAt', [contract, '0x0', hex(n)])
    t.equal(stored, b.parentHash, `the transaction in block ${n} saw BLOCKHASH(${n - 1}) = its parentHash`)
  }
  // eth_call through ethers, pinned to the head: BLOCKHASH of the 256 blocks below it.
  const head = await provider.getBlockNumber()
  for (let n = Math.max(0, head - 6); n < head; n++) {
    const got = await provider.call({ to: contract, data: zeroPadValue(toBeHex(n), 32), blockTag: head })
    t.equal(got, (await block(n)).hash, `eth_call at ${head}: BLOCKHASH(${n})`)
  }
  const self = await provider.call({ to: contract, data: zeroPadValue(toBeHex(head), 32), blockTag: head })
  t.equal(self, '0x' + '00'.repeat(32), 'BLOCKHASH of the block itself is 0')
})

t.test('newHeads notifications carry the fields that hash to the block hash', async (t) => {
  const ws = new WebSocket(node.wsUrl)
  t.teardown(() => ws.close())
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  const heads: Json[] = []
  ws.on('message', (m) => {
    const msg = JSON.parse(String(m))
    if (msg.method === 'eth_subscription') heads.push(msg.params.result)
  })
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }))
  await new Promise((r) => setTimeout(r, 100))
  const tx = await wallet.sendTransaction({ to: contract, gasLimit: 60_000 })
  const r = await tx.wait(1, 15_000)
  const head = await waitFor(() => heads.find((h) => Number(h.number) === r!.blockNumber), 'the newHeads notification', 10_000)
  t.equal(head.hash, r!.blockHash)
  t.equal(blockHashFromJson(head), head.hash, 'keccak256(rlp(newHeads fields)) = hash')
  t.equal(head.requestsHash, '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
})
