import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { inspect } from 'node:util'
import { createTxFromRLP, TransactionType } from '@ethereumjs/tx'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { Transaction, Wallet, encryptKeystoreJson, getBytes, hashAuthorization, SigningKey, verifyMessage, verifyTypedData, Signature } from 'ethers'
import fc from 'fast-check'
import t from 'tap'
import { recoverTypedDataAddress } from 'viem'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import type { CallRequest } from '../../rpc/RpcBackend.js'
import {
  AccountManager,
  AccountsError,
  DECRYPT_FAILED,
  decryptKeystore,
  DEV_MNEMONIC,
  deriveAccounts,
  devAccounts,
  encryptKeystore,
  Keystore,
  keystoreFileName,
  normalizeTypedData,
  parseKeystore,
  personalMessageDigest,
  TEST_SCRYPT,
  toChecksumAddress,
  typedDataDigest,
  UNKNOWN_ACCOUNT,
} from '../index.js'

const hex = (b: Uint8Array) => bytesToHex(b)
const addr = (b: Uint8Array) => toChecksumAddress(b)

type Test = import('tap').Test

async function tmp(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'povchain-accounts-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Rejects with an AccountsError of `code`; returns it for further checks. */
async function rejectsCode(t: Test, p: Promise<unknown> | (() => unknown), code: string): Promise<AccountsError | undefined> {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (e) {
    t.ok(e instanceof AccountsError, `AccountsError (${(e as Error).message})`)
    t.equal((e as AccountsError).code, code)
    return e as AccountsError
  }
  t.fail(`expected ${code}`)
  return undefined
}

const validKey = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => secp256k1.utils.isValidSecretKey(k))

// --- Web3 Secret Storage test vectors (password "testpassword") ---------------------------
const SPEC_KEY = '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d'
const SPEC_PBKDF2 = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: { c: 262144, dklen: 32, prf: 'hmac-sha256', salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd' },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}
const SPEC_SCRYPT = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
    ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
    kdf: 'scrypt',
    kdfparams: { dklen: 32, n: 262144, r: 1, p: 8, salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19' },
    mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}

t.test('keystore: Web3 Secret Storage spec vectors', async (t) => {
  t.equal(hex(await decryptKeystore(SPEC_PBKDF2, 'testpassword')), SPEC_KEY, 'pbkdf2 vector')
  t.equal(hex(await decryptKeystore(JSON.stringify(SPEC_SCRYPT), 'testpassword')), SPEC_KEY, 'scrypt vector (n=262144, as text)')
  const e = await rejectsCode(t, decryptKeystore(SPEC_PBKDF2, 'wrong'), 'ACCOUNTS_DECRYPT')
  t.equal(e?.message, DECRYPT_FAILED, "Geth's wording")
  t.notMatch(e?.message ?? '', SPEC_KEY.slice(2), 'no key in the message')
})

t.test('keystore: known answer for our own writer (fixed salt/iv)', async (t) => {
  const key = hexToBytes(SPEC_KEY)
  const salt = hexToBytes('0x' + SPEC_PBKDF2.crypto.kdfparams.salt)
  const iv = hexToBytes('0x' + SPEC_PBKDF2.crypto.cipherparams.iv)
  const json = await encryptKeystore(key, 'testpassword', { kdf: 'pbkdf2', pbkdf2Iterations: 262144, salt, iv, uuid: SPEC_PBKDF2.id })
  t.equal(json.crypto.ciphertext, SPEC_PBKDF2.crypto.ciphertext)
  t.equal(json.crypto.mac, SPEC_PBKDF2.crypto.mac)
  t.equal(json.address, hex(privateKeyToAddress(key)).slice(2), 'address field: lowercase hex without 0x')
  t.equal(json.version, 3)
})

t.test('keystore: round trip for random keys and passwords (light scrypt and pbkdf2)', async (t) => {
  await fc.assert(
    fc.asyncProperty(validKey, fc.string({ unit: 'grapheme', maxLength: 24 }), fc.boolean(), async (key, password, usePbkdf2) => {
      const opts = usePbkdf2 ? { kdf: 'pbkdf2' as const, pbkdf2Iterations: 16 } : { scrypt: TEST_SCRYPT }
      const json = await encryptKeystore(key, password, opts)
      const back = await decryptKeystore(JSON.parse(JSON.stringify(json)), password)
      if (hex(back) !== hex(key)) return false
      if (JSON.stringify(json).includes(hex(key).slice(2))) return false // the key never appears in clear
      try {
        await decryptKeystore(json, password + 'x')
        return false
      } catch (e) {
        return e instanceof AccountsError && e.code === 'ACCOUNTS_DECRYPT'
      }
    }),
    { numRuns: 40 },
  )
})

t.test('keystore: interoperates with ethers v6', async (t) => {
  const wallet = new Wallet('0x' + 'ab'.repeat(32))
  // ethers → ours
  const theirs = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, 'hunter2', { scrypt: { N: 1024 } })
  t.equal(hex(await decryptKeystore(theirs, 'hunter2')), wallet.privateKey)
  // ethers stores passwords as NFKD; the composed spelling still opens it with ours.
  const composed = 'caf\u00e9'
  const theirsNfkd = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, composed, { scrypt: { N: 1024 } })
  t.equal(hex(await decryptKeystore(theirsNfkd, composed)), wallet.privateKey, 'NFKD fallback')
  // ours → ethers, property over keys and ASCII passwords
  await fc.assert(
    fc.asyncProperty(validKey, fc.string({ unit: fc.constantFrom(...'abcXYZ019 !$%'), maxLength: 16 }), async (key, password) => {
      const ours = await encryptKeystore(key, password, { scrypt: { n: 1024, r: 8, p: 1 } })
      const w = await Wallet.fromEncryptedJson(JSON.stringify(ours), password)
      return w.privateKey === hex(key) && w.address === addr(privateKeyToAddress(key))
    }),
    { numRuns: 8 },
  )
  // ethers' wallet.encrypt (its default scrypt is N=131072, slow in JS): use the light path
  const viaEncrypt = await wallet.encrypt('pw')
  t.equal(hex(await decryptKeystore(viaEncrypt, 'pw')), wallet.privateKey, 'Wallet.encrypt output')
})

