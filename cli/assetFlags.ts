import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import { isAddress } from 'viem'
import type { AssetNodeConfig } from '../market/assets/AssetNodeService.js'

/** The --assets.* flags of `povchain node` (the marketplace's node side). */
export function addAssetNodeOptions(cmd: Command): Command {
  return cmd
    .option('--assets.answer-grants [addresses]', "answer job grant requests of closed assets for these owners (comma-separated; none: every key the node holds — --dev: the dev accounts, else the --unlock'ed ones)")
    .option('--assets.no-verifier-grants', "with --assets.answer-grants: leave the job grant requests of a job's verifiers unanswered (only its workers')")
    .option('--assets.keep-removed', 'keep the blobs of removed assets (never served) instead of deleting them')
    .option('--assets.free-downloads', "serve paid assets' blobs without checking that the requester paid (payDownload)")
}

/** AssetNodeConfig from the parsed flags. */
export function assetConfigFromOptions(o: Record<string, unknown>): AssetNodeConfig {
  const cfg: AssetNodeConfig = {}
  const answer = o['assets.answerGrants'] as string | boolean | undefined
  if (answer !== undefined && answer !== false) {
    const list = answer === true ? [] : answer.split(',').map((s) => s.trim()).filter(Boolean)
    for (const a of list) if (!isAddress(a, { strict: false })) throw new InvalidArgumentError(`--assets.answer-grants: ${a} is not an address`)
    cfg.answerGrants = list
  }
  if (o['assets.noVerifierGrants']) cfg.grantVerifiers = false
  if (o['assets.keepRemoved']) cfg.keepRemoved = true
  if (o['assets.freeDownloads']) cfg.freeDownloads = true
  return cfg
}
