import { readFileSync, writeFileSync } from 'node:fs'
import { Command, InvalidArgumentError, Option } from 'commander'
import cliProgress from 'cli-progress'
import { encodeFunctionData, formatEther, getAddress, isAddress, isHex, type Address, type Hex } from 'viem'
import { hexToBytes } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import { noopMetrics } from '../common/metrics.js'
import { BridgeError } from './BridgeError.js'
import { addSwapBridgeToGenesis, DEFAULT_SWAP_BRIDGE_ADDRESS, paramsFromSnapshot, swapBridgeGenesisEntry } from './BridgeGenesis.js'
import { EthereumRpc } from './EthereumRpc.js'
import { LockRelay } from './LockRelay.js'
import { proofFor, readProofSource, readSnapshot, takeSnapshot } from './Snapshot.js'
import { LOCK_STATUS, SWAP_BRIDGE_ABI, SWAP_LOCK_ABI } from './SwapBridgeAbi.js'
import { addressOfKey, claimDigest, claimTypedData, signDigest } from './SwapMessages.js'
import { settleLocks } from './LockSettlement.js'
import { SWAP_LOCK_ERROR_MEANINGS } from './RevertReason.js'
import { checkSwapLockForGenesis, deploySwapLock } from './SwapLockDeployment.js'
import { readBridgeStatus, readTotalSupply } from './BridgeStatus.js'
import { TransactionSender } from './TransactionSender.js'

export interface BridgeCliIo {
  out(s: string): void
  err(s: string): void
  isTTY: boolean
}

/** What the node's CLI hands the bridge commands (bridge/ may not import node/ or genesis/). */
export interface BridgeCliContext {
  logger: Logger
  io?: BridgeCliIo
  /** Decrypts a Web3 v3 keystore file; `passwordFile` holds the password on its first line (else prompt). */
  unlockKeystore(file: string, passwordFile?: string): Promise<Uint8Array>
  /** A built-in genesis preset (e.g. `dev`) as genesis JSON. */
  genesisPreset?(name: string): unknown
  /** The shipped creation code of a project contract (dist/contracts), e.g. SwapLock for `deploy-lock`. */
  contractBytecode?(name: string): Hex
}

