import { randomUUID } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ctr } from '@noble/ciphers/aes.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { pbkdf2Async } from '@noble/hashes/pbkdf2.js'
import { scryptAsync } from '@noble/hashes/scrypt.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { randomBytes } from '@noble/hashes/utils.js'
import { bytesToHex, concatBytes, equalBytes, hexToBytes } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import { silentLogger } from '../common/logger.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { addressKey, parseAddress, toChecksumAddress } from './address.js'
import { AccountsError, DECRYPT_FAILED } from './errors.js'

/**
 * Web3 Secret Storage v3 keystore files, compatible with Geth, ethers and MetaMask:
 * scrypt (or pbkdf2-hmac-sha256) → 32-byte derived key; aes-128-ctr with its first half;
 * mac = keccak256(derivedKey[16..32] ‖ ciphertext).
 */

export interface ScryptParams {
  n: number
  r: number
  p: number
}

/** Geth's StandardScryptN/P: ≈ 256 MB and about a second per derivation. */
export const STANDARD_SCRYPT: Readonly<ScryptParams> = Object.freeze({ n: 262144, r: 8, p: 1 })
/** Geth's LightScryptN/P (`--lightkdf`): ≈ 4 MB. */
export const LIGHT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ n: 4096, r: 8, p: 6 })
/** Cheap parameters for tests only; offers no protection. */
export const TEST_SCRYPT: Readonly<ScryptParams> = Object.freeze({ n: 16, r: 8, p: 1 })

export interface EncryptOptions {
  /** Default 'scrypt'. */
  kdf?: 'scrypt' | 'pbkdf2'
  /** Default STANDARD_SCRYPT. */
  scrypt?: ScryptParams
  /** pbkdf2 iteration count; default 262144. */
  pbkdf2Iterations?: number
  // Fixed values for known-answer tests; random otherwise.
  salt?: Uint8Array
  iv?: Uint8Array
  uuid?: string
}

export interface ScryptKdfParams {
  dklen: number
  n: number
  r: number
  p: number
  salt: string
}

export interface Pbkdf2KdfParams {
  dklen: number
  c: number
  prf: 'hmac-sha256'
  salt: string
}

/** The JSON of a v3 keystore file (hex without 0x, as Geth writes it). */
export interface KeystoreV3 {
  version: 3
  id: string
  address?: string
  crypto: {
    cipher: 'aes-128-ctr'
    ciphertext: string
    cipherparams: { iv: string }
    kdf: 'scrypt' | 'pbkdf2'
    kdfparams: ScryptKdfParams | Pbkdf2KdfParams
    mac: string
  }
}

const DEFAULT_PBKDF2_ITERATIONS = 262144
// Upper bounds on parameters read from a file, so a hostile file cannot make us allocate or
// spin without limit. Standard Geth/ethers files are far below them.
const MAX_SCRYPT_MEM = 1024 ** 3
const MAX_PBKDF2_ITERATIONS = 10_000_000

const bad = (msg: string) => new AccountsError('BAD_KEYSTORE', `invalid keystore: ${msg}`)
const strip0x = (h: string) => (h.startsWith('0x') || h.startsWith('0X') ? h.slice(2) : h)
const hex = (b: Uint8Array) => bytesToHex(b).slice(2)

function hexField(v: unknown, name: string, len?: number): Uint8Array {
  if (typeof v !== 'string' || !/^(0x)?([0-9a-fA-F]{2})*$/.test(v)) throw bad(`${name} is not hex`)
  const b = hexToBytes('0x' + strip0x(v))
  if (len !== undefined && b.length !== len) throw bad(`${name} must be ${len} bytes`)
  return b
}

function positiveInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw bad(`${name} must be a positive integer`)
  return v
}

function checkPrivateKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== 32 || !secp256k1.utils.isValidSecretKey(key)) {
    throw new AccountsError('BAD_KEY', 'invalid secp256k1 private key')
  }
}

function passwordBytes(password: string | Uint8Array): Uint8Array {
  return typeof password === 'string' ? new TextEncoder().encode(password) : password
}

