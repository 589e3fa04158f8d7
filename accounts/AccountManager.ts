import { readFile } from 'node:fs/promises'
import type { Common } from '@ethereumjs/common'
import { createTx, TransactionType, type TypedTransaction, type TypedTxData } from '@ethereumjs/tx'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { bigintToBytes, bytesToHex, concatBytes } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import { silentLogger } from '../common/logger.js'
import { privateKeyToAddress, signDigest } from '../chain/Signing.js'
import { addressKey, parseAddress, toChecksumAddress } from './address.js'
import { DEV_ACCOUNT_COUNT, devAccounts } from './DevAccounts.js'
import { AccountsError, DECRYPT_FAILED, UNKNOWN_ACCOUNT } from './errors.js'
import { Keystore, type KeystoreOptions } from './Keystore.js'
import { typedDataDigest } from './typedData.js'

export interface AccountManagerOptions {
  /** Unlock the twenty dev accounts (`--dev`). */
  dev?: boolean
  /** Keystore directory to unlock accounts from (`<datadir>/keystore`). */
  keystoreDir?: string
  /** Addresses to unlock from the keystore, or 'all'. Needs `passwordFile`. */
  unlock?: Array<string | Uint8Array> | 'all'
  /**
   * Password file as Geth reads it: one password per line; the i-th unlocked account uses
   * line i, or the last line when there are fewer lines than accounts.
   */
  passwordFile?: string
}

/** EIP-191 version 0x45 digest that eth_sign / personal_sign sign. */
export function personalMessageDigest(message: Uint8Array): Uint8Array {
  const prefix = new TextEncoder().encode(`\x19Ethereum Signed Message:\n${message.length}`)
  return keccak_256(concatBytes(prefix, message))
}

/** Reads a password file: lines without their line terminator; a trailing newline adds no line. */
export async function readPasswordFile(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8')
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop()
  return lines
}

/**
 * The node's unlocked signing keys. In `--dev` these are the dev accounts; otherwise only keys
 * unlocked from the keystore with a password file. Keys live in a private field and are never
 * logged, serialised or put into error messages.
 */
export class AccountManager {
  readonly #keys = new Map<string, Uint8Array>()
  readonly #logger: Logger

  constructor(options: { dev?: boolean } = {}, deps: { logger?: Logger } = {}) {
    this.#logger = deps.logger ?? silentLogger
    if (options.dev) this.addDevAccounts()
  }

  /** Builds a manager from node options: dev accounts and/or keystore accounts with a password file. */
  static async open(options: AccountManagerOptions, deps: { logger?: Logger } = {}): Promise<AccountManager> {
    const mgr = new AccountManager({ dev: options.dev }, deps)
    const wanted = options.unlock
    if (wanted !== undefined && (wanted === 'all' || wanted.length > 0)) {
      if (!options.keystoreDir) throw new AccountsError('PASSWORD', 'unlocking accounts needs a keystore directory')
      if (!options.passwordFile) throw new AccountsError('PASSWORD', 'unlocking accounts needs a password file (--password)')
      await mgr.unlockFromKeystore(new Keystore(options.keystoreDir, {}, deps), wanted, await readPasswordFile(options.passwordFile))
    }
    return mgr
  }

