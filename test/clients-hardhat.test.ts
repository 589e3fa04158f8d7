/**
 * Hardhat 3 (the real CLI) running a deployment script against a dev node through an `http`
 * network with remote (node-unlocked) accounts, the way a contract developer targets a
 * testnet: eth_accounts, eth_sendTransaction for a deployment and a call, receipts, eth_call.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { compileSolidity } from './helpers/solidity.js'
import { ROOT, startInProcessNode, tempDir } from './helpers/devnode.js'

const run = promisify(execFile)

const SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;
contract Greeter {
  string public greeting = "hello";
  function set(string calldata g) external { greeting = g; }
}`

const SCRIPT = `import { network } from "hardhat";
const { provider } = await network.create();
const [from] = await provider.request({ method: "eth_accounts" });
const chainId = await provider.request({ method: "eth_chainId" });
const wait = async (hash) => { for (;;) { const r = await provider.request({ method: "eth_getTransactionReceipt", params: [hash] }); if (r) return r; await new Promise((s) => setTimeout(s, 20)); } };
const deploy = await wait(await provider.request({ method: "eth_sendTransaction", params: [{ from, data: process.env.GREETER_BYTECODE }] }));
const set = await wait(await provider.request({ method: "eth_sendTransaction", params: [{ from, to: deploy.contractAddress, data: process.env.GREETER_SET }] }));
const greeting = await provider.request({ method: "eth_call", params: [{ to: deploy.contractAddress, data: "0xef690cc0" }, "latest"] });
console.log(JSON.stringify({ from, chainId, deployStatus: deploy.status, contract: deploy.contractAddress, setStatus: set.status, greeting }));
`

t.test('Hardhat 3 runs a deployment script against a dev node', async (t) => {
  const node = await startInProcessNode()
  const proj = tempDir('povchain-hardhat-')
  t.teardown(async () => {
    await node.stop()
    proj.cleanup()
  })
  writeFileSync(join(proj.dir, 'package.json'), JSON.stringify({ name: 'hh', type: 'module', private: true }))
  writeFileSync(
    join(proj.dir, 'hardhat.config.js'),
    `import { defineConfig } from "hardhat/config";\nexport default defineConfig({ networks: { povchain: { type: "http", chainType: "l1", url: ${JSON.stringify(node.httpUrl)}, accounts: "remote" } } });\n`,
  )
  writeFileSync(join(proj.dir, 'deploy.js'), SCRIPT)
  symlinkSync(join(ROOT, 'node_modules'), join(proj.dir, 'node_modules'))
  const { Greeter } = compileSolidity({ 'Greeter.sol': SOURCE })
  // set("povchain"): selector 0x4ed3885e, offset, length 8, the bytes
  const setData = '0x4ed3885e' + (32).toString(16).padStart(64, '0') + (8).toString(16).padStart(64, '0') + Buffer.from('povchain').toString('hex').padEnd(64, '0')
  const { stdout } = await run(process.execPath, [join(ROOT, 'node_modules', 'hardhat', 'dist', 'src', 'cli.js'), 'run', '--no-compile', '--network', 'povchain', 'deploy.js'], {
    cwd: proj.dir,
    env: { ...process.env, GREETER_BYTECODE: Greeter!.bytecode, GREETER_SET: setData, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true', DO_NOT_TRACK: '1' },
    timeout: 120_000,
  })
  const out = JSON.parse(stdout.trim().split('\n').pop()!)
  t.equal(out.chainId, '0x7a69')
  t.equal(out.from.toLowerCase(), '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266', 'first unlocked dev account')
  t.equal(out.deployStatus, '0x1', 'deployment mined')
  t.equal(out.setStatus, '0x1', 'call mined')
  const greeting = Buffer.from(out.greeting.slice(2 + 128, 2 + 128 + 16), 'hex').toString()
  t.equal(greeting, 'povchain', 'state read back with eth_call')
})
