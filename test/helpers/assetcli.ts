/**
 * `povchain asset …` run in-process against a node's JSON-RPC, as the marketplace tests drive
 * it: signing with a key file, `--json`, the last JSON line as the result.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { bytesToHex } from '../../common/bytes.js'
import { silentLogger } from '../../common/logger.js'
import { Keystore } from '../../accounts/Keystore.js'
import { registerAssetCommands } from '../../cli/AssetCommand.js'
import type { MarketNetPlan } from './marketnet.js'

export type AssetCliResult = { ok: boolean; error?: { code: string; message: string } } & Record<string, unknown>

/** The command's JSON result, failed or not (the process exit code is left as it was). */
export async function runAssetCli(url: string, keyFile: string, args: string[]): Promise<AssetCliResult> {
  let out = ''
  const program = new Command().exitOverride()
  registerAssetCommands(program, { logger: silentLogger, io: { out: (s) => (out += s), err: (s) => (out += s) } })
  const before = process.exitCode
  await program.parseAsync(['node', 'povchain', ...args, '--rpc', url, '--key-file', keyFile, '--json'])
  process.exitCode = before
  return JSON.parse(out.trim().split('\n').pop()!) as AssetCliResult
}

/** The command's JSON result; a failure throws its message with its `code`. */
export async function assetCli(url: string, keyFile: string, args: string[]): Promise<Record<string, unknown>> {
  const r = await runAssetCli(url, keyFile, args)
  if (!r.ok) throw Object.assign(new Error(r.error!.message), { code: r.error!.code })
  return r
}

/** Writes a key file for a market-net member (its keystore key) or for `key`, in `dir`. */
export async function memberKeyFile(dir: string, plan: MarketNetPlan, name: string, key?: Uint8Array): Promise<string> {
  const f = join(dir, `key-${name}`)
  const m = plan.members[name]
  const k = key ?? (await new Keystore(join(m!.datadir, 'keystore')).unlock(m!.address, readFileSync(m!.password, 'utf8').split('\n')[0]!))
  writeFileSync(f, bytesToHex(k))
  return f
}