t.test('keystore: malformed files fail fast with typed errors', async (t) => {
  const good = await encryptKeystore(hexToBytes(SPEC_KEY), 'pw', { scrypt: TEST_SCRYPT })
  const mutate = (f: (o: any) => void) => {
    const o = JSON.parse(JSON.stringify(good))
    f(o)
    return o
  }
  const cases: Array<[string, unknown]> = [
    ['not JSON', '{nope'],
    ['array', '[]'],
    ['version 1', mutate((o) => (o.version = 1))],
    ['cipher', mutate((o) => (o.crypto.cipher = 'aes-128-cbc'))],
    ['kdf', mutate((o) => (o.crypto.kdf = 'argon2'))],
    ['n not power of two', mutate((o) => (o.crypto.kdfparams.n = 1000))],
    ['n huge', mutate((o) => (o.crypto.kdfparams.n = 2 ** 30))],
    ['dklen 16', mutate((o) => (o.crypto.kdfparams.dklen = 16))],
    ['iv short', mutate((o) => (o.crypto.cipherparams.iv = 'abcd'))],
    ['mac not hex', mutate((o) => (o.crypto.mac = 'zz'))],
    ['ciphertext missing', mutate((o) => delete o.crypto.ciphertext)],
    ['pbkdf2 prf', mutate((o) => ((o.crypto.kdf = 'pbkdf2'), (o.crypto.kdfparams = { c: 1, dklen: 32, prf: 'hmac-sha512', salt: '00' })))],
    ['bad address field', mutate((o) => (o.address = 'xyz'))],
  ]
  for (const [name, json] of cases) {
    const e = await rejectsCode(t, decryptKeystore(json, 'pw'), 'ACCOUNTS_BAD_KEYSTORE')
    t.match(e?.message, /^invalid keystore: /, name)
  }
  // A file whose address field lies is caught after decryption.
  const lying = mutate((o) => (o.address = 'f39fd6e51aad88f6f4ce6ab8827279cfffb92266'))
  const e = await rejectsCode(t, decryptKeystore(lying, 'pw'), 'ACCOUNTS_ADDRESS_MISMATCH')
  t.notMatch(e?.message ?? '', SPEC_KEY.slice(2))
  // Capitalised "Crypto" (old writers) is accepted.
  const cap = mutate((o) => ((o.Crypto = o.crypto), delete o.crypto))
  t.equal(hex(await decryptKeystore(cap, 'pw')), SPEC_KEY)
  t.same(parseKeystore(good).address, privateKeyToAddress(hexToBytes(SPEC_KEY)))
})

