import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { ContractFactory, getAddress, Transaction, type HDNodeWallet } from 'ethers'
import { fromQty, type RpcClient } from './RpcClient.js'
import { sleep } from './stats.js'
import type { Fees } from './txWorkload.js'

/** The shared bench's ERC-20, read (never copied) from ../shared/bench/contracts. */
export const DEFAULT_TOKEN_SOL = fileURLToPath(new URL('../../../shared/bench/contracts/BenchToken.sol', import.meta.url))

export interface CompiledToken {
  abi: unknown[]
  bytecode: string
  solcVersion: string
}

interface Solc {
  compile(input: string): string
  version(): string
}

/** Compiles BenchToken.sol with solc-js (optimizer 200 runs, like ../shared/bench). */
export function compileBenchToken(path = DEFAULT_TOKEN_SOL, evmVersion = 'shanghai'): CompiledToken {
  if (!existsSync(path)) throw new Error(`BenchToken source not found at ${path} (pass --token-sol PATH)`)
  const solc = createRequire(import.meta.url)('solc') as Solc
  const input = {
    language: 'Solidity',
    sources: { 'BenchToken.sol': { content: readFileSync(path, 'utf8') } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion,
      outputSelection: { '*': { BenchToken: ['abi', 'evm.bytecode.object'] } },
    },
  }
  const out = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[]
    contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>
  }
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`)
  const c = out.contracts?.['BenchToken.sol']?.['BenchToken']
  if (!c) throw new Error('solc produced no BenchToken')
  return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}`, solcVersion: solc.version() }
}

/** Deploys the token (minting `amountEach` to every holder) and waits for its receipt. */
export async function deployBenchToken(
  rpc: RpcClient,
  deployer: HDNodeWallet,
  token: CompiledToken,
  holders: string[],
  amountEach: bigint,
  fees: Fees,
  timeoutSec: number,
): Promise<{ address: string; deployMs: number }> {
  const nonce = Number(fromQty(await rpc.call('eth_getTransactionCount', [deployer.address, 'latest']), 'nonce'))
  const factory = new ContractFactory(token.abi as never, token.bytecode)
  const deploy = await factory.getDeployTransaction(holders, amountEach)
  const tx = Transaction.from({
    type: 2,
    chainId: fees.chainId,
    nonce,
    data: deploy.data,
    gasLimit: 3_000_000n,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
  })
  tx.signature = deployer.signingKey.sign(tx.unsignedHash)
  const t0 = performance.now()
  const hash = await rpc.call<string>('eth_sendRawTransaction', [tx.serialized])
  const deadline = Date.now() + timeoutSec * 1000
  for (;;) {
    const r = await rpc.call<{ status: string; contractAddress: string } | null>('eth_getTransactionReceipt', [hash])
    if (r) {
      if (r.status !== '0x1') throw new Error(`BenchToken deployment failed (status ${r.status})`)
      return { address: getAddress(r.contractAddress), deployMs: Math.round(performance.now() - t0) }
    }
    if (Date.now() > deadline) throw new Error('BenchToken deployment not mined in time')
    await sleep(5)
  }
}
