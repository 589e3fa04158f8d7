import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { Wallet } from 'ethers'
import t from 'tap'
import { silentLogger } from '../../common/logger.js'
import { AccountsError, decryptKeystore, devAccounts, TEST_SCRYPT } from '../../accounts/index.js'
import { registerAccountCommands, type AccountCommandsContext } from '../accountCommands.js'
import { bytesToHex } from '../../common/bytes.js'

type Test = import('tap').Test

async function tmp(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'povchain-account-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Runs `povchain <args>` in-process and returns what it printed. */
async function run(args: string[], ctx: Partial<AccountCommandsContext> = {}): Promise<string[]> {
  const lines: string[] = []
  const program = new Command('povchain').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} })
  registerAccountCommands(program, { logger: silentLogger, scrypt: TEST_SCRYPT, out: (l) => lines.push(l), ...ctx })
  await program.parseAsync(args, { from: 'user' })
  return lines
}

const addressIn = (lines: string[]) => lines.join('\n').match(/Public address of the key:\s+(0x[0-9a-fA-F]{40})/)?.[1]
const pathIn = (lines: string[]) => lines.join('\n').match(/Path of the secret key file:\s+(\S+)/)?.[1]

t.test('account new / import / list with --datadir and --password-file', async (t) => {
  const root = await tmp(t)
  const datadir = join(root, 'data')
  const pw = join(root, 'pw')
  await writeFile(pw, 'correct horse\r\nignored second line\n')

  const created = await run(['account', 'new', '--datadir', datadir, '--password-file', pw])
  const address = addressIn(created)
  const path = pathIn(created)
  t.ok(address, 'prints the address')
  t.ok(path?.startsWith(join(datadir, 'keystore') + '/UTC--'), 'prints the key file under <datadir>/keystore')
  t.match(path, address!.slice(2).toLowerCase())
  const json = await readFile(path!, 'utf8')
  t.equal((await Wallet.fromEncryptedJson(json, 'correct horse')).address, address, 'first line of the password file, without CR')
  t.equal((await stat(path!)).mode & 0o777, 0o600)

  // import: hex key with 0x prefix and trailing newline
  const keyfile = join(root, 'key.txt')
  const dev0 = devAccounts(1)[0]!
  await writeFile(keyfile, bytesToHex(dev0.privateKey) + '\n')
  const imported = await run(['account', 'import', keyfile, '--datadir', datadir, '--password-file', pw])
  t.equal(addressIn(imported), '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')
  t.ok(pathIn(imported))
  t.equal(bytesToHex(await decryptKeystore(await readFile(pathIn(imported)!, 'utf8'), 'correct horse')), bytesToHex(dev0.privateKey))

  // importing it again is refused with Geth's words
  await t.rejects(run(['account', 'import', keyfile, '--datadir', datadir, '--password-file', pw]), { message: 'account already exists' })

  // list shows both, in creation order, with file locations
  const listed = await run(['account', 'list', '--datadir', datadir])
  t.equal(listed.length, 2)
  t.equal(listed[0], `Account #0: {${address}} keystore://${path}`)
  t.match(listed[1], /^Account #1: \{0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\} keystore:\/\/.*UTC--/)
  t.equal((await readdir(join(datadir, 'keystore'))).length, 2, 'no temp files left behind')

  // an empty keystore says so
  const empty = await run(['account', 'list', '--datadir', join(root, 'nothing')])
  t.match(empty[0], /^No accounts in keystore /)
})

t.test('account import: bad key files never echo their content', async (t) => {
  const root = await tmp(t)
  const pw = join(root, 'pw')
  await writeFile(pw, 'x')
  const secretish = 'deadbeef'.repeat(7) // 56 hex digits: wrong length
  const keyfile = join(root, 'bad.txt')
  await writeFile(keyfile, secretish)
  const err = await run(['account', 'import', keyfile, '--datadir', root, '--password-file', pw]).catch((e: unknown) => e)
  t.ok(err instanceof AccountsError)
  t.match((err as Error).message, /expected 64 hex digits/)
  t.notMatch((err as Error).message, secretish)
  const zero = join(root, 'zero.txt')
  await writeFile(zero, '00'.repeat(32))
  await t.rejects(run(['account', 'import', zero, '--datadir', root, '--password-file', pw]), { code: 'ACCOUNTS_BAD_KEY' })
  await t.rejects(run(['account', 'import', join(root, 'missing'), '--datadir', root, '--password-file', pw]), { code: 'ACCOUNTS_BAD_KEY', message: /cannot read key file/ })
})

t.test('account new: interactive prompt asks twice; --keystore overrides the datadir', async (t) => {
  const root = await tmp(t)
  const ksdir = join(root, 'elsewhere')
  const asked: string[] = []
  const answers = ['s3cret', 's3cret']
  const out = await run(['account', 'new', '--keystore', ksdir], {
    prompt: async (q) => {
      asked.push(q)
      return answers.shift()!
    },
  })
  t.same(asked, ['Password: ', 'Repeat password: '])
  t.ok(pathIn(out)?.startsWith(ksdir + '/'))
  t.equal((await Wallet.fromEncryptedJson(await readFile(pathIn(out)!, 'utf8'), 's3cret')).address, addressIn(out))

  const mismatch = ['a', 'b']
  await t.rejects(run(['account', 'new', '--keystore', ksdir], { prompt: async () => mismatch.shift()! }), { code: 'ACCOUNTS_PASSWORD', message: 'passwords do not match' })
  t.equal((await readdir(ksdir)).length, 1, 'nothing written on mismatch')
})

t.test('account new without a password source (no TTY) is an error', async (t) => {
  const root = await tmp(t)
  if (process.stdin.isTTY) return t.pass('stdin is a terminal here; nothing to check')
  await t.rejects(run(['account', 'new', '--datadir', root]), { code: 'ACCOUNTS_PASSWORD', message: /--password-file/ })
})

t.test('--lightkdf writes Geth light scrypt parameters', async (t) => {
  const root = await tmp(t)
  const pw = join(root, 'pw')
  await writeFile(pw, 'pw\n')
  const lines: string[] = []
  const program = new Command('povchain').exitOverride()
  registerAccountCommands(program, { logger: silentLogger, out: (l) => lines.push(l) })
  await program.parseAsync(['account', 'new', '--datadir', root, '--password-file', pw, '--lightkdf'], { from: 'user' })
  const json = JSON.parse(await readFile(pathIn(lines)!, 'utf8'))
  t.same(json.crypto.kdfparams.n, 4096)
  t.same(json.crypto.kdfparams.p, 6)
  t.equal(json.crypto.kdf, 'scrypt')
  t.equal(json.crypto.cipher, 'aes-128-ctr')
})

t.test('HiddenPrompt: no echo, and lines typed ahead are kept for the next question', async (t) => {
  const { PassThrough } = await import('node:stream')
  const { HiddenPrompt } = await import('../accountCommands.js')
  const input = new PassThrough()
  const output = new PassThrough()
  let shown = ''
  output.on('data', (d: Buffer) => (shown += d.toString()))
  const p = new HiddenPrompt(input, output)
  input.write('first-secret\rsecond-secret\r')
  await new Promise((r) => setImmediate(r))
  t.equal(await p.ask('Password: '), 'first-secret')
  t.equal(await p.ask('Repeat password: '), 'second-secret')
  const third = p.ask('Again: ')
  input.write('third\r')
  t.equal(await third, 'third')
  p.close()
  await t.rejects(p.ask('Closed: '), { code: 'ACCOUNTS_PASSWORD' })
  t.match(shown, /Password: [\s\S]*Repeat password: /)
  t.notMatch(shown, /secret|third/, 'typed characters are not echoed')
})