t.test('keystore: Geth file names', async (t) => {
  const a = hexToBytes('0x7ef5a6135f1fd6a02593eedc869c6d41d934aef8')
  t.equal(keystoreFileName(a, new Date('2016-03-22T12:57:55.920Z')), 'UTC--2016-03-22T12-57-55.920000000Z--7ef5a6135f1fd6a02593eedc869c6d41d934aef8')
  t.match(keystoreFileName(a), /^UTC--\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{9}Z--[0-9a-f]{40}$/)
})

t.test('keystore: directory create / import / list / unlock', async (t) => {
  const dir = join(await tmp(t), 'keystore')
  const ks = new Keystore(dir, { scrypt: TEST_SCRYPT })
  t.same(await ks.list(), [], 'missing directory lists nothing')
  const a = await ks.newAccount('pa')
  await new Promise((r) => setTimeout(r, 5)) // distinct timestamps → stable order
  const b = await ks.newAccount('pb')
  await new Promise((r) => setTimeout(r, 5))
  const dev0 = devAccounts(1)[0]!
  const c = await ks.importKey(dev0.privateKey, 'pc')
  t.same(c.address, dev0.address)
  t.equal(basename(c.path), basename(c.path).match(/^UTC--.*--f39fd6e51aad88f6f4ce6ab8827279cfffb92266$/)?.[0])
  t.equal((await stat(c.path)).mode & 0o777, 0o600, 'key file is private')
  t.equal((await stat(dir)).mode & 0o777, 0o700, 'keystore dir is private')
  // Junk that a scan must skip.
  await writeFile(join(dir, 'README'), 'hello')
  await writeFile(join(dir, 'notes.txt'), 'not json')
  await writeFile(join(dir, '.hidden'), JSON.stringify({ address: 'aa'.repeat(20) }))
  await writeFile(join(dir, 'backup~'), JSON.stringify({ address: 'bb'.repeat(20) }))
  await mkdir(join(dir, 'subdir'))
  const listed = await ks.list()
  t.same(
    listed.map((e) => hex(e.address)),
    [a, b, c].map((e) => hex(e.address)),
    'three accounts in creation order',
  )
  t.same(listed.map((e) => e.path), [a.path, b.path, c.path])
  t.equal(hex(await ks.unlock(addr(c.address), 'pc')), hex(dev0.privateKey), 'unlock by checksummed address')
  t.equal(hex(privateKeyToAddress(await ks.unlock(a.address, 'pa'))), hex(a.address))
  const e = await rejectsCode(t, ks.unlock(b.address, 'pa'), 'ACCOUNTS_DECRYPT')
  t.equal(e?.message, DECRYPT_FAILED)
  await rejectsCode(t, ks.importKey(dev0.privateKey, 'again'), 'ACCOUNTS_ACCOUNT_EXISTS')
  const u = await rejectsCode(t, ks.unlock('0x' + '12'.repeat(20), 'x'), 'ACCOUNTS_UNKNOWN_ACCOUNT')
  t.equal(u?.message, UNKNOWN_ACCOUNT)
  await rejectsCode(t, ks.importKey(new Uint8Array(32), 'x'), 'ACCOUNTS_BAD_KEY')
  // Files are what ethers reads.
  const w = await Wallet.fromEncryptedJson(await readFile(a.path, 'utf8'), 'pa')
  t.equal(w.address, addr(a.address))
})

