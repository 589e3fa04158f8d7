import type { Command } from 'commander'
import type { SigningKeyOptions } from './CliSigningKey.js'

/**
 * What the commands that talk to a running node (`job`, `asset`, `bounty`) share: where they
 * print, the connection and signing flags, and how a failure reaches the user — one line on
 * stderr (or one JSON object with `--json`) and exit code 1, never a stack trace.
 */
export interface CliIo {
  out(s: string): void
  err(s: string): void
  /** stderr is a terminal: progress may redraw one line. */
  isTTY?: boolean
}

export function processCliIo(): CliIo {
  return { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), isTTY: Boolean(process.stderr.isTTY) }
}

/** The flags added by `withChainOptions`. */
export interface ChainCommandOptions extends SigningKeyOptions {
  rpc: string
  from?: string
  json?: boolean
}

export function withChainOptions(c: Command): Command {
  return c
    .option('--rpc <url>', 'JSON-RPC endpoint of a povchain node', 'http://127.0.0.1:8545')
    .option('--keystore <file>', 'sign with this keystore key (otherwise: an account the node holds unlocked)')
    .option('--password <file>', 'file whose first line is the keystore password (otherwise prompted)')
    .option('--key-file <file>', 'file with a hex private key (for services; prefer a keystore)')
    .option('--from <address>', 'node-unlocked account to send from (default: its first)')
    .option('--json', 'print one JSON object')
}

/** Wraps a commander action so that a thrown error becomes the user-facing failure above. */
export function cliAction(io: CliIo) {
  return <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      const cmd = args[args.length - 1] as Command
      const json = Boolean((cmd.opts() as { json?: boolean }).json)
      try {
        await fn(...args)
      } catch (e) {
        const err = e as Error & { code?: string }
        if (json) io.out(JSON.stringify({ ok: false, error: { code: err.code ?? 'ERROR', message: err.message } }) + '\n')
        else io.err(`error: ${err.message}\n`)
        process.exitCode = 1
      }
    }
}

/** Prints a result: `{ok: true, …obj}` as one JSON line (bigints as decimal strings) or the text. */
export function cliPrinter(io: CliIo) {
  return (json: boolean | undefined, obj: object, text: string): void =>
    io.out(json ? JSON.stringify({ ok: true, ...obj }, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n' : text)
}
