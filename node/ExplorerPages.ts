import { bytesToHex } from '../common/bytes.js'
import { ExplorerSite } from '../explorer/ExplorerSite.js'
import { loadContractArtifacts } from '../genesis/ContractArtifacts.js'
import type { GenesisSpec } from '../genesis/GenesisConfig.js'
import type { PageHandler } from '../rpc/PageHandler.js'

/**
 * The explorer served on the HTTP port (--http.explorer, on by default): the built page from
 * explorer/, told the chain id and the system contracts' addresses and ABIs so it can decode
 * their calls, logs and revert errors without shipping copies of them.
 */
export function explorerPages(spec: Pick<GenesisSpec, 'chainId' | 'systemContracts'>): PageHandler & { built: boolean } {
  const artifacts = loadContractArtifacts()
  const contracts = spec.systemContracts.flatMap((c) => {
    const abi = artifacts.get(c.name)?.abi
    return abi ? [{ name: c.name, address: bytesToHex(c.address), abi }] : []
  })
  return new ExplorerSite({ chainId: Number(spec.chainId), contracts })
}
