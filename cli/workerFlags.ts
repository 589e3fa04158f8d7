import { InvalidArgumentError, Option, type Command } from 'commander'
import { parseEther } from 'viem'
import { bytesToHex } from '../common/bytes.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import { DEV_CONTROL_ISSUER_INDEX } from '../genesis/presets.js'
import { checkSamplingPolicy, DEFAULT_SAMPLING_POLICY } from '../compute/verify/SamplingPolicy.js'
import { WORKER_CHEATS, type WorkerCheat } from '../market/worker/Cheats.js'
import type { WorkerConfig } from '../market/worker/WorkerService.js'
import { EndpointAllowList } from '../market/worker/EndpointAllowList.js'

/** The environment switch without which --worker.test-cheat is refused (tests set it). */
export const TEST_CHEATS_ENV = 'POVCHAIN_TEST_CHEATS'

/** `--dev --worker` identities: dev accounts #18 and #17 (one works, the other verifies). */
export const DEV_WORKER_INDEXES = [18, 17]
/** --dev: the accounts that post the dev issuer's control tasks (funded by genesis, like any dev client). */
export const DEV_CONTROL_CLIENT_INDEXES = [10, 11, 12, 13]

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean)
const coins = (flag: string) => (v: string) => {
  try {
    return parseEther(v)
  } catch {
    throw new InvalidArgumentError(`${flag} must be an amount of coins, e.g. 2 or 0.5`)
  }
}
const positive = (flag: string) => (v: string) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a positive integer`)
  return n
}

const fraction = (flag: string) => (v: string) => {
  const n = Number(v)
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError(`${flag} must be a number in (0, 1], e.g. 0.95`)
  return n
}

/** `--worker.docker-host`: a local engine's socket (`unix://` optional); TCP engines are not supported. */
export const dockerSocket = (v: string) => {
  const path = v.startsWith('unix://') ? v.slice('unix://'.length) : v
  if (!path.startsWith('/')) throw new InvalidArgumentError(`--worker.docker-host: ${v} is not a unix socket (unix:///path/docker.sock or /path/docker.sock)`)
  return path
}

/** The --worker flags of `povchain node`. */
export function addWorkerOptions(cmd: Command): Command {
  return cmd
    .option('--worker', 'work in the WorkMarket: run assigned jobs, verify others (--dev: accounts #18 and #17)', false)
    .option('--worker.account <addresses>', 'unlocked accounts to work and verify with (comma-separated)', list)
    .addOption(new Option('--worker.runtime <runtime>', 'where built-in workloads run (auto: Docker when an engine answers)').choices(['auto', 'embedded', 'docker']))
    .option('--worker.bond <coins>', 'bond of each identity at registration', coins('--worker.bond'))
    .option('--worker.capacity <cu>', 'compute units per second (default: measured with the compute bench)', positive('--worker.capacity'))
    .option('--worker.slots <n>', 'sessions each identity runs at once', positive('--worker.slots'), 1)
    .option('--worker.min-unit-price <coins>', 'the least each identity works for, in coins per compute unit (per replica): it is drawn only for jobs paying that (default 0: any price); changed on the chain at the next start', coins('--worker.min-unit-price'))
    .option('--worker.idle-cmd <command>', 'shell command run while no job runs (e.g. a crypto miner); its whole process group is stopped before each job and restarted after')
    .option('--worker.idle-grace <ms>', 'time the idle program gets between SIGTERM and SIGKILL', positive('--worker.idle-grace'), 5000)
    .option('--worker.fetch-allow <entries>', "registered worker endpoints the blob fetcher may ask over HTTP, comma-separated: '*' (any public host), host[:port] (public addresses), IP or range[:port] (127.0.0.1, 10.0.0.0/8:8545: the only way to reach loopback/private addresses); default none: blobs over p2p only", list)
    .option('--worker.pull-from <registries>', 'OCI registries (host[:port], comma-separated; loopback ones over plain HTTP) whose images this worker announces and pulls when it is drawn for a job pinning one (what their catalogs list by tag, by digest; 32 images in all)', list)
    .option('--worker.peer-images', 'also announce the container images connected peers share (image_archives: `compute image share` on their node) and fetch one over p2p when drawn for a job pinning it (its archive checked against the digest before it is loaded)')
    .option('--worker.docker-host <socket>', 'the Docker engine this worker runs containers on: unix:///path/docker.sock or /path/docker.sock (default DOCKER_HOST, else /var/run/docker.sock)', dockerSocket)
    .option('--worker.output-quota <mib>', 'what one container job may write to /job/out, in MiB (killed beyond)', positive('--worker.output-quota'), 1024)
    .option('--worker.control-tasks [seconds]', 'issue control tasks, one every N seconds on average (default 30): jobs posted by the issuer\'s client identities like any client\'s, sealed answers opened after the votes, reimbursed by the protocol fund (needs the genesis controlIssuer key; --dev: account #19)')
    .option('--worker.control-clients <addresses>', `unlocked accounts that post the control tasks, in turn (--dev: accounts #${DEV_CONTROL_CLIENT_INDEXES.join(', #')})`, list)
    .option('--worker.trap-rate <p>', 'share of the client sessions this node\'s identities turn into hidden traps for lazy verifiers (with --worker.control-tasks: needs the issuer key)', fraction('--worker.trap-rate'))
    .option('--worker.verify-confidence <p>', `probability with which this node's verifier alone catches a worker that forged --worker.verify-fault-fraction of a session (default ${DEFAULT_SAMPLING_POLICY.confidence})`, fraction('--worker.verify-confidence'))
    .option('--worker.verify-fault-fraction <f>', `smallest share of forged segments the verifier must catch that often (default ${DEFAULT_SAMPLING_POLICY.faultFraction})`, fraction('--worker.verify-fault-fraction'))
    // Multi-process cheating tests only: this node's identities commit dishonest sessions (and get slashed).
    .addOption(new Option('--worker.test-cheat <cheat>', `tests only (needs ${TEST_CHEATS_ENV}=1): commit dishonest sessions`).choices([...WORKER_CHEATS]).hideHelp())
}

