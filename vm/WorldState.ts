import type { Common } from '@ethereumjs/common'
import { createMPT } from '@ethereumjs/mpt'
import { Caches, MerkleStateManager } from '@ethereumjs/statemanager'
import { createVM, type VM } from '@ethereumjs/vm'
import type { EVMMockBlockchainInterface } from '@ethereumjs/evm'
import { RLP } from '@ethereumjs/rlp'
import { Account, Address, createAccountFromRLP } from '@ethereumjs/util'
import type { ChainDB } from '../chain/Database.js'
import { bytesToHex, equalBytes } from '../common/bytes.js'
import { povEvmOpts } from './EvidencePrecompile.js'
import { installJumpAnalysisCache } from './JumpAnalysisCache.js'
import { installMemoryWordOps } from './MemoryWordOps.js'
import { TrieDatabase } from './TrieDatabase.js'

/** Where BLOCKHASH looks up ancestors (the canonical chain). */
export interface BlockHashSource {
  canonicalHash(number: bigint): Promise<Uint8Array | undefined>
}

const ZERO_HASH = new Uint8Array(32)

/**
 * The world state: accounts, code and storage in Merkle-Patricia tries stored in the node's
 * LevelDB. One long-lived state manager with caches follows the head and executes blocks;
 * reads at other blocks get their own uncached view of the trie at that block's root (all
 * roots stay readable: the node keeps every trie node).
 */
export class WorldState {
  readonly trieDb: TrieDatabase
  private headSM!: MerkleStateManager
  private headVM!: VM
  private headRoot?: Uint8Array

  constructor(
    private readonly db: ChainDB,
    readonly common: Common,
    private readonly hashes: BlockHashSource,
  ) {
    this.trieDb = new TrieDatabase(db)
  }

  private blockchainShim(): EVMMockBlockchainInterface {
    const hashes = this.hashes
    const shim: EVMMockBlockchainInterface = {
      async getBlock(n: number) {
        const h = (await hashes.canonicalHash(BigInt(n))) ?? ZERO_HASH
        return { hash: () => h } as never
      },
      async putBlock() {},
      shallowCopy: () => shim,
    }
    return shim
  }

  private async newStateManager(root: Uint8Array | undefined, cacheEntries: number): Promise<MerkleStateManager> {
    const trie = await createMPT({
      db: this.trieDb,
      useKeyHashing: true,
      valueEncoding: 'view',
      cacheSize: 0,
      common: this.common,
    })
    const sm = new MerkleStateManager({
      trie,
      common: this.common,
      caches: cacheEntries > 0
        ? new Caches({ account: { size: cacheEntries }, storage: { size: cacheEntries }, code: { size: Math.max(16, cacheEntries >> 4) } })
        : undefined,
    })
    if (root) await sm.setStateRoot(root)
    return sm
  }

  private async newVM(sm: MerkleStateManager): Promise<VM> {
    // Faster equivalents of @ethereumjs/evm internals, installed before the first EVM is built.
    await installJumpAnalysisCache()
    await installMemoryWordOps()
    // Every VM of the node carries the node's own precompiles (slashing evidence).
    // Each VM gets its own copy of the Common (a shallow copy with its own event emitter: cheap,
    // and the preset params stay): the EVM subscribes to its Common's 'hardforkChanged', and on
    // the node's one shared Common those listeners kept every VM ever built alive — call and
    // scratch VMs, their state managers and caches — about 60 KiB a VM, 170 MiB of heap in a
    // 20-minute p2p fuzz run (found with test/helpers/heapSampling.ts).
    return createVM({ common: this.common.copy(), stateManager: sm, blockchain: this.blockchainShim() as never, setHardfork: false, evmOpts: povEvmOpts() })
  }

  /** The executing VM positioned at `root` (usually already there: the head's root). */
  async vmAt(root: Uint8Array | undefined): Promise<VM> {
    if (!this.headVM) {
      this.headSM = await this.newStateManager(root, 200_000)
      this.headVM = await this.newVM(this.headSM)
      this.headRoot = root
    } else if (root && !(this.headRoot && equalBytes(this.headRoot, root))) {
      await this.headSM.setStateRoot(root)
      this.headRoot = root
    }
    return this.headVM
  }