export interface ParsedKeystore {
  kdf: { kind: 'scrypt'; n: number; r: number; p: number; dklen: number; salt: Uint8Array } | { kind: 'pbkdf2'; c: number; dklen: number; salt: Uint8Array }
  iv: Uint8Array
  ciphertext: Uint8Array
  mac: Uint8Array
  address?: Uint8Array
}

/** Validates the shape of a keystore JSON (object or text) without decrypting it. */
export function parseKeystore(json: unknown): ParsedKeystore {
  let obj: unknown = json
  if (typeof json === 'string') {
    try {
      obj = JSON.parse(json)
    } catch {
      throw bad('not JSON')
    }
  }
  if (typeof obj !== 'object' || obj === null) throw bad('not an object')
  const o = obj as Record<string, unknown>
  if (o.version !== 3) throw bad(`unsupported version ${JSON.stringify(o.version)}`)
  // Some old writers capitalised the key.
  const c = (o.crypto ?? o.Crypto) as Record<string, unknown> | undefined
  if (typeof c !== 'object' || c === null) throw bad('missing crypto section')
  if (c.cipher !== 'aes-128-ctr') throw bad(`unsupported cipher ${JSON.stringify(c.cipher)}`)
  const cp = c.cipherparams as Record<string, unknown> | undefined
  const iv = hexField(cp?.iv, 'cipherparams.iv', 16)
  const ciphertext = hexField(c.ciphertext, 'ciphertext')
  if (ciphertext.length !== 32) throw bad('ciphertext must be 32 bytes')
  const mac = hexField(c.mac, 'mac', 32)
  const kp = c.kdfparams as Record<string, unknown> | undefined
  if (typeof kp !== 'object' || kp === null) throw bad('missing kdfparams')
  const dklen = positiveInt(kp.dklen, 'dklen')
  if (dklen < 32) throw bad('dklen must be at least 32')
  const salt = hexField(kp.salt, 'salt')
  let kdf: ParsedKeystore['kdf']
  if (c.kdf === 'scrypt') {
    const n = positiveInt(kp.n, 'n')
    const r = positiveInt(kp.r, 'r')
    const p = positiveInt(kp.p, 'p')
    if (n < 2 || (n & (n - 1)) !== 0) throw bad('scrypt n must be a power of two')
    if (128 * r * n > MAX_SCRYPT_MEM) throw bad('scrypt parameters need too much memory')
    if (p * r > 1 << 20) throw bad('scrypt p·r too large')
    kdf = { kind: 'scrypt', n, r, p, dklen, salt }
  } else if (c.kdf === 'pbkdf2') {
    if (kp.prf !== 'hmac-sha256') throw bad(`unsupported pbkdf2 prf ${JSON.stringify(kp.prf)}`)
    const iters = positiveInt(kp.c, 'c')
    if (iters > MAX_PBKDF2_ITERATIONS) throw bad('pbkdf2 iteration count too large')
    kdf = { kind: 'pbkdf2', c: iters, dklen, salt }
  } else {
    throw bad(`unsupported kdf ${JSON.stringify(c.kdf)}`)
  }
  let address: Uint8Array | undefined
  if (o.address !== undefined) {
    try {
      address = parseAddress(String(o.address))
    } catch {
      throw bad('address field is not an address')
    }
  }
  return { kdf, iv, ciphertext, mac, address }
}

/** The address a keystore file claims (its `address` field), or undefined. Does not decrypt. */
export function keystoreAddress(json: unknown): Uint8Array | undefined {
  return parseKeystore(json).address
}

async function deriveKey(password: Uint8Array, kdf: ParsedKeystore['kdf']): Promise<Uint8Array> {
  if (kdf.kind === 'scrypt') {
    return scryptAsync(password, kdf.salt, { N: kdf.n, r: kdf.r, p: kdf.p, dkLen: kdf.dklen, maxmem: MAX_SCRYPT_MEM + 1024 * 1024 })
  }
  return pbkdf2Async(sha256, password, kdf.salt, { c: kdf.c, dkLen: kdf.dklen })
}

const macOf = (derived: Uint8Array, ciphertext: Uint8Array) => keccak_256(concatBytes(derived.subarray(16, 32), ciphertext))

