import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import { isAddress } from 'viem'
import type { AssetNodeConfig } from '../market/assets/AssetNodeService.js'
import { serverOfUrl } from '../market/assets/DownloadAuth.js'

/** The --assets.* flags of `povchain node` (the marketplace's node side). */
export function addAssetNodeOptions(cmd: Command): Command {
  return cmd
    .option('--assets.answer-grants [addresses]', "answer job grant requests of closed assets for these owners (comma-separated; none: every key the node holds — --dev: the dev accounts, else the --unlock'ed ones)")
    .option('--assets.no-verifier-grants', "with --assets.answer-grants: leave the job grant requests of a job's verifiers unanswered (only its workers')")
    .option('--assets.keep-removed', 'keep the blobs of removed assets (never served) instead of deleting them')
    .option('--assets.free-downloads', "serve paid assets' blobs without checking that the requester paid (payDownload)")
    .option('--assets.origin <urls>', "HTTP origins clients reach this node's JSON-RPC under (https://node.example:8545, comma-separated): signed blob requests over pov_getBlob must be addressed to one of them or to the listen URL (and its loopback names when listening on loopback)")
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
  const origins = o['assets.origin'] as string | undefined
  if (origins !== undefined) {
    const list = origins.split(',').map((s) => s.trim()).filter(Boolean)
    for (const u of list) {
      try {
        serverOfUrl(u)
      } catch (e) {
        throw new InvalidArgumentError(`--assets.origin: ${(e as Error).message}`)
      }
    }
    cfg.origins = list
  }
  return cfg
}
