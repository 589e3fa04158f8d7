import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { GenesisError } from '../errors.js'
import { parseGenesis } from '../GenesisConfig.js'
import { CREATE2_DEPLOYER_ADDRESS, devGenesis, MULTICALL3_ADDRESS } from '../presets.js'
import { bytesToHex } from '../../common/bytes.js'

t.test('the dev preset: chain 31337, Hardhat accounts, predeploys', async (t) => {
  const g = parseGenesis(devGenesis())
  t.equal(g.chainId, 31337n)
  const addrs = g.alloc.map((a) => bytesToHex(a.address))
  t.ok(addrs.includes('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266'), 'account #0 of the Hardhat mnemonic')
  t.ok(addrs.includes('0x8626f6940e2eb28930efb4cef49b2d1f2c9c1199'), 'account #19 of the Hardhat mnemonic')
  t.equal(g.alloc.filter((a) => a.balance === 10_000n * 10n ** 18n).length, 20)
  t.ok(g.alloc.find((a) => bytesToHex(a.address) === CREATE2_DEPLOYER_ADDRESS.toLowerCase())?.code.length)
  t.ok(g.alloc.find((a) => bytesToHex(a.address) === MULTICALL3_ADDRESS.toLowerCase())?.code.length)
})

t.test('invalid genesis files name the field', async (t) => {
  const base = () => ({ config: { chainId: 5 }, alloc: {} }) as Record<string, any>
  const cases: [string, (g: Record<string, any>) => void, RegExp][] = [
    ['no config', (g) => delete g.config, /config is required/],
    ['chain id zero', (g) => (g.config.chainId = 0), /chainId/],
    ['chain id text', (g) => (g.config.chainId = 'abc'), /config.chainId/],
    ['bad gas limit', (g) => (g.gasLimit = 10), /gasLimit/],
    ['negative balance', (g) => (g.alloc = { ['0x' + '11'.repeat(20)]: { balance: -1 } }), /balance/],
    ['short address', (g) => (g.alloc = { '0x1234': { balance: 1 } }), /address/],
    ['bad code', (g) => (g.alloc = { ['0x' + '11'.repeat(20)]: { code: '0xzz' } }), /code/],
    ['long storage word', (g) => (g.alloc = { ['0x' + '11'.repeat(20)]: { storage: { '0x01': '0x' + '11'.repeat(33) } } }), /storage/],
    ['long extraData', (g) => (g.extraData = '0x' + '00'.repeat(33)), /extraData/],
    ['no alloc', (g) => delete g.alloc, /alloc is required/],
  ]
  for (const [name, mutate, re] of cases) {
    const g = base()
    mutate(g)
    t.throws(() => parseGenesis(g), GenesisError, name)
    t.throws(() => parseGenesis(g), re, name)
  }
  const ok = parseGenesis({ config: { chainId: '0x1e61' }, gasLimit: '0x1c9c380', alloc: { ['11'.repeat(20)]: { balance: '1000', storage: { '0x01': '0x02' } } } })
  t.equal(ok.chainId, 7777n)
  t.equal(ok.gasLimit, 30_000_000n)
  t.equal(ok.alloc[0]!.balance, 1000n)
  t.equal(ok.alloc[0]!.storage[0]![1]![31], 2)
})

t.test('povchain init writes the genesis and is idempotent', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'povchain-init-'))
  const file = join(dir, 'genesis.json')
  writeFileSync(file, JSON.stringify({ config: { chainId: 4242 }, alloc: { ['0x' + '22'.repeat(20)]: { balance: '0x10' } } }))
  const cli = ['--import', 'tsx', join(import.meta.dirname, '../../cli/cli.ts')]
  const out1 = execFileSync(process.execPath, [...cli, 'init', '--genesis', file, '--datadir', join(dir, 'data')], { encoding: 'utf8' })
  t.match(out1, /initialised .*\n\s+chain id\s+4242\n\s+genesis hash\s+0x[0-9a-f]{64}/)
  const out2 = execFileSync(process.execPath, [...cli, 'init', '--genesis', file, '--datadir', join(dir, 'data')], { encoding: 'utf8' })
  t.match(out2, /already initialised/)
  writeFileSync(file, JSON.stringify({ config: { chainId: 4243 }, alloc: {} }))
  t.throws(() => execFileSync(process.execPath, [...cli, 'init', '--genesis', file, '--datadir', join(dir, 'data')], { encoding: 'utf8', stdio: 'pipe' }), /different chain/)
})

t.test('system contracts: constructors run at their fixed addresses at genesis', async (t) => {
  const { compileContracts } = await import('../ContractArtifacts.js')
  const { buildGenesis } = await import('../GenesisBuilder.js')
  const { openChainDB } = await import('../../chain/Database.js')
  const { BlockStore } = await import('../../chain/BlockStore.js')
  const { createChainCommon } = await import('../../chain/ChainCommon.js')
  const { WorldState } = await import('../../vm/WorldState.js')
  const { Address } = await import('@ethereumjs/util')
  const { mkdirSync } = await import('node:fs')
  const root = mkdtempSync(join(tmpdir(), 'povchain-sys-'))
  mkdirSync(join(root, 'genesis', 'contracts'), { recursive: true })
  writeFileSync(join(root, 'package.json'), '{}')
  writeFileSync(
    join(root, 'genesis', 'contracts', 'Probe.sol'),
    '// SPDX-License-Identifier: MIT\npragma solidity 0.8.30;\ncontract Probe { uint256 public x; address public self; constructor(uint256 v) payable { x = v; self = address(this); } }\n',
  )
  const manifest = compileContracts(root)
  const artifacts = new Map(
    Object.entries(manifest.contracts).map(([name, c]) => [name, { name, source: c.source, abi: c.abi, bytecode: Buffer.from(c.bytecode.slice(2), 'hex'), deployedBytecode: Buffer.from(c.deployedBytecode.slice(2), 'hex') }]),
  )
  const address = '0x0000000000000000000000000000000000001234'
  const spec = parseGenesis({ config: { chainId: 9, systemContracts: { Probe: { address, args: '0x' + '00'.repeat(31) + '2a', balance: 5 } } }, alloc: {} })
  const db = await openChainDB(join(root, 'db'))
  const common = createChainCommon(9n)
  const store = new BlockStore(db, common)
  const state = new WorldState(db, common, store)
  const g = await buildGenesis(spec, state, () => artifacts as never)
  await store.initGenesis(g.block, g.stateOps)
  state.trieDb.written(g.stateKeys)
  const sm = await state.readerAt(g.block.header.stateRoot)
  const a = new Address(Buffer.from(address.slice(2), 'hex'))
  t.same(Buffer.from(await sm.getCode(a)).toString('hex'), manifest.contracts.Probe!.deployedBytecode.slice(2), 'runtime code installed')
  t.equal(Buffer.from(await sm.getStorage(a, new Uint8Array(32))).toString('hex'), '2a', 'constructor wrote slot 0')
  t.equal(BigInt('0x' + Buffer.from(await sm.getStorage(a, Buffer.from('00'.repeat(31) + '01', 'hex'))).toString('hex')), BigInt(address), 'address(this) is the fixed address')
  t.equal((await sm.getAccount(a))?.balance, 5n)
  await t.rejects(buildGenesis(parseGenesis({ config: { chainId: 9, systemContracts: { Nope: address } }, alloc: {} }), state, () => artifacts as never), /Nope: no contract/)
  await db.close()
})
