import type { BlockHeader } from '../chain/Header.js'
import { AuthorityEngine } from '../consensus/AuthorityEngine.js'
import type { ConsensusEngine } from '../consensus/ConsensusEngine.js'
import { LeaderSchedule } from '../consensus/LeaderSchedule.js'
import type { PovContracts } from '../consensus/PovContracts.js'
import { ProofOfValueEngine } from '../consensus/ProofOfValueEngine.js'
import type { GenesisSpec } from '../genesis/GenesisConfig.js'
import { distributeRewardsSystemCall } from '../market/assets/AssetRegistryReader.js'
import { NodeError } from './errors.js'
import { workMarketBlockSystemCall } from './PovContractReader.js'

/**
 * Proof of Value when genesis places the ValidatorSet system contract (every preset does),
 * with AssetRegistry.distributeRewards() at every epoch turn when genesis places the registry;
 * a fixed producer list (config.producers, round-robin) otherwise. Either way every block
 * starts with WorkMarket.onBlock() when genesis places the work market (its draws).
 */
export function createConsensusEngine(
  spec: GenesisSpec,
  genesisHash: Uint8Array,
  deps: { contracts: PovContracts; getHeader: (hash: Uint8Array) => Promise<BlockHeader | undefined> },
): ConsensusEngine {
  const blockCalls = spec.systemContracts.filter((c) => c.name === 'WorkMarket').map((c) => workMarketBlockSystemCall(c.address))
  if (spec.systemContracts.some((c) => c.name === 'ValidatorSet')) {
    return new ProofOfValueEngine(
      {
        chainId: spec.chainId,
        genesisTimestamp: spec.timestamp,
        slotSeconds: spec.slotSeconds,
        slotsPerEpoch: spec.epochLength,
        backupDelaySeconds: Math.max(1, Math.floor(spec.slotSeconds / 2)),
        maxBackups: 2,
        receiptWindowBlocks: spec.receiptWindow,
        genesisReceiptWindowBlocks: spec.genesisReceiptWindow,
        genesisSeed: genesisHash,
        epochCalls: spec.systemContracts.filter((c) => c.name === 'AssetRegistry').map((c) => distributeRewardsSystemCall(c.address)),
        blockCalls,
      },
      deps,
    )
  }
  if (spec.producers.length === 0)
    throw new NodeError('NO_PRODUCERS', 'the genesis names neither a ValidatorSet system contract nor config.producers: nobody could produce blocks')
  const schedule = new LeaderSchedule({ producers: spec.producers, genesisTimestamp: spec.timestamp, slotSeconds: spec.slotSeconds })
  return new AuthorityEngine(schedule, genesisHash, spec.epochLength, blockCalls)
}