  /**
   * Account reads at `root` for work that runs between blocks on the chain's queue (the pool
   * moving to a new head): served by the executing state manager, whose caches are warm, when
   * it sits at that root; otherwise by a reader.
   */
  async accountAt(root: Uint8Array, address: Uint8Array): Promise<{ nonce: bigint; balance: bigint } | undefined> {
    const idleAtRoot = !this.executing && this.headSM && this.headRoot && equalBytes(this.headRoot, root)
    const sm = idleAtRoot ? this.headSM : await this.readerAt(root)
    return sm.getAccount(new Address(address))
  }

  /** Set by the executor while a block runs: the head state manager then holds uncommitted state. */
  executing = false

  /** Records that the head state manager now sits at `root` (after a committed execution). */
  markHeadRoot(root: Uint8Array): void {
    this.headRoot = root
  }

  /** Forgets the head state manager's position, e.g. after a failed execution. */
  invalidateHead(): void {
    this.headRoot = undefined
    this.trieDb.discard()
  }

  /**
   * A shared read-only state manager at `root` (balances, nonces, code, storage). Readers of
   * the last few roots are kept with warm caches: most reads hit the head. Never execute on
   * one: use `scratchVM`.
   */
  async readerAt(root: Uint8Array): Promise<MerkleStateManager> {
    const key = Buffer.from(root).toString('hex')
    let r = this.readers.get(key)
    if (!r) {
      r = this.newStateManager(root, 20_000)
      this.readers.set(key, r)
      if (this.readers.size > 8) this.readers.delete(this.readers.keys().next().value!)
    }
    return r
  }
  private readers = new Map<string, Promise<MerkleStateManager>>()

  private idleCallVMs = new Map<string, VM[]>()
  // Trie reads at each pooled root, kept across calls: a call's checkpoint revert drops what it
  // read from the state manager's caches, and re-walking the trie was most of a small call.
  private rootReads = new Map<string, RootReads>()

  /**
   * Runs `fn` on a VM at `root` whose every change is rolled back afterwards. VMs are reused
   * across calls (building one costs milliseconds: the EVM's opcode tables and Common), at most
   * a few per root for the last few roots; concurrent calls each get their own.
   */
  async withCallVM<T>(root: Uint8Array, fn: (vm: VM) => Promise<T>): Promise<T> {
    const key = Buffer.from(root).toString('hex')
    const vm = this.idleCallVMs.get(key)?.pop() ?? (await this.callVM(key, root))
    const sm = vm.stateManager
    await sm.checkpoint()
    let clean = false
    try {
      const out = await fn(vm)
      clean = true
      return out
    } finally {
      await sm.revert()
      if (clean) this.releaseCallVM(key, vm)
    }
  }

  private releaseCallVM(key: string, vm: VM): void {
    let list = this.idleCallVMs.get(key)
    if (!list) {
      list = []
      this.idleCallVMs.set(key, list)
      if (this.idleCallVMs.size > 4) {
        const old = this.idleCallVMs.keys().next().value!
        this.idleCallVMs.delete(old)
        this.rootReads.delete(old)
      }
    }
    if (list.length < 8) list.push(vm)
  }

  private async callVM(key: string, root: Uint8Array): Promise<VM> {
    let reads = this.rootReads.get(key)
    if (!reads) {
      reads = { accounts: new Map(), storage: new Map() }
      this.rootReads.set(key, reads)
      if (this.rootReads.size > 8) this.rootReads.delete(this.rootReads.keys().next().value!)
    }
    const vm = await this.scratchVM(root)
    memoizeTrieReads(vm.stateManager as MerkleStateManager, reads)
    return vm
  }

  /** A throw-away VM for tracing (and calls) at `root`. */
  async scratchVM(root: Uint8Array): Promise<VM> {
    return this.newVM(await this.newStateManager(root, 512))
  }

  /** A fresh VM at the empty root, used only to build genesis. */
  async genesisVM(): Promise<VM> {
    const sm = await this.newStateManager(undefined, 0)
    return this.newVM(sm)
  }
}

/**
 * What createAccountFromRLP(account.serialize()) gives, without the round trip: the two
 * bigints are immutable and the roots are shared as a decoding's subarrays of one memoised RLP
 * were (the state manager replaces an account's roots, it never writes into them).
 */
export function copyAccount(a: Account): Account {
  return new Account(a.nonce, a.balance, a.storageRoot, a.codeHash)
}

