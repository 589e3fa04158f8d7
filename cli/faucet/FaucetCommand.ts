import { statSync } from 'node:fs'
import { InvalidArgumentError, type Command } from 'commander'
import { parseEther } from 'viem'
import { Keystore } from '../../accounts/Keystore.js'
import { readPasswordFile } from '../../accounts/AccountManager.js'
import { JsonRpcClient } from '../../bridge/JsonRpcClient.js'
import { roundedCoins } from '../../common/CoinAmount.js'
import { createLogger } from '../../node/logging.js'
import { HiddenPrompt } from '../accountCommands.js'
import { loadSigningKey } from '../CliSigningKey.js'
import { FaucetSender } from './FaucetSender.js'
import { FaucetServer, humanWindow } from './FaucetServer.js'

/** `24h`, `30m`, `90s`, `2d` or plain seconds → milliseconds. */
export function parseWindow(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(v.trim())
  if (!m) throw new InvalidArgumentError(`'${v}' is no duration: write e.g. 24h, 30m, 90s or 2d`)
  const ms = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 's']
  if (!(ms >= 1000)) throw new InvalidArgumentError('the window must be at least 1 s')
  return ms
}

/** The faucet's key: a keystore file, or a keystore directory holding exactly one key (a kit's faucet/keystore). */
async function faucetKey(o: { keystore: string; password?: string; address?: string }): Promise<Uint8Array> {
  if (!statSync(o.keystore).isDirectory()) return (await loadSigningKey({ keystore: o.keystore, ...(o.password ? { password: o.password } : {}) }))!
  const ks = new Keystore(o.keystore)
  const entries = await ks.list()
  const entry = o.address ? await ks.find(o.address) : entries.length === 1 ? entries[0]! : undefined
  if (!entry) throw new Error(`${o.keystore} holds ${entries.length} keys: name the faucet's with --address`)
  let password: string
  if (o.password) password = (await readPasswordFile(o.password))[0] ?? ''
  else {
    const prompt = new HiddenPrompt()
    try {
      password = await prompt.ask(`Password for the faucet key in ${o.keystore}: `)
    } finally {
      prompt.close()
    }
  }
  return ks.unlock(entry.address, password)
}

export function registerFaucetCommand(program: Command): void {
  program
    .command('faucet')
    .description('serve a test-coin faucet: a web page and POST /api/drip, rate-limited per address and per IP, signing with a keystore key')
    .requiredOption('--keystore <path>', "the faucet's keystore file, or a directory with one key (a kit's faucet/keystore)")
    .option('--password <file>', 'file whose first line is the keystore password (otherwise prompted)')
    .option('--address <address>', 'which key of a keystore directory holding several')
    .option('--rpc <url>', 'JSON-RPC endpoint of a node of the network', 'http://127.0.0.1:8545')
    .option('--amount <coins>', 'coins sent per request', '10')
    .option('--window <duration>', 'an address gets one drip per window (e.g. 24h, 30m)', parseWindow, 86_400_000)
    .option('--per-ip <n>', 'drips per IP address per window', (v: string) => {
      const n = Number(v)
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('--per-ip must be a whole number ≥ 1')
      return n
    }, 5)
    .option('--host <addr>', 'address the faucet listens on (0.0.0.0: the public)', '127.0.0.1')
    .option('--port <port>', 'port the faucet listens on', (v: string) => Number(v), 8090)
    .option('--trust-proxy', "take the client's IP from X-Forwarded-For (only behind a reverse proxy that sets it)", false)
    .action(async (o: { keystore: string; password?: string; address?: string; rpc: string; amount: string; window: number; perIp: number; host: string; port: number; trustProxy: boolean }) => {
      try {
        let amount: bigint
        try {
          amount = parseEther(o.amount)
        } catch {
          throw new Error(`--amount ${o.amount} is not a number of coins`)
        }
        if (amount <= 0n) throw new Error('--amount must be more than 0')
        const key = await faucetKey(o)
        const log = createLogger({ level: 'info' })
        const sender = new FaucetSender(new JsonRpcClient({ url: o.rpc, retries: 2 }), key, amount)
        let balance: bigint
        try {
          balance = await sender.balance()
        } catch (e) {
          throw new Error(`cannot reach the node at ${o.rpc}: ${(e as Error).message}`)
        }
        const server = new FaucetServer(sender, { host: o.host, port: o.port, windowMs: o.window, perIp: o.perIp, trustProxy: o.trustProxy }, log)
        const url = await server.start()
        console.log(
          `faucet ${sender.address} on chain ${await sender.chain()} holds ${roundedCoins(balance)} coins (${balance / amount} drips)\n` +
            `  serving ${url} (page) and ${url}api/drip (POST {"address":"0x…"})\n` +
            `  ${roundedCoins(amount)} coins a drip, one per address every ${humanWindow(o.window)}, ${o.perIp} per IP; Ctrl-C stops it`,
        )
        const stop = () => void server.stop().then(() => process.exit(0))
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      } catch (e) {
        console.error(`error: ${(e as Error).message}`)
        process.exitCode = 1
      }
    })
}