/** Encrypts a private key into a v3 keystore JSON object. */
export async function encryptKeystore(privateKey: Uint8Array, password: string | Uint8Array, opts: EncryptOptions = {}): Promise<KeystoreV3> {
  checkPrivateKey(privateKey)
  const salt = opts.salt ?? randomBytes(32)
  const iv = opts.iv ?? randomBytes(16)
  if (iv.length !== 16) throw new AccountsError('BAD_KEYSTORE', 'iv must be 16 bytes')
  let kdf: ParsedKeystore['kdf']
  let kdfparams: KeystoreV3['crypto']['kdfparams']
  if ((opts.kdf ?? 'scrypt') === 'scrypt') {
    const { n, r, p } = opts.scrypt ?? STANDARD_SCRYPT
    if (n < 2 || (n & (n - 1)) !== 0) throw new AccountsError('BAD_KEYSTORE', 'scrypt n must be a power of two')
    kdf = { kind: 'scrypt', n, r, p, dklen: 32, salt }
    kdfparams = { dklen: 32, n, p, r, salt: hex(salt) }
  } else {
    const c = opts.pbkdf2Iterations ?? DEFAULT_PBKDF2_ITERATIONS
    kdf = { kind: 'pbkdf2', c, dklen: 32, salt }
    kdfparams = { c, dklen: 32, prf: 'hmac-sha256', salt: hex(salt) }
  }
  const derived = await deriveKey(passwordBytes(password), kdf)
  const ciphertext = ctr(derived.subarray(0, 16), iv).encrypt(privateKey)
  const mac = macOf(derived, ciphertext)
  derived.fill(0)
  return {
    version: 3,
    id: opts.uuid ?? randomUUID(),
    address: hex(privateKeyToAddress(privateKey)),
    crypto: {
      cipher: 'aes-128-ctr',
      ciphertext: hex(ciphertext),
      cipherparams: { iv: hex(iv) },
      kdf: kdf.kind,
      kdfparams,
      mac: hex(mac),
    },
  }
}

/**
 * Decrypts a v3 keystore (object or JSON text) and returns the 32-byte private key.
 * A wrong password is an AccountsError with Geth's "could not decrypt key with given password".
 * Passwords are used as their UTF-8 bytes (Geth); if that fails and the NFKD form differs,
 * that is tried too, since ethers normalises passwords to NFKD when it writes files.
 */
export async function decryptKeystore(json: unknown, password: string | Uint8Array): Promise<Uint8Array> {
  const ks = parseKeystore(json)
  const candidates = [passwordBytes(password)]
  if (typeof password === 'string' && password.normalize('NFKD') !== password) candidates.push(passwordBytes(password.normalize('NFKD')))
  for (const pw of candidates) {
    const derived = await deriveKey(pw, ks.kdf)
    if (!equalBytes(macOf(derived, ks.ciphertext), ks.mac)) {
      derived.fill(0)
      continue
    }
    const key = ctr(derived.subarray(0, 16), ks.iv).decrypt(ks.ciphertext)
    derived.fill(0)
    if (!secp256k1.utils.isValidSecretKey(key)) throw new AccountsError('BAD_KEYSTORE', 'invalid keystore: decrypted key is not a valid secp256k1 key')
    if (ks.address) {
      const have = privateKeyToAddress(key)
      if (!equalBytes(have, ks.address)) {
        key.fill(0)
        throw new AccountsError('ADDRESS_MISMATCH', `key content mismatch: have account ${bytesToHex(have)}, want ${bytesToHex(ks.address)}`)
      }
    }
    return key
  }
  throw new AccountsError('DECRYPT', DECRYPT_FAILED)
}

/** Geth's key file name: `UTC--2006-01-02T15-04-05.000000000Z--<address hex>`. */
export function keystoreFileName(address: Uint8Array, at: Date = new Date()): string {
  const iso = at.toISOString() // 2006-01-02T15:04:05.123Z
  const [date, time] = iso.slice(0, -1).split('T') as [string, string]
  const [hms, ms = '000'] = time.split('.') as [string, string?]
  return `UTC--${date}T${hms.replaceAll(':', '-')}.${ms.padEnd(9, '0')}Z--${hex(parseAddress(address))}`
}

export interface KeystoreEntry {
  address: Uint8Array
  /** Absolute path of the key file. */
  path: string
}

