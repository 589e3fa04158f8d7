import t from 'tap'
import { bytesToHex, concatBytes, hexToBytes } from '../../common/bytes.js'
import { EMPTY_UNCLE_HASH } from '../../chain/keccak.js'
import { addressOf, keyOf, makeTx } from './FixtureBackend.js'
import { startHarness } from './helpers.js'
import { createBlockFromRLP, createBlockHeaderFromRLP } from '@ethereumjs/block'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { blockHashFromJson } from '../../test/helpers/headerJson.js'

const A = '0x' + '11'.repeat(20)
const TOPIC = '0x' + 'ee'.repeat(32)

t.test('eth_ methods over HTTP', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const b = h.backend
  const txs = [makeTx('legacy', 0), makeTx('2930', 1), makeTx('1559', 2), makeTx('7702', 3)]
  const log = { address: hexToBytes(A), topics: [hexToBytes(TOPIC)], data: Uint8Array.of(9) }
  const block1 = b.addBlock({ txs, logs: [[log, log], [], [log], []] })
  const sender = bytesToHex(addressOf(keyOf(0)))

  t.test('simple values', async (t) => {
    t.equal(await h.result('web3_clientVersion'), 'povchain/test')
    t.equal(await h.result('web3_sha3', ['0x68656c6c6f20776f726c64']), '0x47173285a8d7341e5e972fc677286384f802f8ef42a5ec5f03bbfa254cb01fad')
    t.equal(await h.result('net_version'), '31337')
    t.equal(await h.result('net_listening'), true)
    t.equal(await h.result('net_peerCount'), '0x3')
    t.equal(await h.result('eth_chainId'), '0x7a69')
    t.equal(await h.result('eth_blockNumber'), '0x1')
    t.equal(await h.result('eth_syncing'), false)
    t.equal(await h.result('eth_coinbase'), '0x' + 'c0'.repeat(20))
    t.same(await h.result('eth_accounts'), [sender])
    t.equal(await h.result('eth_gasPrice'), '0x77359400')
    t.equal(await h.result('eth_maxPriorityFeePerGas'), '0x3b9aca00')
    b.balances.set(A, 10n ** 18n)
    t.equal(await h.result('eth_getBalance', [A, 'latest']), '0xde0b6b3a7640000')
    t.equal(await h.result('eth_getBalance', [A]), '0xde0b6b3a7640000', 'block defaults to latest')
    t.equal(await h.result('eth_getTransactionCount', [A, 'pending']), '0x7')
    t.equal(await h.result('eth_getTransactionCount', [A, 'latest']), '0x5')
    t.equal(await h.result('eth_getCode', [A, 'latest']), '0x6000')
    t.equal(await h.result('eth_getStorageAt', [A, '0x5', 'latest']), '0x' + '00'.repeat(31) + '05')
    const missing = await h.call('eth_getBalance', [A, { blockHash: '0x' + '99'.repeat(32) }])
    t.same(missing.error, { code: -32000, message: 'header not found' })
  })

  t.test('eth_feeHistory', async (t) => {
    const fh = await h.result('eth_feeHistory', ['0x2', 'latest', [25, 75]])
    t.same(fh, { oldestBlock: '0x1', baseFeePerGas: ['0x3b9aca00', '0x3b9aca00', '0x3b9aca00'], gasUsedRatio: [0.5, 0.5], reward: [['0x1', '0x1'], ['0x1', '0x1']] })
    t.equal(b.lastFeeHistory!.count, 2)
    await h.result('eth_feeHistory', [4, 'latest', []])
    t.equal(b.lastFeeHistory!.count, 4, 'decimal block count accepted as Geth does')
    t.equal((await h.call('eth_feeHistory', ['0x2', 'latest', [75, 25]])).error?.code, -32602)
    t.equal((await h.call('eth_feeHistory', ['0x2', 'latest', [101]])).error?.code, -32602)
  })

  t.test('block objects carry standard and Proof-of-Value fields', async (t) => {
    const blk = await h.result('eth_getBlockByNumber', ['0x1', false])
    for (const k of [
      'hash', 'parentHash', 'sha3Uncles', 'miner', 'stateRoot', 'transactionsRoot', 'receiptsRoot', 'logsBloom', 'difficulty', 'number', 'gasLimit',
      'gasUsed', 'timestamp', 'extraData', 'mixHash', 'nonce', 'baseFeePerGas', 'size', 'uncles', 'transactions', 'withdrawals', 'withdrawalsRoot',
      'totalDifficulty', 'slot', 'producer', 'jobId', 'sessionId', 'workloadId', 'vrfOutput', 'vrfProof', 'attestations', 'seal',
      'blobGasUsed', 'excessBlobGas', 'parentBeaconBlockRoot', 'requestsHash', 'vanity',
    ])
      t.ok(k in blk, k)
    t.equal(blk.hash, bytesToHex(block1.hash()))
    t.equal(blockHashFromJson(blk), blk.hash, 'keccak256(rlp(the Prague header fields of the JSON)) is the hash')
    t.equal(blk.blobGasUsed, '0x0')
    t.equal(blk.excessBlobGas, '0x0')
    t.equal(blk.parentBeaconBlockRoot, '0x' + '00'.repeat(32))
    t.equal(blk.requestsHash, '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    t.equal(blk.withdrawalsRoot, '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421')
    t.same(blk.withdrawals, [])
    t.equal(blk.extraData, bytesToHex(block1.header.extraData), 'extraData: the raw bytes that are hashed')
    t.ok(blk.extraData.endsWith(bytesToHex(block1.header.seal).slice(2)), 'which end with the seal')
    t.equal(blk.vanity, '0x00')
    const { transactions: _t, uncles: _u, withdrawals: _w, size: _s, totalDifficulty: _d, ...headerPart } = blk
    t.same(await h.result('eth_getHeaderByNumber', ['0x1']), headerPart, 'eth_getHeaderByNumber: the header fields of the block')
    t.same(await h.result('eth_getHeaderByHash', [blk.hash]), headerPart, 'eth_getHeaderByHash')
    t.equal(await h.result('eth_getHeaderByNumber', ['0x99']), null)
    t.equal(await h.result('eth_getHeaderByHash', ['0x' + '99'.repeat(32)]), null)
    t.equal(blk.sha3Uncles, bytesToHex(EMPTY_UNCLE_HASH))
    t.equal(blk.nonce, '0x0000000000000000')
    t.equal(blk.difficulty, '0x0')
    t.equal(blk.miner, '0x' + 'c0'.repeat(20))
    t.equal(blk.slot, '0x3')
    t.equal(blk.producer, '0x' + '50'.repeat(20))
    t.equal(blk.vrfProof, '0x' + '05'.repeat(80))
    t.equal(blk.attestations.length, 1)
    t.same(Object.keys(blk.attestations[0]), ['sourceHash', 'sourceHeight', 'targetHash', 'targetHeight', 'validator', 'signature'])
    t.equal(blk.attestations[0].targetHash, blk.parentHash, 'the vote in block 1 targets its parent')
    t.equal(blk.attestations[0].targetHeight, '0x0')
    t.equal(blk.size, '0x' + block1.encode().length.toString(16))
    t.same(blk.transactions, txs.map((x) => bytesToHex(x.hash())))
    t.same(blk.uncles, [])
    t.same(await h.result('eth_getBlockByHash', [blk.hash, false]), blk)
    t.same(await h.result('eth_getBlockByNumber', ['latest', false]), blk)
    t.equal((await h.result('eth_getBlockByNumber', ['earliest', false])).number, '0x0')
    t.equal(await h.result('eth_getBlockByNumber', ['0x99', false]), null)
    t.equal(await h.result('eth_getBlockByHash', ['0x' + '99'.repeat(32), true]), null)
    t.equal(await h.result('eth_getBlockTransactionCountByNumber', ['0x1']), '0x4')
    t.equal(await h.result('eth_getBlockTransactionCountByHash', [blk.hash]), '0x4')
    t.equal(await h.result('eth_getBlockTransactionCountByNumber', ['0x9']), null)
    t.equal(await h.result('eth_getUncleCountByBlockNumber', ['0x1']), '0x0')
    t.equal(await h.result('eth_getUncleCountByBlockHash', [blk.hash]), '0x0')
    t.equal((await h.call('eth_getBlockByNumber', ['0x1', 'yes'])).error?.code, -32602)
  })

  t.test('debug_getRawHeader / debug_getRawBlock: standard RLP that @ethereumjs/block decodes', async (t) => {
    const common = createChainCommon(31337n)
    const opts = { common, skipConsensusFormatValidation: true, setHardfork: false }
    const rawHeader = await h.result('debug_getRawHeader', ['0x1'])
    t.equal(rawHeader, bytesToHex(block1.header.encode()))
    const eh = createBlockHeaderFromRLP(hexToBytes(rawHeader), opts)
    t.equal(bytesToHex(eh.hash()), bytesToHex(block1.hash()), 'same hash')
    t.equal(eh.number, 1n)
    t.equal(bytesToHex(eh.extraData), bytesToHex(block1.header.extraData))
    const rawBlock = await h.result('debug_getRawBlock', ['0x1'])
    const eb = createBlockFromRLP(hexToBytes(rawBlock), opts)
    t.equal(bytesToHex(eb.hash()), bytesToHex(block1.hash()))
    t.same(eb.transactions.map((x) => bytesToHex(x.hash())), txs.map((x) => bytesToHex(x.hash())), 'the four transaction types')
    t.same(eb.withdrawals, [])
  })

  t.test('full transaction objects by type', async (t) => {
    const blk = await h.result('eth_getBlockByNumber', ['0x1', true])
    const [legacy, t2930, t1559, t7702] = blk.transactions
    for (const tx of blk.transactions) {
      t.equal(tx.blockHash, blk.hash)
      t.equal(tx.blockNumber, '0x1')
      t.equal(tx.from, sender)
      t.equal(tx.to, '0x' + 'aa'.repeat(20))
      t.equal(tx.input, '0x010203')
      t.equal(tx.gas, '0x186a0')
      t.ok(tx.r && tx.s && tx.v)
    }
    t.equal(legacy.type, '0x0')
    t.equal(legacy.chainId, '0x7a69')
    t.ok(legacy.v === '0xf4f5' || legacy.v === '0xf4f6', 'EIP-155 v')
    t.notOk('yParity' in legacy)
    t.equal(legacy.gasPrice, '0x77359400')
    t.equal(t2930.type, '0x1')
    t.same(t2930.accessList, [{ address: '0x' + 'bb'.repeat(20), storageKeys: ['0x' + '01'.repeat(32)] }])
    t.equal(t2930.yParity, t2930.v)
    t.equal(t1559.type, '0x2')
    t.equal(t1559.maxFeePerGas, '0xb2d05e00')
    t.equal(t1559.maxPriorityFeePerGas, '0x3b9aca00')
    t.equal(t1559.gasPrice, '0x77359400', 'effective price: base 1 gwei + tip 1 gwei')
    t.ok(t1559.yParity === '0x0' || t1559.yParity === '0x1')
    t.equal(t7702.type, '0x4')
    t.same(t7702.authorizationList, [{ chainId: '0x7a69', address: '0x' + 'cc'.repeat(20), nonce: '0x1', yParity: '0x1', r: '0x' + '11'.repeat(32), s: '0x' + '22'.repeat(32) }])
    t.same(await h.result('eth_getTransactionByHash', [t1559.hash]), t1559)
    t.same(await h.result('eth_getTransactionByBlockNumberAndIndex', ['0x1', '0x2']), t1559)
    t.same(await h.result('eth_getTransactionByBlockHashAndIndex', [blk.hash, '0x3']), t7702)
    t.equal(await h.result('eth_getTransactionByBlockHashAndIndex', [blk.hash, '0x9']), null)
  })

  t.test('pool transactions appear with null block fields', async (t) => {
    const p = makeTx('1559', 9)
    b.addPoolTx(p)
    const tx = await h.result('eth_getTransactionByHash', [bytesToHex(p.hash())])
    t.equal(tx.blockHash, null)
    t.equal(tx.blockNumber, null)
    t.equal(tx.transactionIndex, null)
    t.equal(tx.gasPrice, tx.maxFeePerGas)
    t.equal(await h.result('eth_getTransactionReceipt', [bytesToHex(p.hash())]), null)
    t.equal(await h.result('eth_getTransactionByHash', ['0x' + '12'.repeat(32)]), null)
    t.same(await h.result('txpool_status'), { pending: '0x1', queued: '0x0' })
    const content = await h.result('txpool_content')
    const key = Object.keys(content.pending)[0]!
    t.equal(key.toLowerCase(), sender)
    t.not(key, sender, 'checksummed like Geth')
    t.equal(content.pending[key]['9'].hash, bytesToHex(p.hash()))
    const inspect = await h.result('txpool_inspect')
    t.match(inspect.pending[key]['9'], /^0x[aA]+: 1009 wei \+ 100000 gas × 3000000000 wei$/)
    t.same(Object.keys((await h.result('txpool_contentFrom', [sender])).pending), ['9'])
    b.pool.clear()
  })

  t.test('receipts number logs across the block', async (t) => {
    const r0 = await h.result('eth_getTransactionReceipt', [bytesToHex(txs[0]!.hash())])
    const r2 = await h.result('eth_getTransactionReceipt', [bytesToHex(txs[2]!.hash())])
    t.same(Object.keys(r0).sort(), [
      'blockHash', 'blockNumber', 'contractAddress', 'cumulativeGasUsed', 'effectiveGasPrice', 'from', 'gasUsed', 'logs', 'logsBloom', 'status', 'to',
      'transactionHash', 'transactionIndex', 'type',
    ])
    t.equal(r0.status, '0x1')
    t.equal(r0.type, '0x0')
    t.equal(r2.type, '0x2')
    t.equal(r0.contractAddress, null)
    t.same(r0.logs.map((l: any) => l.logIndex), ['0x0', '0x1'])
    t.same(r2.logs.map((l: any) => l.logIndex), ['0x2'])
    t.equal(r2.logs[0].transactionHash, bytesToHex(txs[2]!.hash()))
    t.equal(r2.logs[0].transactionIndex, '0x2')
    t.equal(r2.logs[0].removed, false)
    t.equal(r2.cumulativeGasUsed, '0xf618')
    const all = await h.result('eth_getBlockReceipts', ['0x1'])
    t.equal(all.length, 4)
    t.same(all[2], r2)
    t.equal(await h.result('eth_getBlockReceipts', ['0x55']), null)
  })

  t.test('eth_call: gas cap, overrides, reverts', async (t) => {
    t.equal(await h.result('eth_call', [{ to: A, data: '0x12' }, 'latest']), '0xab')
    t.equal(b.lastCall!.req.gas, 50_000_000n, 'missing gas → the cap')
    await h.result('eth_call', [{ to: A, gas: '0xffffffffff' }])
    t.equal(b.lastCall!.req.gas, 50_000_000n, 'too much gas → the cap')
    await h.result('eth_call', [{ to: A, gas: '0x5208' }, { blockNumber: '0x1' }, { [A]: { balance: '0x1' } }])
    t.equal(b.lastCall!.req.gas, 21000n)
    t.equal(b.lastCall!.ref, 1n)
    t.equal(b.lastCall!.overrides!.get(A)!.balance, 1n)

    const reason = concatBytes(hexToBytes('0x08c379a0'), hexToBytes('0x' + '00'.repeat(31) + '20'), hexToBytes('0x' + '00'.repeat(31) + '04'), new TextEncoder().encode('nope'), new Uint8Array(28))
    b.callImpl = async () => ({ returnValue: reason, gasUsed: 100n, reverted: true, error: 'execution reverted' })
    const r = await h.call('eth_call', [{ to: A }])
    t.same(r.error, { code: 3, message: 'execution reverted: nope', data: bytesToHex(reason) })
    const custom = hexToBytes('0xdeadbeef')
    b.callImpl = async () => ({ returnValue: custom, gasUsed: 100n, reverted: true })
    t.same((await h.call('eth_call', [{ to: A }])).error, { code: 3, message: 'execution reverted', data: '0xdeadbeef' })
    b.callImpl = async () => ({ returnValue: new Uint8Array(), gasUsed: 100n, reverted: false, error: 'invalid opcode: INVALID' })
    t.same((await h.call('eth_call', [{ to: A }])).error, { code: -32000, message: 'invalid opcode: INVALID' })

    b.estimateImpl = async () => ({ ok: false, result: { returnValue: custom, gasUsed: 0n, reverted: true } })
    t.same((await h.call('eth_estimateGas', [{ to: A }])).error, { code: 3, message: 'execution reverted', data: '0xdeadbeef' })
    t.equal(b.lastEstimate!.req.gas, 30_000_000n, 'estimate defaults to the block gas limit (≤ cap)')
    b.estimateImpl = async () => ({ ok: false, result: { returnValue: new Uint8Array(), gasUsed: 0n, reverted: false, error: 'out of gas' } })
    t.match((await h.call('eth_estimateGas', [{ to: A, gas: '0x5208' }])).error, { code: -32000, message: 'gas required exceeds allowance (21000)' })
    b.estimateImpl = async () => ({ ok: true, gas: 53000n })
    t.equal(await h.result('eth_estimateGas', [{ to: A }]), '0xcf08')
  })

  t.test('signing and sending', async (t) => {
    t.equal(await h.result('eth_sendTransaction', [{ from: sender, to: A, value: '0x1' }]), '0x' + 'ee'.repeat(32))
    t.same((await h.call('eth_sendTransaction', [{ to: A }])).error, { code: -32000, message: 'from field is required' })
    t.equal(await h.result('eth_signTransaction', [{ from: sender, to: A }]), '0x02c0')
    t.equal(await h.result('eth_sign', [sender, '0x010203']), '0x' + '03'.repeat(65))
    t.equal(await h.result('personal_sign', ['0x0102', sender]), '0x' + '02'.repeat(65))
    const typed = { types: {}, primaryType: 'Mail', domain: {}, message: {} }
    t.equal(await h.result('eth_signTypedData_v4', [sender, typed]), '0x' + '01'.repeat(65))
    t.equal(await h.result('eth_signTypedData_v4', [sender, JSON.stringify(typed)]), '0x' + '01'.repeat(65))
    t.equal((await h.call('eth_signTypedData_v4', [sender, '{not json'])).error?.code, -32602)
  })

  t.test('debug, admin, extra methods', async (t) => {
    const tr = await h.result('debug_traceTransaction', [bytesToHex(txs[0]!.hash()), { tracer: 'callTracer' }])
    t.same(tr.options, { tracer: 'callTracer' })
    t.same((await h.call('debug_traceTransaction', ['0x' + '00'.repeat(32)])).error?.code, -32000)
    const info = await h.result('admin_nodeInfo')
    t.equal(info.id, 'node-1')
    t.equal(info.listenAddr, '/ip4/127.0.0.1/tcp/30303')
    t.same(await h.result('admin_peers'), [{ id: 'peer-1', name: '', network: { remoteAddress: '10.0.0.2:30303' }, protocols: {} }])
    t.same(await h.result('pov_workReceipt', ['0x1']), { id: '0x1', value: '0x5', hash: '0x0102' })
  })

  t.test('eth_subscribe needs a WebSocket', async (t) => {
    t.same((await h.call('eth_subscribe', ['newHeads'])).error, { code: -32601, message: 'notifications not supported' })
  })
})