  /** Holds a key unlocked; returns its address. */
  addKey(privateKey: Uint8Array): Uint8Array {
    if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32 || !secp256k1.utils.isValidSecretKey(privateKey)) {
      throw new AccountsError('BAD_KEY', 'invalid secp256k1 private key')
    }
    const address = privateKeyToAddress(privateKey)
    this.#keys.set(bytesToHex(address), privateKey.slice())
    return address
  }

  addDevAccounts(count: number = DEV_ACCOUNT_COUNT): Uint8Array[] {
    const out = devAccounts(count).map((a) => this.addKey(a.privateKey))
    this.#logger.info({ count: out.length, first: toChecksumAddress(out[0]!) }, 'dev accounts unlocked')
    return out
  }

  /**
   * Decrypts keystore accounts and holds them. `passwords` follows Geth's --password rule:
   * password i for account i, the last one for the rest.
   */
  async unlockFromKeystore(keystore: Keystore, which: Array<string | Uint8Array> | 'all', passwords: string[]): Promise<Uint8Array[]> {
    if (passwords.length === 0) throw new AccountsError('PASSWORD', 'password file is empty')
    const addresses = which === 'all' ? (await keystore.list()).map((e) => e.address) : which.map((a) => parseAddress(a))
    const out: Uint8Array[] = []
    for (const [i, address] of addresses.entries()) {
      const password = passwords[Math.min(i, passwords.length - 1)]!
      let key: Uint8Array
      try {
        key = await keystore.unlock(address, password)
      } catch (e) {
        if (e instanceof AccountsError && e.code === 'ACCOUNTS_DECRYPT') {
          throw new AccountsError('DECRYPT', `failed to unlock account ${toChecksumAddress(address)}: ${DECRYPT_FAILED}`, { cause: e })
        }
        throw e
      }
      out.push(this.addKey(key))
      key.fill(0)
      this.#logger.info({ address: toChecksumAddress(address) }, 'unlocked account')
    }
    return out
  }

  /** Forgets a key; returns whether it was held. */
  lock(address: Uint8Array | string): boolean {
    const k = addressKey(address)
    const key = this.#keys.get(k)
    key?.fill(0)
    return this.#keys.delete(k)
  }

  /** Unlocked addresses in the order they were added (dev account 0 first). */
  accounts(): Uint8Array[] {
    return [...this.#keys.keys()].map((k) => parseAddress(k))
  }

  has(address: Uint8Array | string): boolean {
    try {
      return this.#keys.has(addressKey(address))
    } catch {
      return false
    }
  }

  /** eth_sign: EIP-191 personal-message signature, 65 bytes r ‖ s ‖ v with v ∈ {27, 28}. */
  sign(address: Uint8Array | string, message: Uint8Array): Uint8Array {
    return this.#signDigest27(address, personalMessageDigest(message))
  }

  /** eth_signTypedData_v4: EIP-712 signature over the typed-data JSON (text or object). */
  signTypedData(address: Uint8Array | string, typedData: unknown): Uint8Array {
    const key = this.#key(address) // unknown account wins over malformed data, as in Geth
    return this.#withV27(signDigest(typedDataDigest(typedData), key))
  }

  /**
   * Builds and signs a transaction from a filled-in request (from, nonce and gas required;
   * the caller fills defaults from chain state). The type follows the fields, as Geth does:
   * authorizationList → EIP-7702; gasPrice → legacy, or EIP-2930 with an access list;
   * otherwise EIP-1559. An explicit `type` must agree with the fields.
   */
  signTransaction(request: TxRequest, common: Common): TypedTransaction {
    if (!request.from) throw invalidTx('missing from')
    const key = this.#key(request.from)
    const txData = buildTxData(request, common)
    let tx: TypedTransaction
    try {
      tx = createTx(txData, { common }).sign(key)
    } catch (e) {
      throw invalidTx((e as Error).message.split('\n')[0] ?? 'cannot build transaction', e)
    }
    return tx
  }

  #key(address: Uint8Array | string): Uint8Array {
    let k: string
    try {
      k = addressKey(address)
    } catch {
      throw new AccountsError('UNKNOWN_ACCOUNT', UNKNOWN_ACCOUNT)
    }
    const key = this.#keys.get(k)
    if (!key) throw new AccountsError('UNKNOWN_ACCOUNT', UNKNOWN_ACCOUNT)
    return key
  }

  #signDigest27(address: Uint8Array | string, digest: Uint8Array): Uint8Array {
    return this.#withV27(signDigest(digest, this.#key(address)))
  }

  #withV27(sig: Uint8Array): Uint8Array {
    sig[64] = sig[64]! + 27
    return sig
  }

  // Keep keys out of JSON.stringify and util.inspect.
  toJSON(): { accounts: string[] } {
    return { accounts: this.accounts().map(toChecksumAddress) }
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `AccountManager { ${this.#keys.size} unlocked }`
  }
}

/**
 * A transaction request as eth_sendTransaction / eth_signTransaction receive it (the shape of
 * rpc/'s CallRequest, declared here so that accounts/ depends on chain/ only).
 */