export interface KeystoreOptions {
  /** KDF parameters for keys this keystore writes; default STANDARD_SCRYPT. */
  scrypt?: ScryptParams
}

/**
 * A directory of key files (Geth's `<datadir>/keystore`). Listing reads only the `address`
 * field of each file; keys are decrypted only by `unlock`.
 */
export class Keystore {
  readonly dir: string
  readonly #scrypt: ScryptParams
  readonly #logger: Logger

  constructor(dir: string, opts: KeystoreOptions = {}, deps: { logger?: Logger } = {}) {
    this.dir = dir
    this.#scrypt = opts.scrypt ?? STANDARD_SCRYPT
    this.#logger = deps.logger ?? silentLogger
  }

  /** Every key file in the directory with its claimed address, sorted by file name (= creation time). */
  async list(): Promise<KeystoreEntry[]> {
    let names: string[]
    try {
      names = await readdir(this.dir)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw e
    }
    names.sort()
    const out: KeystoreEntry[] = []
    for (const name of names) {
      // Skip what Geth skips: hidden files (our temp files), editor backups, READMEs.
      if (name.startsWith('.') || name.endsWith('~') || name === 'README' || name.endsWith('.md')) continue
      const path = join(this.dir, name)
      try {
        const st = await stat(path)
        if (!st.isFile() || st.size > 64 * 1024) continue
        const address = keystoreAddress(await readFile(path, 'utf8'))
        if (!address) {
          this.#logger.debug({ path }, 'keystore file without address, skipped')
          continue
        }
        out.push({ address, path })
      } catch (e) {
        this.#logger.debug({ path, err: (e as Error).message }, 'not a keystore file, skipped')
      }
    }
    return out
  }

  /** The key file of an address; throws "unknown account" when none, an error when several. */
  async find(address: Uint8Array | string): Promise<KeystoreEntry> {
    const key = addressKey(address)
    const hits = (await this.list()).filter((e) => bytesToHex(e.address) === key)
    if (hits.length === 0) throw new AccountsError('UNKNOWN_ACCOUNT', 'unknown account')
    if (hits.length > 1) {
      throw new AccountsError('BAD_KEYSTORE', `multiple keys match address ${toChecksumAddress(hits[0]!.address)}: ${hits.map((h) => h.path).join(', ')}`)
    }
    return hits[0]!
  }

  async has(address: Uint8Array | string): Promise<boolean> {
    const key = addressKey(address)
    return (await this.list()).some((e) => bytesToHex(e.address) === key)
  }

  /** Generates a fresh key and stores it encrypted. */
  async newAccount(password: string | Uint8Array): Promise<KeystoreEntry> {
    const key = secp256k1.utils.randomSecretKey()
    try {
      return await this.#store(key, password)
    } finally {
      key.fill(0)
    }
  }

  /** Stores an existing key; refuses one already in the directory (Geth: "account already exists"). */
  async importKey(privateKey: Uint8Array, password: string | Uint8Array): Promise<KeystoreEntry> {
    checkPrivateKey(privateKey)
    if (await this.has(privateKeyToAddress(privateKey))) throw new AccountsError('ACCOUNT_EXISTS', 'account already exists')
    return this.#store(privateKey, password)
  }

  /** Decrypts the key of an address. */
  async unlock(address: Uint8Array | string, password: string | Uint8Array): Promise<Uint8Array> {
    const entry = await this.find(address)
    return decryptKeystore(await readFile(entry.path, 'utf8'), password)
  }

  async #store(privateKey: Uint8Array, password: string | Uint8Array): Promise<KeystoreEntry> {
    const json = await encryptKeystore(privateKey, password, { scrypt: this.#scrypt })
    const address = privateKeyToAddress(privateKey)
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    const path = join(this.dir, keystoreFileName(address))
    // Write to a hidden temp file then rename, so a crash never leaves a half-written key.
    const tmp = join(this.dir, `.${keystoreFileName(address)}.${randomUUID()}.tmp`)
    try {
      await writeFile(tmp, JSON.stringify(json), { mode: 0o600, flag: 'wx' })
      await rename(tmp, path)
    } catch (e) {
      await rm(tmp, { force: true })
      throw e
    }
    this.#logger.info({ address: toChecksumAddress(address), path }, 'stored key')
    return { address, path }
  }
}