t.test('dev accounts: Hardhat mnemonic at m/44\'/60\'/0\'/0/i', async (t) => {
  const accts = devAccounts()
  t.equal(accts.length, 20)
  t.equal(addr(accts[0]!.address), '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')
  t.equal(hex(accts[0]!.privateKey), '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
  t.equal(addr(accts[1]!.address), '0x70997970C51812dc3A010C7d01b50e0d17dc79C8')
  t.equal(addr(accts[19]!.address), '0x8626f6940E2eb28930eFb4CeF49B2d1F2C9C1199')
  // Same as ethers' HD wallet for every index.
  const { HDNodeWallet } = await import('ethers')
  for (const i of [0, 7, 19]) {
    t.equal(HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).address, addr(accts[i]!.address), `index ${i}`)
  }
  accts[0]!.privateKey.fill(0)
  t.equal(hex(devAccounts(1)[0]!.privateKey).slice(0, 6), '0xac09', 'callers get copies')
  await rejectsCode(t, () => deriveAccounts('test test test', 1), 'ACCOUNTS_BAD_KEY')
})

t.test('manager: eth_sign signatures recover to the signer (ethers) and match ethers byte for byte', async (t) => {
  const mgr = new AccountManager({ dev: true })
  const accts = mgr.accounts()
  t.equal(accts.length, 20)
  t.equal(addr(accts[0]!), '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')
  const wallets = devAccounts(3).map((a) => new Wallet(hex(a.privateKey)))
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 2 }), async (msg, i) => {
      const sig = mgr.sign(accts[i]!, msg)
      if (sig.length !== 65 || (sig[64] !== 27 && sig[64] !== 28)) return false
      if (verifyMessage(msg, hex(sig)) !== addr(accts[i]!)) return false
      return hex(sig) === (await wallets[i]!.signMessage(msg))
    }),
    { numRuns: 60 },
  )
  t.equal(hex(personalMessageDigest(new TextEncoder().encode('hello'))), '0x50b2c43fd39106bafbba0da34fc430e1f91e3c96ea2acee2bc34119f92b37750')
})

t.test('manager: unknown or locked accounts', async (t) => {
  const mgr = new AccountManager({ dev: true })
  const stranger = '0x' + '11'.repeat(20)
  for (const f of [
    () => mgr.sign(stranger, new Uint8Array(1)),
    () => mgr.signTypedData(stranger, '{garbage'),
    () => mgr.signTransaction({ from: hexToBytes(stranger), nonce: 0n, gas: 21000n, gasPrice: 1n }, createChainCommon(31337n, { nativeCrypto: false })),
    () => mgr.sign('not an address', new Uint8Array(1)),
  ]) {
    const e = await rejectsCode(t, f, 'ACCOUNTS_UNKNOWN_ACCOUNT')
    t.equal(e?.message, UNKNOWN_ACCOUNT)
  }
  const first = mgr.accounts()[0]!
  t.ok(mgr.has(first))
  t.ok(mgr.lock(first))
  t.notOk(mgr.has(first))
  await rejectsCode(t, () => mgr.sign(first, new Uint8Array(1)), 'ACCOUNTS_UNKNOWN_ACCOUNT')
  t.equal(mgr.accounts().length, 19)
  t.same(new AccountManager().accounts(), [], 'no dev accounts without --dev')
})

t.test('manager: key material never leaks through inspect, JSON or errors', async (t) => {
  const mgr = new AccountManager({ dev: true })
  const secret = hex(devAccounts(1)[0]!.privateKey).slice(2)
  t.notMatch(inspect(mgr, { depth: 10, showHidden: true }), secret)
  t.notMatch(JSON.stringify(mgr), secret)
  t.match(JSON.stringify(mgr), '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')
  const logged: unknown[] = []
  const logger = { trace: (...a: unknown[]) => logged.push(a), debug: (...a: unknown[]) => logged.push(a), info: (...a: unknown[]) => logged.push(a), warn: (...a: unknown[]) => logged.push(a), error: (...a: unknown[]) => logged.push(a), child: () => logger }
  const m2 = new AccountManager({ dev: true }, { logger: logger as never })
  m2.sign(m2.accounts()[0]!, new Uint8Array(3))
  t.ok(logged.length > 0)
  t.notMatch(JSON.stringify(logged), secret, 'logs carry addresses only')
})

