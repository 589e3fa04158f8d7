/**
 * A worker's GPUs as a user sees them: `pov_workerCapacity` and `povchain worker capacity` report
 * each GPU's model and memory from nvidia-smi (the chain holds only the count and the smallest
 * memory). No GPU here: an `nvidia-smi` on PATH prints what a two-GPU host's does (the exact
 * `--query-gpu=name,memory.total --format=csv,noheader` format) and fails on other arguments,
 * so the node parses the output it would get from the real tool. Without it: no GPU.
 */
import t from 'tap'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { parseEther } from 'viem'
import { DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { bytesToHex } from '../common/bytes.js'
import { registerValidatorCommands } from '../cli/ValidatorCommand.js'
import { rpc, startInProcessNode } from './helpers/devnode.js'

const W = bytesToHex(privateKeyToAddress(deriveKeys(DEV_MNEMONIC, 19)[18]!))

async function capacityCli(url: string): Promise<{ text: string; json: unknown }> {
  const run = async (...extra: string[]) => {
    let out = ''
    const program = new Command().exitOverride()
    registerValidatorCommands(program, { out: (s) => (out += s), err: (s) => (out += s) })
    const code = process.exitCode
    await program.parseAsync(['node', 'povchain', 'worker', 'capacity', '--rpc', url, ...extra])
    process.exitCode = code
    return out
  }
  return { text: await run(), json: JSON.parse((await run('--json')).trim()) }
}

t.test('pov_workerCapacity and `worker capacity` report each GPU\'s model and memory', async (t) => {
  const bin = mkdtempSync(join(tmpdir(), 'povchain-fake-smi-'))
  t.teardown(() => rmSync(bin, { recursive: true, force: true }))
  const smi = join(bin, 'nvidia-smi')
  writeFileSync(smi, `#!/bin/sh
if [ "$1" = "--query-gpu=name,memory.total" ] && [ "$2" = "--format=csv,noheader" ]; then
  echo "NVIDIA A100-SXM4-80GB, 81920 MiB"
  echo "NVIDIA GeForce RTX 4090, 24564 MiB"
  exit 0
fi
exit 9
`)
  chmodSync(smi, 0o755)
  const path = process.env.PATH
  process.env.PATH = `${bin}:${path}`
  t.teardown(() => void (process.env.PATH = path))
  const worker = { accounts: [W], runtime: 'embedded' as const, bond: parseEther('2'), slots: 1, capacity: 77n }
  const n = await startInProcessNode({ cfg: { worker } })
  t.teardown(() => n.stop())
  const c = await rpc<{ computeUnitsPerSec: number; runtimes: string[]; gpus: { model: string; memoryMb: number }[]; images: string[] }>(n.httpUrl, 'pov_workerCapacity')
  t.same(c.gpus, [{ model: 'NVIDIA A100-SXM4-80GB', memoryMb: 81920 }, { model: 'NVIDIA GeForce RTX 4090', memoryMb: 24564 }], 'each GPU with its model and MiB')
  t.equal(c.computeUnitsPerSec, 77)
  t.same(c.runtimes, ['embedded'])
  const cli = await capacityCli(n.httpUrl)
  t.match(cli.text, /gpus +NVIDIA A100-SXM4-80GB, 81920 MiB; NVIDIA GeForce RTX 4090, 24564 MiB/, 'the CLI prints them')
  t.same((cli.json as { capacity: typeof c }).capacity.gpus, c.gpus, 'and --json carries them')
})

t.test('a node without --worker has no capacity to report; without nvidia-smi a worker has no GPU', async (t) => {
  const plain = await startInProcessNode()
  t.teardown(() => plain.stop())
  t.equal(await rpc(plain.httpUrl, 'pov_workerCapacity'), null)
  const path = process.env.PATH
  process.env.PATH = '/usr/bin:/bin'
  t.teardown(() => void (process.env.PATH = path))
  const n = await startInProcessNode({ cfg: { worker: { accounts: [W], runtime: 'embedded', bond: parseEther('2'), slots: 1, capacity: 5n } } })
  t.teardown(() => n.stop())
  t.same((await rpc<{ gpus: unknown[] }>(n.httpUrl, 'pov_workerCapacity')).gpus, [], 'no GPU')
})