/** Trie values read at one state root (null = absent), shared by that root's call VMs. */
interface RootReads {
  /** Decoded accounts by address hex; readers get copies (the EVM edits the accounts it reads). */
  accounts: Map<string, Account | null>
  /** Slot value RLP by storage-trie root hex ‖ slot hex: storage tries are content-addressed. */
  storage: Map<string, Uint8Array | null>
}

const MAX_ROOT_READS = 50_000
/** keccak(address) hex without 0x, the key of MerkleStateManager's open storage tries. */
const hashedAddresses = new Map<string, string>()

/** MerkleStateManager's members that its getAccount/getStorage use (not in its typings). */
interface StateManagerInternals {
  _trie: { get(key: Uint8Array): Promise<Uint8Array | null> }
  _caches?: Caches
  _getStorageTrie(address: Address, account: Account): { root(): Uint8Array; get(key: Uint8Array): Promise<Uint8Array | null> }
  /** Storage tries opened since the last checkpoint revert, by keccak(address) hex. */
  _storageTries: Record<string, { root(): Uint8Array } | undefined>
  keccakFunction(b: Uint8Array): Uint8Array
}

/**
 * Makes a call VM's state manager answer its cache misses from `reads` before the trie. Same
 * order and results as MerkleStateManager's own getAccount/getStorage (its caches first: they
 * hold the call's own writes; trie values are those of the VM's root, which a call never moves:
 * writes reach the trie only on a flush at checkpoint depth 0, i.e. after the call's revert).
 */
function memoizeTrieReads(sm: MerkleStateManager, reads: RootReads): void {
  const inner = sm as unknown as StateManagerInternals
  const remember = <V>(map: Map<string, V>, key: string, value: V) => {
    if (map.size >= MAX_ROOT_READS) map.clear()
    map.set(key, value)
  }
  sm.getAccount = async (address: Address): Promise<Account | undefined> => {
    const elem = inner._caches?.account?.get(address)
    if (elem !== undefined) return elem.accountRLP !== undefined ? createAccountFromRLP(elem.accountRLP) : undefined
    const key = bytesToHex(address.bytes)
    let account = reads.accounts.get(key)
    if (account === undefined) {
      const rlp = await inner._trie.get(address.bytes)
      account = rlp !== null ? createAccountFromRLP(rlp) : null
      remember(reads.accounts, key, account)
    }
    // Not copied into the state manager's cache: that re-serialises the account, and the memo
    // answers the next read as well. The cache keeps only the call's own writes. A copy of the
    // decoded account, not a decoding per read: a call reads an account 3–4 times (RLP decoding
    // and the hex round trip of bytesToBigInt were ≈ 5 % of an in-process eth_call).
    return account !== null ? copyAccount(account) : undefined
  }
  const ownGetStorage = sm.getStorage.bind(sm)
  sm.getStorage = async (address: Address, slot: Uint8Array): Promise<Uint8Array> => {
    if (slot.length !== 32) return ownGetStorage(address, slot)
    const cached = inner._caches?.storage?.get(address, slot)
    if (cached !== undefined) return RLP.decode(cached) as Uint8Array
    const account = await sm.getAccount(address)
    if (!account) return new Uint8Array()
    // The slot's storage trie root: that of the trie the call has open (an override may have
    // cleared it), else the account's — what _getStorageTrie would open it at. Opening one is a
    // trie copy, so only on a memo miss.
    const addressHex = bytesToHex(address.bytes)
    let hashed = hashedAddresses.get(addressHex)
    if (hashed === undefined) {
      hashed = bytesToHex(inner.keccakFunction(address.bytes)).slice(2)
      if (hashedAddresses.size >= MAX_ROOT_READS) hashedAddresses.clear()
      hashedAddresses.set(addressHex, hashed)
    }
    const open = inner._storageTries[hashed]
    const key = bytesToHex(open ? open.root() : account.storageRoot) + bytesToHex(slot).slice(2)
    let value = reads.storage.get(key)
    if (value === undefined) {
      value = await inner._getStorageTrie(address, account).get(slot)
      remember(reads.storage, key, value)
    }
    return RLP.decode(value ?? new Uint8Array(0)) as Uint8Array
  }
  // SSTORE's gas asks for a slot's value at the start of the call through this cache, which
  // holds the state manager's own getStorage (caches, then the trie): give it the memo too.
  ;(sm.originalStorageCache as unknown as { getStorage: typeof sm.getStorage }).getStorage = sm.getStorage
}