export interface TxRequest {
  from?: Uint8Array
  to?: Uint8Array
  gas?: bigint
  gasPrice?: bigint
  maxFeePerGas?: bigint
  maxPriorityFeePerGas?: bigint
  value?: bigint
  data?: Uint8Array
  nonce?: bigint
  type?: number
  accessList?: { address: Uint8Array; storageKeys: Uint8Array[] }[]
  authorizationList?: { chainId: bigint; address: Uint8Array; nonce: bigint; yParity: number; r: bigint; s: bigint }[]
  chainId?: bigint
}

const invalidTx = (msg: string, cause?: unknown) => new AccountsError('INVALID_TX_REQUEST', msg, cause === undefined ? undefined : { cause })

function buildTxData(req: TxRequest, common: Common): TypedTxData {
  const chainId = common.chainId()
  if (req.chainId !== undefined && req.chainId !== chainId) throw invalidTx(`chainId does not match node's (have=${req.chainId}, want=${chainId})`)
  if (req.nonce === undefined) throw invalidTx('missing nonce')
  if (req.gas === undefined) throw invalidTx('missing gas')
  const has1559Fees = req.maxFeePerGas !== undefined || req.maxPriorityFeePerGas !== undefined
  if (req.gasPrice !== undefined && has1559Fees) throw invalidTx('both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified')

  let type: TransactionType
  if (req.authorizationList !== undefined || req.type === TransactionType.EOACodeEIP7702) type = TransactionType.EOACodeEIP7702
  else if (req.gasPrice !== undefined) type = req.accessList !== undefined || req.type === TransactionType.AccessListEIP2930 ? TransactionType.AccessListEIP2930 : TransactionType.Legacy
  else if (req.type === TransactionType.Legacy || req.type === TransactionType.AccessListEIP2930) throw invalidTx('missing gasPrice')
  else type = TransactionType.FeeMarketEIP1559
  if (req.type !== undefined && req.type !== type) {
    throw invalidTx(`transaction type ${req.type} does not match the given fields (they describe type ${type})`)
  }

  const base = {
    nonce: req.nonce,
    gasLimit: req.gas,
    to: req.to,
    value: req.value ?? 0n,
    data: req.data ?? new Uint8Array(0),
  }
  const accessList = (req.accessList ?? []).map((a) => [parseAddress(a.address), a.storageKeys] as [Uint8Array, Uint8Array[]])
  switch (type) {
    case TransactionType.Legacy:
      return { ...base, type, gasPrice: req.gasPrice }
    case TransactionType.AccessListEIP2930:
      return { ...base, type, chainId, gasPrice: req.gasPrice, accessList }
    case TransactionType.FeeMarketEIP1559:
    case TransactionType.EOACodeEIP7702: {
      if (req.maxFeePerGas === undefined) throw invalidTx('missing maxFeePerGas')
      if (req.maxPriorityFeePerGas === undefined) throw invalidTx('missing maxPriorityFeePerGas')
      if (req.maxPriorityFeePerGas > req.maxFeePerGas) {
        throw invalidTx(`maxFeePerGas (${req.maxFeePerGas}) < maxPriorityFeePerGas (${req.maxPriorityFeePerGas})`)
      }
      const fees = { ...base, chainId, maxFeePerGas: req.maxFeePerGas, maxPriorityFeePerGas: req.maxPriorityFeePerGas, accessList }
      if (type === TransactionType.FeeMarketEIP1559) return { ...fees, type }
      if (!req.to) throw invalidTx('EIP-7702 transactions cannot create contracts (missing to)')
      if (!req.authorizationList || req.authorizationList.length === 0) throw invalidTx('EIP-7702 transaction with empty authorization list')
      const authorizationList = req.authorizationList.map(
        (a) =>
          [bigintToBytes(a.chainId), parseAddress(a.address), bigintToBytes(a.nonce), bigintToBytes(BigInt(a.yParity)), bigintToBytes(a.r), bigintToBytes(a.s)] as [
            Uint8Array,
            Uint8Array,
            Uint8Array,
            Uint8Array,
            Uint8Array,
            Uint8Array,
          ],
      )
      return { ...fees, type, authorizationList }
    }
    default:
      throw invalidTx(`unsupported transaction type ${type}`)
  }
}
