/**
 * The dev chain in which work earns blocks quickly: 4-slot epochs and a genesis validator
 * (account #0) whose weight is a token 1 wei, so that a dev worker (#18 or #17) that did one
 * job and bonds dominates the draw two epoch transitions later. Run it with
 * `povchain node --dev --genesis FILE --dev.period 1 --worker` (the dev node holds every dev key
 * and seals each slot with its leader's).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Address } from 'viem'
import { DEV_MNEMONIC, deriveKeys } from '../../chain/DevKeys.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import { bytesToHex } from '../../common/bytes.js'
import { DEV_CONTROL_ISSUER_INDEX, devGenesis } from '../../genesis/presets.js'
import { devValidatorSetConfig, povGenesisValidators, VALIDATOR_SET_ADDRESS, validatorSetGenesisEntry } from '../../genesis/ValidatorSetGenesis.js'
import { devWorkMarketConfig, WORK_MARKET_ADDRESS, workMarketGenesisEntry } from '../../genesis/WorkMarketGenesis.js'
import { startNodeProcess } from './devnode.js'

const ETHER = 10n ** 18n

/** Writes that genesis to `file`. */
export function writeEarnedWeightGenesis(file: string): void {
  const keys = deriveKeys(DEV_MNEMONIC, 20)
  const g = devGenesis()
  g.config.epochLength = 4
  const v0 = bytesToHex(privateKeyToAddress(keys[0]!)) as Address
  const issuer = bytesToHex(privateKeyToAddress(keys[DEV_CONTROL_ISSUER_INDEX]!)) as Address
  const pov = povGenesisValidators([{ address: v0, bond: 10n * ETHER, weight: 1n }])
  g.config.systemContracts = {
    ...g.config.systemContracts,
    WorkMarket: workMarketGenesisEntry(devWorkMarketConfig(issuer), 0n, pov.receipts, WORK_MARKET_ADDRESS),
    ValidatorSet: validatorSetGenesisEntry(devValidatorSetConfig(), pov.validators, 1000n * ETHER, VALIDATOR_SET_ADDRESS),
  }
  writeFileSync(file, JSON.stringify(g))
}

/** A dev node on that genesis with an embedded-runtime worker, in `dir` (genesis.json, node/). */
export function startEarnedWeightNode(dir: string): ReturnType<typeof startNodeProcess> {
  const genesis = join(dir, 'genesis.json')
  writeEarnedWeightGenesis(genesis)
  return startNodeProcess({
    datadir: join(dir, 'node'),
    args: ['--genesis', genesis, '--dev.period', '1', '--worker', '--worker.runtime', 'embedded', '--worker.capacity', '100'],
    timeoutMs: 120_000,
  })
}