/** WorkerConfig from the parsed flags, or undefined without --worker. */
export function workerConfigFromOptions(o: Record<string, unknown>, dev: boolean): WorkerConfig | undefined {
  if (!o.worker) return undefined
  const keys = dev ? deriveKeys(DEV_MNEMONIC, 20) : []
  const devAddress = (i: number) => bytesToHex(privateKeyToAddress(keys[i]!))
  const accounts = (o['worker.account'] as string[] | undefined) ?? (dev ? DEV_WORKER_INDEXES.map(devAddress) : [])
  if (!accounts.length) throw new InvalidArgumentError('--worker needs --worker.account ADDRESS (unlocked with --unlock and --password)')
  const control = o['worker.controlTasks'] as string | boolean | undefined
  const cfg: WorkerConfig = {
    accounts,
    runtime: (o['worker.runtime'] as WorkerConfig['runtime'] | undefined) ?? (dev ? 'embedded' : 'auto'),
    bond: (o['worker.bond'] as bigint | undefined) ?? parseEther('2'),
    slots: o['worker.slots'] as number,
    // Peers expected: the worker's transactions are mined elsewhere, so it waits for a synced peer first.
    waitForPeers: Boolean((o.bootnodes as string[] | undefined)?.length || o['p2p.mdns']),
  }
  if (o['worker.capacity'] !== undefined) cfg.capacity = BigInt(o['worker.capacity'] as number)
  if (o['worker.minUnitPrice'] !== undefined) cfg.minUnitPrice = o['worker.minUnitPrice'] as bigint
  const idleCmd = o['worker.idleCmd'] as string | undefined
  if (idleCmd !== undefined) {
    if (!idleCmd.trim()) throw new InvalidArgumentError('--worker.idle-cmd needs a command')
    cfg.idle = { command: idleCmd, graceMs: o['worker.idleGrace'] as number }
  }
  const pullFrom = o['worker.pullFrom'] as string[] | undefined
  if (pullFrom?.length) {
    for (const r of pullFrom) if (!/^[a-z0-9.-]+(?::\d+)?$/i.test(r)) throw new InvalidArgumentError(`--worker.pull-from: ${r} is not a registry host[:port]`)
    cfg.pullFrom = pullFrom
  }
  if (o['worker.peerImages']) cfg.peerImages = true
  if (o['worker.dockerHost'] !== undefined) cfg.dockerSocket = o['worker.dockerHost'] as string
  if (o['worker.outputQuota'] !== undefined) cfg.outputQuotaMb = o['worker.outputQuota'] as number
  const fetchAllow = o['worker.fetchAllow'] as string[] | undefined
  if (fetchAllow?.length) {
    try {
      new EndpointAllowList(fetchAllow)
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message)
    }
    cfg.fetchAllow = fetchAllow
  }
  const confidence = o['worker.verifyConfidence'] as number | undefined
  const faultFraction = o['worker.verifyFaultFraction'] as number | undefined
  if (confidence !== undefined || faultFraction !== undefined) {
    try {
      cfg.sampling = checkSamplingPolicy({ confidence: confidence ?? DEFAULT_SAMPLING_POLICY.confidence, faultFraction: faultFraction ?? DEFAULT_SAMPLING_POLICY.faultFraction }, '--worker.verify-confidence/--worker.verify-fault-fraction')
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message)
    }
  }
  const cheat = o['worker.testCheat'] as WorkerCheat | undefined
  if (cheat) {
    if (process.env[TEST_CHEATS_ENV] !== '1') throw new InvalidArgumentError(`--worker.test-cheat is for tests: it makes this node's workers commit dishonest sessions and lose their bonds; set ${TEST_CHEATS_ENV}=1 if that is what you want`)
    cfg.behaviour = Object.fromEntries(accounts.map((a) => [a.toLowerCase(), { cheat }]))
  }
  if (control !== undefined) {
    if (!dev) throw new InvalidArgumentError('--worker.control-tasks runs only with --dev for now (the issuer key of a public network is a protocol role)')
    cfg.issuer = devAddress(DEV_CONTROL_ISSUER_INDEX)
    const clients = (o['worker.controlClients'] as string[] | undefined) ?? DEV_CONTROL_CLIENT_INDEXES.map(devAddress)
    cfg.issuerOptions = { intervalMs: (control === true ? 30 : Number(control)) * 1000, fundTopUp: parseEther('10'), clients: clients.map((c) => c as `0x${string}`) }
  }
  const trapRate = o['worker.trapRate'] as number | undefined
  if (trapRate !== undefined) {
    if (!cfg.issuer) throw new InvalidArgumentError('--worker.trap-rate needs --worker.control-tasks: only the control issuer can open hidden traps')
    cfg.trapRate = trapRate
  }
  return cfg
}