// EIP-712 specification example (Mail), signed by keccak256("cow").
const MAIL = {
  types: {
    EIP712Domain: [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
    ],
    Person: [
      { name: 'name', type: 'string' },
      { name: 'wallet', type: 'address' },
    ],
    Mail: [
      { name: 'from', type: 'Person' },
      { name: 'to', type: 'Person' },
      { name: 'contents', type: 'string' },
    ],
  },
  primaryType: 'Mail',
  domain: { name: 'Ether Mail', version: '1', chainId: 1, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' },
  message: {
    from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
    to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
    contents: 'Hello, Bob!',
  },
}

t.test('manager: eth_signTypedData_v4 (EIP-712 spec example, ethers and viem recover)', async (t) => {
  t.equal(hex(typedDataDigest(JSON.stringify(MAIL))), '0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2', 'spec digest')
  const cow = keccak_256(new TextEncoder().encode('cow'))
  const mgr = new AccountManager()
  const who = mgr.addKey(cow)
  t.equal(addr(who), '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826')
  const sig = mgr.signTypedData(who, JSON.stringify(MAIL))
  t.equal(
    hex(sig),
    '0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b915621c',
    'spec signature (v = 28)',
  )
  const { EIP712Domain: _, ...types } = MAIL.types
  t.equal(verifyTypedData(MAIL.domain, types, MAIL.message, hex(sig)), addr(who), 'ethers verifyTypedData')
  t.equal(await recoverTypedDataAddress({ ...MAIL, signature: hex(sig) } as never), addr(who), 'viem recoverTypedDataAddress')
  // Object input and domain-without-EIP712Domain input give the same signature.
  t.equal(hex(mgr.signTypedData(who, MAIL)), hex(sig))
  t.equal(hex(mgr.signTypedData(who, { ...MAIL, types })), hex(sig))
})

t.test('manager: typed-data property — random messages recover with viem and ethers', async (t) => {
  const mgr = new AccountManager({ dev: true })
  const signer = mgr.accounts()[3]!
  const types = {
    Order: [
      { name: 'maker', type: 'address' },
      { name: 'amount', type: 'uint256' },
      { name: 'delta', type: 'int64' },
      { name: 'salt', type: 'bytes32' },
      { name: 'note', type: 'string' },
      { name: 'blob', type: 'bytes' },
      { name: 'ok', type: 'bool' },
      { name: 'items', type: 'Item[]' },
    ],
    Item: [
      { name: 'id', type: 'uint8' },
      { name: 'tags', type: 'uint16[2]' },
    ],
  }
  const u256 = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n })
  // Integers come as bigint-ish strings (decimal or hex) or JSON numbers, as wallets send them.
  const asWire = (n: bigint, style: number) => (style === 0 ? n.toString() : style === 1 ? '0x' + n.toString(16) : n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString())
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        maker: fc.uint8Array({ minLength: 20, maxLength: 20 }),
        amount: u256,
        delta: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
        salt: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        note: fc.string({ maxLength: 30 }),
        blob: fc.uint8Array({ maxLength: 40 }),
        ok: fc.boolean(),
        items: fc.array(fc.record({ id: fc.integer({ min: 0, max: 255 }), tags: fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 })) }), { maxLength: 3 }),
        chainId: fc.integer({ min: 1, max: 1_000_000 }),
        style: fc.integer({ min: 0, max: 2 }),
      }),
      async (r) => {
        const canonical = {
          maker: hex(r.maker),
          amount: r.amount,
          delta: r.delta,
          salt: hex(r.salt),
          note: r.note,
          blob: hex(r.blob),
          ok: r.ok,
          items: r.items.map((i) => ({ id: i.id, tags: i.tags })),
        }
        const wire = { ...canonical, amount: asWire(r.amount, r.style), delta: asWire(r.delta, r.style === 1 ? 0 : r.style) }
        const domain = { name: 'Exchange', chainId: r.chainId }
        const sig = hex(mgr.signTypedData(signer, JSON.stringify({ types, primaryType: 'Order', domain, message: wire })))
        const viemAddr = await recoverTypedDataAddress({ domain, types, primaryType: 'Order', message: canonical, signature: sig } as never)
        const ethersAddr = verifyTypedData(domain, types, canonical, sig)
        return viemAddr === addr(signer) && ethersAddr === addr(signer)
      },
    ),
    { numRuns: 40 },
  )
})

