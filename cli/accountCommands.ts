import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface, type Interface } from 'node:readline'
import type { Command } from 'commander'
import { hexToBytes } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import { readPasswordFile } from '../accounts/AccountManager.js'
import { toChecksumAddress } from '../accounts/address.js'
import { AccountsError } from '../accounts/errors.js'
import { Keystore, LIGHT_SCRYPT, STANDARD_SCRYPT, type ScryptParams } from '../accounts/Keystore.js'

export interface AccountCommandsContext {
  logger: Logger
  /** Where results are printed; default stdout. */
  out?: (line: string) => void
  /** Datadir when --datadir is not given; default ~/.povchain. */
  defaultDatadir?: string
  /** Asks for a hidden password; default a muted readline prompt on the TTY. */
  prompt?: (question: string) => Promise<string>
  /** KDF parameters override (tests); otherwise standard, or light with --lightkdf. */
  scrypt?: ScryptParams
}

interface CommonOpts {
  datadir?: string
  keystore?: string
  passwordFile?: string
  lightkdf?: boolean
}

/** Adds `account new|list|import` (Geth's shape) to a commander program. */
export function registerAccountCommands(program: Command, ctx: AccountCommandsContext): Command {
  const out = ctx.out ?? ((line: string) => void process.stdout.write(line + '\n'))
  const defaultDatadir = ctx.defaultDatadir ?? join(homedir(), '.povchain')
  const keystoreOf = (o: CommonOpts) => {
    const dir = resolve(o.keystore ?? join(o.datadir ?? defaultDatadir, 'keystore'))
    return new Keystore(dir, { scrypt: ctx.scrypt ?? (o.lightkdf ? LIGHT_SCRYPT : STANDARD_SCRYPT) }, { logger: ctx.logger })
  }
  const withCommon = (c: Command) =>
    c
      .option('--datadir <dir>', `data directory; keys go to <dir>/keystore (default ${defaultDatadir})`)
      .option('--keystore <dir>', 'keystore directory (overrides <datadir>/keystore)')

  const account = program.command('account').description('manage accounts in the keystore (Web3 secret storage v3)')

  withCommon(account.command('new').description('create a new account and store it encrypted'))
    .option('--password-file <file>', 'file whose first line is the password (otherwise prompted)')
    .option('--lightkdf', 'weaker, faster key derivation (scrypt N=4096)')
    .action(async (o: CommonOpts) => {
      const ks = keystoreOf(o)
      const password = await newPassword(o, ctx)
      const entry = await ks.newAccount(password)
      out('Your new key was generated')
      out('')
      out(`Public address of the key:   ${toChecksumAddress(entry.address)}`)
      out(`Path of the secret key file: ${entry.path}`)
      out('')
      out('- You can share your public address with anyone.')
      out('- You must NEVER share the secret key with anyone! The key controls access to your funds!')
      out('- You must BACKUP your key file! Without the key, it is impossible to access account funds!')
      out('- You must REMEMBER your password! Without the password, it is impossible to decrypt the key!')
    })

  withCommon(account.command('list').description('print the addresses in the keystore (without decrypting)')).action(async (o: CommonOpts) => {
    const ks = keystoreOf(o)
    const entries = await ks.list()
    if (entries.length === 0) out(`No accounts in keystore ${ks.dir}`)
    entries.forEach((e, i) => out(`Account #${i}: {${toChecksumAddress(e.address)}} keystore://${e.path}`))
  })

  withCommon(account.command('import').description('import a hex private key from <keyfile> into the keystore'))
    .argument('<keyfile>', 'file holding a hex private key (64 hex digits, optional 0x)')
    .option('--password-file <file>', 'file whose first line is the password (otherwise prompted)')
    .option('--lightkdf', 'weaker, faster key derivation (scrypt N=4096)')
    .action(async (keyfile: string, o: CommonOpts) => {
      const key = await readKeyFile(keyfile)
      try {
        const ks = keystoreOf(o)
        const password = await newPassword(o, ctx)
        const entry = await ks.importKey(key, password)
        out(`Imported key from ${resolve(keyfile)}`)
        out(`Public address of the key:   ${toChecksumAddress(entry.address)}`)
        out(`Path of the secret key file: ${entry.path}`)
      } finally {
        key.fill(0)
      }
    })
  return account
}

/** Reads a hex private key; its content never appears in errors. */
async function readKeyFile(path: string): Promise<Uint8Array> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new AccountsError('BAD_KEY', `cannot read key file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  let h = text.trim()
  if (h.startsWith('0x') || h.startsWith('0X')) h = h.slice(2)
  if (!/^[0-9a-fA-F]{64}$/.test(h)) throw new AccountsError('BAD_KEY', `invalid key file ${path}: expected 64 hex digits`)
  return hexToBytes('0x' + h)
}

async function newPassword(o: CommonOpts, ctx: AccountCommandsContext): Promise<string> {
  if (o.passwordFile) {
    const lines = await readPasswordFile(o.passwordFile)
    return lines[0] ?? ''
  }
  let session: HiddenPrompt | undefined
  let prompt = ctx.prompt
  if (!prompt && process.stdin.isTTY) {
    session = new HiddenPrompt()
    prompt = (q) => session!.ask(q)
  }
  if (!prompt) throw new AccountsError('PASSWORD', 'no password: use --password-file FILE or run on a terminal')
  try {
    const first = await prompt('Password: ')
    const second = await prompt('Repeat password: ')
    if (first !== second) throw new AccountsError('PASSWORD', 'passwords do not match')
    return first
  } finally {
    session?.close()
  }
}

/**
 * Reads lines from the terminal without echoing them. One readline interface serves all
 * questions, so input typed ahead of a prompt is not lost between them.
 */
export class HiddenPrompt {
  readonly #rl: Interface
  readonly #lines: string[] = []
  #waiting: { resolve: (l: string) => void; reject: (e: Error) => void } | undefined
  #closed = false
  readonly #out: NodeJS.WritableStream

  constructor(input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stderr) {
    this.#rl = createInterface({ input, output, terminal: true })
    // Swallow readline's echo of what is typed; questions are written directly.
    ;(this.#rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {}
    this.#out = output
    this.#rl.on('line', (line) => {
      if (this.#waiting) {
        const w = this.#waiting
        this.#waiting = undefined
        this.#out.write('\n')
        w.resolve(line)
      } else this.#lines.push(line)
    })
    const stop = () => {
      this.#closed = true
      this.#waiting?.reject(new AccountsError('PASSWORD', 'no password entered'))
      this.#waiting = undefined
    }
    this.#rl.on('SIGINT', () => {
      stop()
      this.#rl.close()
    })
    this.#rl.on('close', stop)
  }

  ask(question: string): Promise<string> {
    this.#out.write(question)
    const buffered = this.#lines.shift()
    if (buffered !== undefined) {
      this.#out.write('\n')
      return Promise.resolve(buffered)
    }
    if (this.#closed) return Promise.reject(new AccountsError('PASSWORD', 'no password entered'))
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }))
  }

  close(): void {
    this.#rl.close()
  }
}
