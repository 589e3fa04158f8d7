import { homedir } from 'node:os'
import { join } from 'node:path'
import type { TxPoolOptions } from '../chain/txpool/options.js'
import type { NetworkOptions } from '../network/Network.js'
import type { RpcOptions } from '../rpc/RpcOptions.js'
import type { LogFormat } from './logging.js'
import type { HostileMode } from './HostileValidator.js'
import type { AssetNodeConfig } from '../market/assets/AssetNodeService.js'
import type { WorkerConfig } from '../market/worker/WorkerService.js'

/** Everything `povchain node` can be told; each field is one CLI flag. */
export interface NodeConfig {
  /** --dev: the dev chain (chain id 31337, funded Hardhat accounts, automine). */
  dev: boolean
  /** --datadir */
  datadir: string
  /** --genesis: genesis file used to initialise an empty datadir. */
  genesisFile?: string
  /** --dev.period: seconds between dev blocks; 0 = seal as soon as transactions arrive. */
  devPeriod: number
  /** --unlock: keystore addresses (or 'all') to unlock with --password. */
  unlock?: string[] | 'all'
  /** --password: file with one password per line. */
  passwordFile?: string
  /** --txpool.* */
  txpool: Partial<TxPoolOptions>
  /** --log.level, --log.format */
  logLevel: string
  logFormat?: LogFormat
  rpc: Partial<RpcOptions>
  /** --http.explorer: serve the block and work explorer at /explorer on the HTTP port (default true). */
  explorer?: boolean
  /**
   * --p2p.addr, --p2p.port, --bootnodes, --p2p.mdns, --maxpeers, --nodiscover: the libp2p
   * network. Off (undefined) with --dev unless --p2p.port is given.
   */
  p2p?: Partial<NetworkOptions>
  /** --producer: keystore address that seals blocks in its slots (non-dev; needs --password). */
  producer?: string
  /** A producer key given directly (tests); takes precedence over --producer. */
  producerKey?: Uint8Array
  /** --worker and --worker.*: work (and verify) in the WorkMarket with unlocked accounts. */
  worker?: WorkerConfig
  /** --dev.hostile: play a byzantine validator (testing a network against attacks; node/HostileValidator.ts). */
  hostile?: HostileMode
  /** --assets.*: the marketplace's node side (job grants, paid downloads, removed assets). */
  assets?: AssetNodeConfig
}

export function defaultDatadir(dev: boolean): string {
  return join(homedir(), '.povchain', dev ? 'dev' : 'main')
}
