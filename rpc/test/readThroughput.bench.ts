// Not a test: measures the server's per-request overhead (the fixture backend costs ~nothing).
// Run: node --import=tsx rpc/test/readThroughput.bench.ts
import http from 'node:http'
import { startHarness } from './helpers.js'

const N = Number(process.env.N ?? 20000)
const C = Number(process.env.C ?? 16)
const h = await startHarness()
const agent = new http.Agent({ keepAlive: true, maxSockets: C + 4 })
const u = new URL(h.url)
const addr = '0x' + '11'.repeat(20)

function once(body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume()
      res.on('end', () => resolve())
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function run(name: string, mk: (i: number) => string) {
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) await once(mk(next++))
    }),
  )
  const s = (performance.now() - t0) / 1000
  console.log(JSON.stringify({ method: name, requests: N, concurrency: C, reqPerSec: Math.round(N / s) }))
}

await run('eth_getBalance', (i) => `{"jsonrpc":"2.0","id":${i},"method":"eth_getBalance","params":["${addr}","latest"]}`)
await run('eth_call', (i) => `{"jsonrpc":"2.0","id":${i},"method":"eth_call","params":[{"to":"${addr}","data":"0x70a08231000000000000000000000000${'22'.repeat(20)}"},"latest"]}`)
await run('eth_blockNumber', (i) => `{"jsonrpc":"2.0","id":${i},"method":"eth_blockNumber","params":[]}`)
agent.destroy()
await h.close()