t.test('manager: malformed typed data is a clear error', async (t) => {
  const mgr = new AccountManager({ dev: true })
  const a = mgr.accounts()[0]!
  const m = (f: (o: any) => void) => {
    const o = JSON.parse(JSON.stringify(MAIL))
    f(o)
    return o
  }
  const cases: Array<[string, unknown, RegExp]> = [
    ['not JSON', '{"types": ', /not valid JSON/],
    ['a number', 42, /expected an object/],
    ['types missing', m((o) => delete o.types), /"types" must be an object/],
    ['primaryType undeclared', m((o) => (o.primaryType = 'Letter')), /primaryType "Letter" is not declared/],
    ['field missing', m((o) => delete o.message.contents), /missing field contents/],
    ['extra field', m((o) => (o.message.cc = 'x')), /field cc is not declared in type Mail/],
    ['bad address', m((o) => (o.message.to.wallet = '0x1234')), /message\.to\.wallet: expected an address/],
    ['unknown type', m((o) => (o.types.Person[0].type = 'Name')), /unknown type "Name"/],
    ['uint out of range', m((o) => (o.domain.chainId = '-1')), /out of range for uint256/],
    ['not an integer', m((o) => (o.domain.chainId = 'one')), /domain\.chainId: expected an integer/],
    ['unsafe JSON number', m((o) => (o.domain.chainId = 2 ** 60)), /not a safe integer/],
    ['string for bool', m((o) => (o.types.Mail.push({ name: 'urgent', type: 'bool' }), (o.message.urgent = 'yes'))), /expected a boolean/],
    ['bytes32 too long', m((o) => (o.types.Mail.push({ name: 'h', type: 'bytes32' }), (o.message.h = '0x' + '00'.repeat(33)))), /33 bytes do not fit bytes32/],
    ['fixed array length', m((o) => (o.types.Mail.push({ name: 'xs', type: 'uint8[2]' }), (o.message.xs = [1]))), /expected 2 elements/],
    ['struct where atomic', m((o) => (o.message.contents = { a: 1 })), /expected a string/],
    ['duplicate field', m((o) => o.types.Person.push({ name: 'name', type: 'string' })), /duplicate field name/],
    ['domain unknown key', m((o) => (delete o.types.EIP712Domain, (o.domain.foo = 1))), /domain field foo/],
    ['bad field entry', m((o) => (o.types.Person[0] = ['name', 'string'])), /must be \{name: string, type: string\}/],
  ]
  for (const [name, input, re] of cases) {
    const e = await rejectsCode(t, () => mgr.signTypedData(a, input), 'ACCOUNTS_INVALID_TYPED_DATA')
    t.match(e?.message, re, name)
  }
  // Any JSON at all: either a signature or an AccountsError, never another exception.
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), fc.boolean(), (v, wrap) => {
      const input = wrap ? { types: { T: [{ name: 'x', type: 'uint8' }] }, primaryType: 'T', domain: {}, message: { x: v } } : v
      try {
        normalizeTypedData(input)
        return mgr.signTypedData(a, input).length === 65
      } catch (e) {
        return e instanceof AccountsError && e.code === 'ACCOUNTS_INVALID_TYPED_DATA'
      }
    }),
    { numRuns: 300 },
  )
})