const address = (name: string) => (v: string): Address => {
  if (!isAddress(v)) throw new InvalidArgumentError(`${name} must be a 0x address`)
  return getAddress(v)
}
const addressList = (name: string) => (v: string): Address[] => v.split(',').map((s) => s.trim()).filter(Boolean).map(address(name))
const uint = (name: string) => (v: string): bigint => {
  // Base units, optionally with an exponent: 1000000e18 is a million coins of 18 decimals.
  const m = /^(\d+)(?:e(\d+))?$/.exec(v.trim())
  if (!m) throw new InvalidArgumentError(`${name} must be a non-negative integer (base units, e.g. 1000e18)`)
  return BigInt(m[1]!) * 10n ** BigInt(m[2] ?? 0)
}
/** A point in time as unix seconds: plain seconds, or an ISO 8601 date (2026-12-31T12:00:00Z). */
const time = (name: string) => (v: string): bigint => {
  if (/^\d+$/.test(v.trim())) return BigInt(v.trim())
  const ms = Date.parse(v)
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`${name} must be unix seconds or an ISO 8601 date (e.g. 2026-12-31T12:00:00Z)`)
  return BigInt(Math.floor(ms / 1000))
}
const iso = (seconds: bigint) => new Date(Number(seconds) * 1000).toISOString()
const signature = (name: string) => (v: string): Hex => {
  if (!isHex(v) || v.length < 4) throw new InvalidArgumentError(`${name} must be 0x hex bytes`)
  return v
}
const int = (name: string) => (v: string): number => {
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`)
  return n
}

/** An option with a bigint default: commander prints defaults with JSON.stringify, which throws on bigints (`--help` failed). */
function bigintOption(flags: string, description: string, parse: (v: string) => bigint, def: bigint): Option {
  return new Option(flags, description).argParser(parse).default(def, def.toString())
}

function stdio(): BridgeCliIo {
  return { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n'), isTTY: Boolean(process.stderr.isTTY) }
}

const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x), 2)

/** The signing key of a command: --key-file (hex private key) or --keystore (+ --password). */
async function signingKey(o: { keyFile?: string; keystore?: string; password?: string }, ctx: BridgeCliContext, what: string): Promise<Uint8Array> {
  if (o.keyFile) {
    const hex = readFileSync(o.keyFile, 'utf8').split('\n')[0]!.trim()
    const k = hexToBytes(hex.startsWith('0x') ? hex : `0x${hex}`)
    if (k.length !== 32) throw new BridgeError('BAD_KEY', `${o.keyFile} does not hold a 32-byte hex private key`)
    return k
  }
  if (o.keystore) return ctx.unlockKeystore(o.keystore, o.password)
  throw new BridgeError('NO_KEY', `${what} needs a key: --keystore FILE [--password FILE] or --key-file FILE`)
}

function withKeyOptions(c: Command, prefix = ''): Command {
  const p = prefix ? `${prefix}-` : ''
  return c
    .option(`--${p}keystore <file>`, 'Web3 secret-storage (v3) keystore file of the key')
    .option(`--${p}password <file>`, 'file whose first line is the keystore password (otherwise prompted)')
    .option(`--${p}key-file <file>`, 'file with the hex private key (for services; prefer a keystore)')
}

export function registerBridgeCommands(program: Command, ctx: BridgeCliContext): void {
  const io = ctx.io ?? stdio()
  const bridge = program.command('bridge').description('the ERC-20 swap: snapshot, genesis, claims, lock relay, finalize')

  bridge
    .command('snapshot')
    .description('read every holder of an ERC-20 at a block (Transfer logs, checked against balanceOf) and write holders, proofs and the Merkle root')
    .requiredOption('--rpc <url>', 'JSON-RPC of the source chain (any Ethereum node)')
    .requiredOption('--token <address>', 'the ERC-20', address('--token'))
    .requiredOption('--block <n>', 'snapshot block number', uint('--block'))
    .requiredOption('--out <file>', 'where to write the snapshot JSON')
    .option('--from-block <n>', 'first block to scan (default: the token deployment, found with eth_getCode)', uint('--from-block'))
    .addOption(bigintOption('--range <blocks>', 'blocks per eth_getLogs request (halved when refused)', uint('--range'), 2000n))
    .option('--exclude <addresses>', 'comma-separated holders to leave out of the tree', addressList('--exclude'))
    .option('--concurrency <n>', 'parallel balanceOf calls', int('--concurrency'), 16)
    .action(async (o: { rpc: string; token: Address; block: bigint; out: string; fromBlock?: bigint; range: bigint; exclude?: Address[]; concurrency: number }) => {
      const bar = new cliProgress.SingleBar({ format: ' {phase} [{bar}] {percentage}% {value}/{total}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
      let phase = ''
      const snap = await takeSnapshot(
        EthereumRpc.at(o.rpc),
        {
          token: o.token,
          block: o.block,
          fromBlock: o.fromBlock,
          range: o.range,
          exclude: o.exclude,
          concurrency: o.concurrency,
          onProgress: (p, done, total) => {
            if (!io.isTTY) return
            if (p !== phase) {
              if (phase) bar.stop()
              phase = p
              bar.start(total, 0, { phase: p === 'logs' ? 'Transfer logs (blocks)' : 'balanceOf checks      ' })
            }
            bar.update(done)
          },
        },
        { logger: ctx.logger, metrics: noopMetrics },
      ).finally(() => phase && bar.stop())
      writeFileSync(o.out, JSON.stringify(snap, null, 1))
      io.out(`snapshot of ${snap.source.token} at block ${snap.source.block} (chain ${snap.source.chainId})`)
      io.out(`  holders ${snap.holderCount}   total ${snap.total}   root ${snap.root}`)
      io.out(`  token totalSupply ${snap.tokenTotalSupply}   excluded ${snap.excluded.length}`)
      if (snap.contracts.length)
        io.out(`  contract holders ${snap.contracts.length} (listed under "contracts"): they claim through whatever code sits at their address on povchain — review them and --exclude those their owners cannot deploy there (bridge/README.md)`)
      io.out(`  written to ${o.out}`)
    })

  bridge
    .command('proof')
    .description("extract one holder's claim proof from a snapshot file")
    .requiredOption('--snapshot <file>', 'snapshot JSON')
    .requiredOption('--holder <address>', 'the holder', address('--holder'))
    .option('--out <file>', 'write the proof here (default: stdout)')
    .action((o: { snapshot: string; holder: Address; out?: string }) => {
      const proof = proofFor(readSnapshot(o.snapshot), o.holder)
      const p = json(proof)
      if (o.out) {
        writeFileSync(o.out, p)
        // stdout stays the proof when no --out is given; with one, say what was written and where.
        io.out(`proof for ${o.holder}: ${proof.amount} base units, ${proof.proof.length} sibling hashes — written to ${o.out}`)
      } else io.out(p)
    })

  bridge
    .command('genesis')
    .description('write a genesis with SwapBridge: the snapshot root and total, deadline, attesters, threshold (funded with exactly total + lock reserve)')
    .requiredOption('--snapshot <file>', 'snapshot JSON (root, total, source chain id)')
    .requiredOption('--attesters <addresses>', 'comma-separated attester addresses', addressList('--attesters'))
    .requiredOption('--threshold <m>', 'attester signatures needed to release a lock', int('--threshold'))
    .requiredOption('--deadline <block>', 'last povchain block of the swap', uint('--deadline'))
    .requiredOption('--lock-contract <address>', 'the SwapLock contract on the source chain', address('--lock-contract'))
    .addOption(bigintOption('--lock-reserve <amount>', 'coins reserved for tokens locked after the snapshot (base units)', uint('--lock-reserve'), 0n))
    .option('--base <file>', 'genesis JSON to add SwapBridge to')
    .option('--preset <name>', 'built-in genesis to add SwapBridge to (e.g. dev)')
    .option('--chain-id <id>', 'set config.chainId of the result', uint('--chain-id'))
    .option('--address <address>', 'SwapBridge address', address('--address'), DEFAULT_SWAP_BRIDGE_ADDRESS)
    .addOption(bigintOption('--attester-balance <amount>', 'give each attester this many base units for gas', uint('--attester-balance'), 0n))
    .requiredOption('--out <file>', 'where to write the genesis JSON')
    .option('--source-rpc <url>', 'check the lock contract on the source chain: its chain and token match the snapshot, its cap is within --lock-reserve')
    .action(
      async (o: {
        sourceRpc?: string
        snapshot: string
        attesters: Address[]
        threshold: number
        deadline: bigint
        lockContract: Address
        lockReserve: bigint
        base?: string
        preset?: string
        chainId?: bigint
        address: Address
        attesterBalance: bigint
        out: string
      }) => {
        if (Boolean(o.base) === Boolean(o.preset)) throw new BridgeError('BAD_ARGS', 'give exactly one of --base FILE or --preset NAME')
        const base = o.base ? (JSON.parse(readFileSync(o.base, 'utf8')) as unknown) : ctx.genesisPreset?.(o.preset!)
        if (!base) throw new BridgeError('BAD_ARGS', `no genesis preset named ${o.preset}`)
        const snap = readSnapshot(o.snapshot)
        const params = paramsFromSnapshot(snap, { lockReserve: o.lockReserve, deadline: o.deadline, attesters: o.attesters, threshold: o.threshold, lockContract: o.lockContract })
        const lock = o.sourceRpc
          ? await checkSwapLockForGenesis(EthereumRpc.at(o.sourceRpc), o.lockContract, { sourceChainId: params.sourceChainId, token: snap.source.token, lockReserve: o.lockReserve })
          : undefined
        const entry = swapBridgeGenesisEntry(params, o.address)
        const g = addSwapBridgeToGenesis(base, entry, { attesters: o.attesters, attesterBalance: o.attesterBalance, chainId: o.chainId })
        writeFileSync(o.out, JSON.stringify(g, null, 1))
        io.out(`genesis with SwapBridge at ${entry.address} written to ${o.out}`)
        io.out(`  root ${params.merkleRoot}  snapshot total ${params.snapshotTotal}  lock reserve ${params.lockReserve}  balance ${BigInt(entry.balance)}`)
        io.out(`  deadline block ${params.deadline}  attesters ${params.attesters.length}  threshold ${params.threshold}  source chain ${params.sourceChainId}  lock ${params.lockContract}`)
        if (lock)
          io.out(`  lock checked: cap ${lock.cap}, lock deadline ${iso(lock.lockDeadline)}, settle after ${iso(lock.settleAfter)} — block ${params.deadline} must come after the first (plus the relay margin) and be final before the second`)
      },
    )

  bridge
    .command('claim-message')
    .description("print the EIP-712 Claim a holder signs: for a contract wallet's owners (EIP-1271) or an external signer")
    .requiredOption('--rpc <url>', 'povchain JSON-RPC (for the chain id)')
    .requiredOption('--proof-file <file>', 'proof file (bridge proof) or the whole snapshot')
    .requiredOption('--holder <address>', 'the snapshot holder', address('--holder'))
    .option('--recipient <address>', 'who receives the coins (default: the holder)', address('--recipient'))
    .option('--bridge <address>', 'SwapBridge address', address('--bridge'), DEFAULT_SWAP_BRIDGE_ADDRESS)
    .action(async (o: { rpc: string; proofFile: string; holder: Address; recipient?: Address; bridge: Address }) => {
      const proof = proofFor(readProofSource(o.proofFile), o.holder)
      const chainId = await EthereumRpc.at(o.rpc).chainId()
      const m = { holder: o.holder, recipient: o.recipient ?? o.holder, amount: BigInt(proof.amount) }
      const domain = { chainId, bridge: o.bridge }
      io.out(json({ digest: claimDigest(domain, m), typedData: claimTypedData(domain, m) }))
    })

  withKeyOptions(
    withKeyOptions(
      bridge
        .command('claim')
        .description(
          'claim the native coins of a snapshot balance: proves the leaf and signs (chain id, bridge, holder, recipient, amount) with the holder key — or, for a contract holder, submits --signature (checked by its EIP-1271 isValidSignature on povchain)',
        )
        .requiredOption('--rpc <url>', 'povchain JSON-RPC')
        .requiredOption('--proof-file <file>', 'proof file (bridge proof) or the whole snapshot')
        .option('--recipient <address>', 'who receives the coins (default: the holder)', address('--recipient'))
        .option('--bridge <address>', 'SwapBridge address', address('--bridge'), DEFAULT_SWAP_BRIDGE_ADDRESS)
        .option('--holder <address>', 'with --signature: the holder (e.g. a contract wallet) the signature is for', address('--holder'))
        .option('--signature <hex>', "a signature of the Claim made elsewhere (bridge claim-message): a wallet's EIP-1271 signature, or an EOA's 65 bytes", signature('--signature')),
    ),
    'gas',
  ).action(
    async (o: {
      rpc: string
      proofFile: string
      recipient?: Address
      bridge: Address
      holder?: Address
      signature?: Hex
      keystore?: string
      password?: string
      keyFile?: string
      gasKeystore?: string
      gasPassword?: string
      gasKeyFile?: string
    }) => {
      if (Boolean(o.holder) !== Boolean(o.signature)) throw new BridgeError('BAD_ARGS', '--holder and --signature go together (a signature made elsewhere, for that holder)')
      const rpc = EthereumRpc.at(o.rpc)
      // Refuse a claim that would land after the deadline: it would revert and still cost gas.
      const [deadline, head, chainId] = await Promise.all([rpc.read<bigint>(o.bridge, SWAP_BRIDGE_ABI, 'deadline'), rpc.blockNumber(), rpc.chainId()])
      if (head >= deadline)
        throw new BridgeError('SWAP_CLOSED', `the swap accepts claims up to block ${deadline}; the head is ${head}, so a claim would land in block ${head + 1n} and revert — nothing sent`)
      const holderKey = o.signature ? undefined : await signingKey(o, ctx, 'bridge claim')
      const holder = o.holder ?? addressOfKey(holderKey!)
      const proof = proofFor(readProofSource(o.proofFile), holder)
      const recipient = o.recipient ?? holder
      const amount = BigInt(proof.amount)
      const sig = o.signature ?? (await signDigest(holderKey!, claimDigest({ chainId, bridge: o.bridge }, { holder, recipient, amount })))
      // The holder's key (or wallet) signs; any funded key may pay the gas (a holder starts with no coins).
      const gasKey =
        o.gasKeystore || o.gasKeyFile
          ? await signingKey({ keystore: o.gasKeystore, password: o.gasPassword, keyFile: o.gasKeyFile }, ctx, 'gas payer')
          : (holderKey ?? (await signingKey(o, ctx, 'the gas payer of a --signature claim')))
      const sender = new TransactionSender(rpc, gasKey)
      const data = encodeFunctionData({ abi: SWAP_BRIDGE_ABI, functionName: 'claim', args: [holder, recipient, amount, proof.proof, sig] })
      const r = await sender.send({ to: o.bridge, data })
      io.out(`claimed ${amount} (${formatEther(amount)} coins) of ${holder} to ${recipient}`)
      io.out(`  transaction ${r.transactionHash} in block ${r.blockNumber} (deadline block ${deadline})`)
    },
  )

  withKeyOptions(
    bridge
      .command('deploy-lock')
      .description('deploy SwapLock (the shipped artifact) to the source chain: lock deadline, settlement time, cap = the povchain lock reserve')
      .requiredOption('--rpc <url>', 'JSON-RPC of the source chain')
      .requiredOption('--token <address>', 'the ERC-20 to lock', address('--token'))
      .requiredOption('--lock-deadline <time>', 'last source-chain time lock() accepts: unix seconds or ISO 8601 (before the povchain deadline block, minus the relay margin)', time('--lock-deadline'))
      .option('--settle-after <time>', 'the operator may open refunds only after this time (default: lock deadline + 7 days; after the povchain deadline block)', time('--settle-after'))
      .requiredOption('--cap <amount>', 'most that may ever be locked, token base units (use the povchain --lock-reserve)', uint('--cap'))
      .option('--operator <address>', 'marks deliveries and settles (default: the deploying key; an attester multisig is better)', address('--operator'))
      .option('--json', 'print JSON'),
  ).action(
    async (o: { rpc: string; token: Address; lockDeadline: bigint; settleAfter?: bigint; cap: bigint; operator?: Address; json?: boolean; keystore?: string; password?: string; keyFile?: string }) => {
      const bytecode = ctx.contractBytecode?.('SwapLock')
      if (!bytecode) throw new BridgeError('NO_ARTIFACT', 'the SwapLock artifact is not available (dist/contracts): run `npm run build`')
      const key = await signingKey(o, ctx, 'bridge deploy-lock')
      const params = { token: o.token, lockDeadline: o.lockDeadline, settleAfter: o.settleAfter ?? o.lockDeadline + 7n * 86_400n, cap: o.cap, operator: o.operator ?? addressOfKey(key) }
      const dep = await deploySwapLock({ rpc: EthereumRpc.at(o.rpc), key, bytecode }, params)
      if (o.json) return io.out(json(dep))
      io.out(`SwapLock deployed at ${dep.address} on source chain ${dep.chainId}`)
      io.out(`  transaction ${dep.transactionHash} in block ${dep.blockNumber} (relay --from-block ${dep.blockNumber})`)
      io.out(`  lock deadline  ${iso(params.lockDeadline)} (${params.lockDeadline}): lock() reverts after it`)
      io.out(`  settle after   ${iso(params.settleAfter)} (${params.settleAfter}): then refunds of undelivered locks`)
      io.out(`  cap            ${params.cap} (pass it to bridge genesis as --lock-reserve)`)
      io.out(`  operator       ${params.operator}`)
    },
  )

  withKeyOptions(
    bridge
      .command('relay')
      .description('attester: watch the lock contract on the source chain and attest confirmed locks to SwapBridge')
      .requiredOption('--source-rpc <url>', 'JSON-RPC of the source chain')
      .requiredOption('--lock <address>', 'the SwapLock contract', address('--lock'))
      .requiredOption('--rpc <url>', 'povchain JSON-RPC')
      .requiredOption('--state <file>', "the relay's progress file (keep it across restarts)")
      .option('--bridge <address>', 'SwapBridge address', address('--bridge'), DEFAULT_SWAP_BRIDGE_ADDRESS)
      .option('--confirmations <n>', 'source blocks on top of a lock before it is attested', int('--confirmations'), 12)
      .addOption(bigintOption('--from-block <n>', 'first source block to scan (the lock contract deployment)', uint('--from-block'), 0n))
      .addOption(bigintOption('--range <blocks>', 'blocks per eth_getLogs request', uint('--range'), 1000n))
      .option('--poll-ms <ms>', 'how often to look at the source head', int('--poll-ms'), 2000),
  ).action(
    async (o: {
      sourceRpc: string
      lock: Address
      rpc: string
      state: string
      bridge: Address
      confirmations: number
      fromBlock: bigint
      range: bigint
      pollMs: number
      keystore?: string
      password?: string
      keyFile?: string
    }) => {
      const key = await signingKey(o, ctx, 'bridge relay')
      const relay = new LockRelay(
        { lockContract: o.lock, bridge: o.bridge, confirmations: o.confirmations, fromBlock: o.fromBlock, maxRange: o.range, pollMs: o.pollMs, stateFile: o.state },
        { source: EthereumRpc.at(o.sourceRpc, 8), povchain: EthereumRpc.at(o.rpc, 8), attesterKey: key, logger: ctx.logger, metrics: noopMetrics },
      )
      await relay.init()
      const stop = new AbortController()
      process.once('SIGINT', () => stop.abort())
      process.once('SIGTERM', () => stop.abort())
      io.err(`relay running as attester ${relay.attester} (confirmations ${o.confirmations}, state ${o.state})`)
      await relay.run(stop.signal)
    },
  )

  withKeyOptions(
    bridge
      .command('settle')
      .description('operator, after the povchain deadline block is final: mark every released lock delivered on SwapLock, then open refunds for the rest')
      .requiredOption('--source-rpc <url>', 'JSON-RPC of the source chain')
      .requiredOption('--lock <address>', 'the SwapLock contract', address('--lock'))
      .requiredOption('--rpc <url>', 'povchain JSON-RPC')
      .option('--bridge <address>', 'SwapBridge address', address('--bridge'), DEFAULT_SWAP_BRIDGE_ADDRESS)
      .option('--json', 'print JSON'),
  ).action(async (o: { sourceRpc: string; lock: Address; rpc: string; bridge: Address; json?: boolean; keystore?: string; password?: string; keyFile?: string }) => {
    const key = await signingKey(o, ctx, 'bridge settle')
    const r = await settleLocks({ source: EthereumRpc.at(o.sourceRpc), povchain: EthereumRpc.at(o.rpc), operatorKey: key, logger: ctx.logger }, { lockContract: o.lock, bridge: o.bridge })
    if (o.json) return io.out(json(r))
    io.out(`SwapLock ${getAddress(o.lock)} settled in ${r.settleTransaction} (povchain deadline block ${r.deadlineBlock}, finalized head ${r.finalizedHead})`)
    io.out(`  locks ${r.locks}: delivered ${r.delivered.count} (${r.delivered.amount}), newly marked ${r.markedDelivered.length} in ${r.markTransactions.length} transaction(s)`)
    io.out(`  refundable ${r.refundable.nonces.length} (${r.refundable.amount}): nonces ${r.refundable.nonces.join(', ') || '-'} — bridge refund --nonce N`)
  })

  withKeyOptions(
    bridge
      .command('refund')
      .description('after settlement: return locks the relay never delivered to the addresses that locked them (anyone may send this)')
      .requiredOption('--rpc <url>', 'JSON-RPC of the source chain')
      .requiredOption('--lock <address>', 'the SwapLock contract', address('--lock'))
      .requiredOption('--nonce <nonces>', 'comma-separated lock nonces', (v: string) => v.split(',').map((x) => uint('--nonce')(x)))
      .option('--json', 'print JSON'),
  ).action(async (o: { rpc: string; lock: Address; nonce: bigint[]; json?: boolean; keystore?: string; password?: string; keyFile?: string }) => {
    const key = await signingKey(o, ctx, 'bridge refund')
    const rpc = EthereumRpc.at(o.rpc)
    const sender = new TransactionSender(rpc, key, { abi: SWAP_LOCK_ABI, meanings: SWAP_LOCK_ERROR_MEANINGS })
    const done: { nonce: bigint; to: Address; amount: bigint; transaction: Hex }[] = []
    for (const nonce of o.nonce) {
      const [from, status, amount] = await rpc.read<readonly [Address, number, bigint]>(o.lock, SWAP_LOCK_ABI, 'locks', [nonce])
      if (LOCK_STATUS[status] !== 'pending') throw new BridgeError('NOT_REFUNDABLE', `lock ${nonce} is ${LOCK_STATUS[status] ?? 'unknown'}, not pending: nothing to refund`)
      const r = await sender.send({ to: getAddress(o.lock), data: encodeFunctionData({ abi: SWAP_LOCK_ABI, functionName: 'refund', args: [nonce] }) })
      done.push({ nonce, to: getAddress(from), amount, transaction: r.transactionHash })
      if (!o.json) io.out(`refunded lock ${nonce}: ${amount} to ${getAddress(from)} (${r.transactionHash})`)
    }
    if (o.json) io.out(json(done))
  })

  bridge
    .command('status')
    .description('SwapBridge state (claimed, released, deadline, burned) and the total native supply')
    .requiredOption('--rpc <url>', 'povchain JSON-RPC')
    .option('--bridge <address>', 'SwapBridge address', address('--bridge'), DEFAULT_SWAP_BRIDGE_ADDRESS)
    .option('--json', 'print JSON')
    .action(async (o: { rpc: string; bridge: Address; json?: boolean }) => {
      const s = await readBridgeStatus(EthereumRpc.at(o.rpc), o.bridge)
      if (o.json) return io.out(json(s))
      for (const [k, v] of Object.entries(s)) io.out(`${k.padEnd(16)} ${Array.isArray(v) ? v.join(', ') : String(v)}`)
    })

  withKeyOptions(
    bridge
      .command('finalize')
      .description('after the deadline: burn the unclaimed supply and report the total supply before and after')
      .requiredOption('--rpc <url>', 'povchain JSON-RPC')
      .option('--bridge <address>', 'SwapBridge address', address('--bridge'), DEFAULT_SWAP_BRIDGE_ADDRESS)
      .option('--json', 'print JSON'),
  ).action(async (o: { rpc: string; bridge: Address; json?: boolean; keystore?: string; password?: string; keyFile?: string }) => {
    const key = await signingKey(o, ctx, 'bridge finalize')
    const rpc = EthereumRpc.at(o.rpc)
    const sender = new TransactionSender(rpc, key)
    const data = encodeFunctionData({ abi: SWAP_BRIDGE_ABI, functionName: 'finalize', args: [] })
    const r = await sender.send({ to: o.bridge, data })
    const [before, after, block] = await Promise.all([readTotalSupply(rpc, r.blockNumber - 1n), readTotalSupply(rpc, r.blockNumber), rpc.requireBlock(r.blockNumber)])
    const burned = await rpc.read<bigint>(o.bridge, SWAP_BRIDGE_ABI, 'burned', [], r.blockNumber)
    // The block's base fees are burned too (EIP-1559); with them the drop is explained to the wei.
    const block1559 = (block.baseFeePerGas ?? 0n) * (await blockGasUsed(rpc, r.blockNumber))
    const report = {
      transaction: r.transactionHash as Hex,
      block: r.blockNumber,
      burned,
      totalSupplyBefore: before,
      totalSupplyAfter: after,
      decrease: before - after,
      baseFeeBurnedInBlock: block1559,
      explained: before - after === burned + block1559,
    }
    if (o.json) return io.out(json(report))
    io.out(`finalized in block ${report.block} (${report.transaction})`)
    io.out(`  burned by SwapBridge     ${burned} (${formatEther(burned)} coins)`)
    io.out(`  total supply before      ${before}`)
    io.out(`  total supply after       ${after}`)
    io.out(`  decrease                 ${report.decrease} = burned + base fees of the block (${block1559}): ${report.explained ? 'yes' : 'NO'}`)
  })
}

async function blockGasUsed(rpc: EthereumRpc, n: bigint): Promise<bigint> {
  const b = await rpc.client.request<{ gasUsed: Hex }>('eth_getBlockByNumber', [`0x${n.toString(16)}`, false])
  return BigInt(b.gasUsed)
}
