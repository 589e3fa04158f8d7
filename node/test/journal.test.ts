import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../cli/FreePort.js'
import { createTx } from '@ethereumjs/tx'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'

const KEY0 = hexToBytes('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
const cli = join(import.meta.dirname, '../../cli/cli.ts')

async function rpc(url: string, method: string, params: unknown[] = []): Promise<any> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
  const j = (await r.json()) as { result?: unknown; error?: { message: string } }
  if (j.error) throw new Error(j.error.message)
  return j.result
}

async function start(datadir: string, extra: string[]): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort()
  const proc = spawn(process.execPath, ['--import', 'tsx', cli, 'node', '--dev', '--datadir', datadir, '--http.port', String(port), '--ws.port', String(await freePort()), '--log.level', 'warn', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 600; i++) {
    if (proc.exitCode !== null) throw new Error(`node exited with ${proc.exitCode}`)
    try {
      await rpc(url, 'eth_chainId')
      return { proc, url }
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  throw new Error('node did not start')
}

const exited = (p: ChildProcess) => new Promise((r) => (p.exitCode !== null ? r(p.exitCode) : p.once('exit', r)))

t.test('a transaction acknowledged but not yet mined survives SIGKILL', async (t) => {
  const datadir = mkdtempSync(join(tmpdir(), 'povchain-journal-'))
  // A long dev period: nothing gets mined while we kill the node.
  let node = await start(datadir, ['--dev.period', '3600'])
  const common = createChainCommon(31337n)
  const txs = [0n, 1n, 2n].map((nonce) =>
    createTx({ type: 2, nonce, to: new Uint8Array(20).fill(7), value: 5n, gasLimit: 21000n, maxFeePerGas: 10n ** 11n, maxPriorityFeePerGas: 10n ** 9n, chainId: 31337n }, { common }).sign(KEY0),
  )
  // Nonce 2 first: it waits queued for the gap, and must come back queued too.
  for (const tx of [txs[2]!, txs[0]!]) t.equal(await rpc(node.url, 'eth_sendRawTransaction', [bytesToHex(tx.serialize())]), bytesToHex(tx.hash()))
  t.same(await rpc(node.url, 'txpool_status'), { pending: '0x1', queued: '0x1' })
  node.proc.kill('SIGKILL')
  await exited(node.proc)

  node = await start(datadir, ['--dev.period', '3600'])
  t.same(await rpc(node.url, 'txpool_status'), { pending: '0x1', queued: '0x1' }, 'both restored from the journal')
  const got = await rpc(node.url, 'eth_getTransactionByHash', [bytesToHex(txs[0]!.hash())])
  t.equal(got?.blockHash, null, 'known and pending')
  node.proc.kill('SIGTERM')
  t.equal(await exited(node.proc), 0, 'clean exit on SIGTERM')

  // With automine the restored transactions are mined, and the gap filler completes them.
  node = await start(datadir, [])
  await rpc(node.url, 'eth_sendRawTransaction', [bytesToHex(txs[1]!.serialize())])
  for (let i = 0; i < 100; i++) {
    const r = await rpc(node.url, 'eth_getTransactionReceipt', [bytesToHex(txs[2]!.hash())])
    if (r) break
    await new Promise((r) => setTimeout(r, 100))
  }
  for (const tx of txs) t.equal((await rpc(node.url, 'eth_getTransactionReceipt', [bytesToHex(tx.hash())]))?.status, '0x1', 'mined')
  t.equal(BigInt(await rpc(node.url, 'eth_getBalance', ['0x' + '07'.repeat(20), 'latest'])), 15n)
  node.proc.kill('SIGTERM')
  await exited(node.proc)
})