t.test('manager: signTransaction builds each type and it decodes and recovers to the sender', async (t) => {
  const common = createChainCommon(31337n, { nativeCrypto: false })
  const mgr = new AccountManager({ dev: true })
  const [from, other] = mgr.accounts() as [Uint8Array, Uint8Array]
  const check = (req: CallRequest, type: number, name: string) => {
    const tx = mgr.signTransaction(req, common)
    const raw = tx.serialize()
    const back = createTxFromRLP(raw, { common })
    t.equal(back.type, type, `${name}: type`)
    t.equal(back.getSenderAddress().toString(), hex(from), `${name}: recovers to the sender`)
    const viaEthers = Transaction.from(hex(raw))
    t.equal(viaEthers.from, addr(from), `${name}: ethers parses and recovers`)
    t.equal(viaEthers.chainId, 31337n, `${name}: chain id`)
    return back
  }
  const base = { from, to: other, nonce: 5n, gas: 21000n, value: 10n ** 18n }
  const legacy = check({ ...base, gasPrice: 2_000_000_000n }, TransactionType.Legacy, 'legacy')
  const v = (legacy as unknown as { v: bigint }).v
  t.ok(v === 31337n * 2n + 35n || v === 31337n * 2n + 36n, 'legacy is EIP-155 protected')
  const al = [{ address: other, storageKeys: [new Uint8Array(32)] }]
  const t2930 = check({ ...base, gasPrice: 1n, accessList: al, gas: 30000n }, TransactionType.AccessListEIP2930, '2930')
  t.equal((t2930 as unknown as { accessList: unknown[] }).accessList.length, 1)
  check({ ...base, gasPrice: 1n, type: 1 }, TransactionType.AccessListEIP2930, '2930 by type')
  check({ ...base, maxFeePerGas: 3n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n }, TransactionType.FeeMarketEIP1559, '1559')
  check({ from, nonce: 0n, gas: 100000n, data: hexToBytes('0x6000'), maxFeePerGas: 10n, maxPriorityFeePerGas: 1n }, TransactionType.FeeMarketEIP1559, 'create')
  // EIP-7702: a real authorization signed with ethers by dev account 2.
  const authKey = new SigningKey(hex(devAccounts(3)[2]!.privateKey))
  const auth = { address: '0x' + '42'.repeat(20), nonce: 0n, chainId: 31337n }
  const asig = Signature.from(authKey.sign(hashAuthorization(auth)))
  const t7702 = check(
    {
      ...base,
      gas: 100000n,
      maxFeePerGas: 10n,
      maxPriorityFeePerGas: 1n,
      authorizationList: [{ chainId: 31337n, address: getBytes(auth.address), nonce: 0n, yParity: asig.yParity, r: BigInt(asig.r), s: BigInt(asig.s) }],
    },
    TransactionType.EOACodeEIP7702,
    '7702',
  )
  const parsed = Transaction.from(hex(t7702.serialize()))
  t.equal(parsed.authorizationList?.[0]?.address.toLowerCase(), auth.address, '7702 authorization survives')

  await fc.assert(
    fc.property(
      fc.record({
        nonce: fc.bigInt({ min: 0n, max: (1n << 64n) - 2n }),
        gas: fc.bigInt({ min: 21000n, max: 30_000_000n }),
        value: fc.bigInt({ min: 0n, max: (1n << 128n) }),
        data: fc.uint8Array({ maxLength: 64 }),
        to: fc.option(fc.uint8Array({ minLength: 20, maxLength: 20 }), { nil: undefined }),
        fee: fc.bigInt({ min: 1n, max: 10n ** 12n }),
        kind: fc.integer({ min: 0, max: 2 }),
        signer: fc.integer({ min: 0, max: 19 }),
      }),
      (r) => {
        const sender = mgr.accounts()[r.signer]!
        const req: CallRequest = { from: sender, nonce: r.nonce, gas: r.gas, value: r.value, data: r.data, to: r.to }
        if (r.kind === 0) req.gasPrice = r.fee
        if (r.kind === 1) Object.assign(req, { gasPrice: r.fee, accessList: [] })
        if (r.kind === 2) Object.assign(req, { maxFeePerGas: r.fee, maxPriorityFeePerGas: r.fee / 2n })
        const back = createTxFromRLP(mgr.signTransaction(req, common).serialize(), { common })
        return (
          back.type === r.kind &&
          back.getSenderAddress().toString() === hex(sender) &&
          back.nonce === r.nonce &&
          back.value === r.value &&
          hex(back.data) === hex(r.data) &&
          (r.to ? back.to?.toString() === hex(r.to) : back.to === undefined)
        )
      },
    ),
    { numRuns: 60 },
  )
})

