/**
 * Foundry's `cast` (the real binary, from the npm registry) against a dev node: the commands a
 * contract developer runs first — chain id, balances, a transfer, a deployment, a call, a
 * reverting call, receipts, logs, blocks and a CREATE2 address through the predeployed factory.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { compileSolidity } from './helpers/solidity.js'
import { DEV_KEYS, startInProcessNode } from './helpers/devnode.js'

const run = promisify(execFile)
const require = createRequire(import.meta.url)

function castBinary(): string | undefined {
  try {
    return join(dirname(require.resolve('@foundry-rs/cast-linux-amd64/package.json')), 'bin', 'cast')
  } catch {
    return undefined
  }
}

const SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;
contract Counter {
  uint256 public count;
  event Bumped(address indexed by, uint256 count);
  error TooBig(uint256 max);
  function bump(uint256 by) external {
    if (by > 100) revert TooBig(100);
    count += by;
    emit Bumped(msg.sender, count);
  }
}`

const cast = castBinary()
t.test('Foundry cast works against a dev node', { skip: process.platform !== 'linux' || process.arch !== 'x64' || !cast ? 'no cast binary for this platform' : false }, async (t) => {
  const node = await startInProcessNode()
  t.teardown(() => node.stop())
  const rpc = ['--rpc-url', node.httpUrl]
  const c = async (...args: string[]) => (await run(cast!, args, { env: { ...process.env, NO_COLOR: '1', FOUNDRY_DISABLE_NIGHTLY_WARNING: '1' } })).stdout.trim()

  t.equal(await c('chain-id', ...rpc), '31337')
  const alice = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
  t.equal(await c('balance', alice, ...rpc), '10000000000000000000000')

  const bob = '0x000000000000000000000000000000000000b0b0'
  const sent = await c('send', bob, '--value', '1ether', '--private-key', DEV_KEYS[0]!, '--json', ...rpc)
  t.equal(JSON.parse(sent).status, '0x1', 'value transfer mined')
  t.equal(await c('balance', bob, ...rpc), '1000000000000000000')

  const { Counter } = compileSolidity({ 'Counter.sol': SOURCE })
  const deployed = JSON.parse(await c('send', '--private-key', DEV_KEYS[1]!, '--json', ...rpc, '--create', Counter!.bytecode))
  t.equal(deployed.status, '0x1', 'deployment mined')
  const counter = deployed.contractAddress as string
  t.match(await c('code', counter, ...rpc), /^0x[0-9a-f]{20,}/)

  const bumped = JSON.parse(await c('send', counter, 'bump(uint256)', '7', '--private-key', DEV_KEYS[1]!, '--json', ...rpc))
  t.equal(bumped.status, '0x1')
  t.equal(await c('call', counter, 'count()(uint256)', ...rpc), '7')
  t.match(await c('estimate', counter, 'bump(uint256)', '3', '--from', alice, ...rpc), /^\d+$/)

  // A revert is reported with the custom error's selector data (cast prints the revert data).
  const reverted = await run(cast!, ['call', counter, 'bump(uint256)', '1000', ...rpc]).then(
    () => undefined,
    (e: { stderr: string }) => e.stderr,
  )
  t.match(reverted, /execution reverted|TooBig|0x[0-9a-f]{8}/i, 'reverting call reported')

  const logs = JSON.parse(await c('logs', '--from-block', '0', '--address', counter, 'Bumped(address indexed,uint256)', '--json', ...rpc))
  t.equal(logs.length, 1, 'cast logs finds the event')
  t.equal(BigInt(logs[0].data), 7n)

  const receipt = JSON.parse(await c('receipt', bumped.transactionHash, '--json', ...rpc))
  t.equal(receipt.blockHash, bumped.blockHash)
  const block = JSON.parse(await c('block', 'latest', '--json', ...rpc))
  t.ok(block.producer && block.sessionId && block.seal, 'block objects carry the Proof-of-Value fields')

  // CREATE2 through the predeployed deterministic deployer lands where cast predicts.
  const salt = '0x' + '00'.repeat(31) + '01'
  const predicted = (await c('create2', '--deployer', '0x4e59b44847b379578588920cA78FbF26c0B4956C', '--salt', salt, '--init-code', Counter!.bytecode)).match(/0x[0-9a-fA-F]{40}/)![0]
  const viaFactory = JSON.parse(await c('send', '0x4e59b44847b379578588920cA78FbF26c0B4956C', salt + Counter!.bytecode.slice(2), '--private-key', DEV_KEYS[2]!, '--json', ...rpc))
  t.equal(viaFactory.status, '0x1')
  t.not(await c('code', predicted, ...rpc), '0x', 'contract at the CREATE2 address')
})