t.test('manager: bad transaction requests', async (t) => {
  const common = createChainCommon(31337n, { nativeCrypto: false })
  const mgr = new AccountManager({ dev: true })
  const from = mgr.accounts()[0]!
  const base = { from, to: from, nonce: 0n, gas: 21000n }
  const cases: Array<[CallRequest, RegExp]> = [
    [{ ...base, gasPrice: 1n, chainId: 1n }, /chainId does not match node's \(have=1, want=31337\)/],
    [{ ...base, gasPrice: 1n, maxFeePerGas: 1n }, /both gasPrice and/],
    [{ ...base, nonce: undefined, gasPrice: 1n }, /missing nonce/],
    [{ ...base, gas: undefined, gasPrice: 1n }, /missing gas/],
    [{ ...base, maxFeePerGas: 1n }, /missing maxPriorityFeePerGas/],
    [{ ...base, maxFeePerGas: 1n, maxPriorityFeePerGas: 2n }, /maxFeePerGas \(1\) < maxPriorityFeePerGas \(2\)/],
    [{ ...base, type: 0 }, /missing gasPrice/],
    [{ ...base, gasPrice: 1n, type: 2 }, /does not match the given fields/],
    [{ ...base, type: 3, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n }, /does not match/],
    [{ ...base, to: undefined, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n, authorizationList: [] }, /cannot create contracts/],
    [{ ...base, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n, authorizationList: [] }, /empty authorization list/],
    [{ from: undefined, nonce: 0n, gas: 21000n, gasPrice: 1n }, /missing from/],
  ]
  for (const [req, re] of cases) {
    const e = await rejectsCode(t, () => mgr.signTransaction(req, common), 'ACCOUNTS_INVALID_TX_REQUEST')
    t.match(e?.message, re)
  }
})

t.test('manager: AccountManager.open unlocks keystore accounts with a password file', async (t) => {
  const root = await tmp(t)
  const dir = join(root, 'keystore')
  const ks = new Keystore(dir, { scrypt: TEST_SCRYPT })
  const a = await ks.newAccount('first')
  await new Promise((r) => setTimeout(r, 5))
  const b = await ks.newAccount('second')
  await new Promise((r) => setTimeout(r, 5))
  const c = await ks.newAccount('second')
  const pw = join(root, 'pw.txt')
  await writeFile(pw, 'first\r\nsecond\n')
  const mgr = await AccountManager.open({ keystoreDir: dir, unlock: 'all', passwordFile: pw })
  t.same(mgr.accounts().map(hex), [a, b, c].map((e) => hex(e.address)), 'i-th password for i-th account, last one for the rest')
  t.equal(verifyMessage('hi', hex(mgr.sign(b.address, new TextEncoder().encode('hi')))), addr(b.address))

  const e = await rejectsCode(t, AccountManager.open({ keystoreDir: dir, unlock: [addr(b.address)], passwordFile: pw }), 'ACCOUNTS_DECRYPT')
  t.match(e?.message, `failed to unlock account ${addr(b.address)}: ${DECRYPT_FAILED}`, 'line 0 does not open b')
  const both = await AccountManager.open({ keystoreDir: dir, unlock: [a.address, c.address], passwordFile: pw, dev: true })
  t.equal(both.accounts().length, 22, 'dev accounts plus two keystore accounts')
  await rejectsCode(t, AccountManager.open({ keystoreDir: dir, unlock: 'all' }), 'ACCOUNTS_PASSWORD')
  await rejectsCode(t, AccountManager.open({ keystoreDir: dir, unlock: ['0x' + '99'.repeat(20)], passwordFile: pw }), 'ACCOUNTS_UNKNOWN_ACCOUNT')
  t.same((await AccountManager.open({ keystoreDir: dir })).accounts(), [], 'nothing unlocked without --unlock')
})
