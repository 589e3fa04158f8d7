import { encodeEventTopics, getAddress, type Address, type Hex } from 'viem'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { decryptBlob, encryptBlob, newContentKey } from '../../compute/AssetCipher.js'
import { contentHash } from '../../compute/ContentHash.js'
import { openKey, sealKey } from '../../compute/KeySeal.js'
import { ASSET_REGISTRY_ADDRESS } from '../../genesis/AssetRegistryGenesis.js'
import type { AssetClient } from './AssetClient.js'
import { AssetError } from './AssetError.js'
import { decodeMetadataUri } from './AssetMetadata.js'
import { registryAbi } from './AssetRegistryReader.js'

/** What a key rotation did. */
export interface KeyRotationResult {
  id: bigint
  version: number
  /** The new ciphertext's hash: the asset's content from now on. */
  contentHash: Hex
  /** Who holds the new key (the owner first). */
  kept: Address[]
  /** Standing grantees of the old version left out: named to drop, or without a public key to seal to. */
  dropped: Address[]
  tx: Hex
}

/** Largest blob a rotation re-encrypts (what pov_putBlob takes in one call). */
const MAX_ROTATED_BYTES = 1024 * 1024

/**
 * The owner's side of `AssetRegistry.rotateKey` (issue 17): opens the current version with the
 * owner's own grant, re-encrypts the plaintext under a fresh content key, stores the new
 * ciphertext on the owner's node, seals the new key to the owner and to every standing grantee
 * that still holds a grant of the current version (read from the `Granted` logs, public keys from
 * `publicKeyOf`, as `grant` uses them) except those in `drop`, and sends `rotateKey`. From then
 * on the asset's content is the new ciphertext: grants and job grants of earlier versions open
 * nothing current, and nodes serve the new blob to current grantees and running jobs only.
 */
export async function rotateContentKey(c: AssetClient, id: bigint, drop: readonly Address[] = []): Promise<KeyRotationResult> {
  const a = await c.registry.asset(id)
  if (!a) throw new AssetError('NO_ASSET', `no asset ${id}`)
  if (a.access !== 'closed') throw new AssetError('NOT_CLOSED', `asset ${id} is ${a.access}: only a closed asset has a content key to rotate`)
  if (a.owner !== c.from) throw new AssetError('NOT_OWNER', `asset ${id} belongs to ${a.owner}, not ${c.from}: only its owner rotates its key`)
  const me = c.privateKey('rotating a content key')
  const own = await c.registry.grantOf(id, c.from)
  if (own === '0x') throw new AssetError('NO_CONTENT_KEY', `${c.from} holds no sealed content key of the current version of asset ${id} (the owner seals it to itself at registration)`)
  const oldKey = openKey(hexToBytes(own), me)
  if (a.size > BigInt(MAX_ROTATED_BYTES)) throw new AssetError('BLOB_TOO_LARGE', `asset ${id} is ${a.size} bytes: a rotation re-encrypts at most ${MAX_ROTATED_BYTES} bytes through pov_putBlob`)
  const old = await c.getBlob(a.contentHash, MAX_ROTATED_BYTES + 64, await c.signBlobRequest(a.contentHash))
  const plain = decryptBlob(oldKey, old)
  const meta = decodeMetadataUri(a.uri, a.metadataHash)
  if (meta?.plaintextHash && contentHash(plain) !== meta.plaintextHash) throw new AssetError('PLAINTEXT_MISMATCH', `the current version of asset ${id} decrypts to ${contentHash(plain)}, the metadata names ${meta.plaintextHash}`)

  const dropSet = new Set(drop.map((x) => x.toLowerCase()))
  const kept: Address[] = [c.from]
  const dropped: Address[] = []
  for (const g of await standingGrantees(c, id)) {
    if (g.toLowerCase() === c.from.toLowerCase()) continue
    if (dropSet.has(g.toLowerCase())) {
      dropped.push(g)
      continue
    }
    if ((await c.registry.grantOf(id, g)) === '0x') continue // revoked earlier, or of an earlier version
    if ((await c.registry.publicKeyOf(g)) === '0x') dropped.push(g)
    else kept.push(g)
  }
  const key = newContentKey()
  const cipher = encryptBlob(key, plain)
  const hash = await c.putBlob(cipher)
  const sealed: Hex[] = []
  for (const g of kept) sealed.push(bytesToHex(sealKey(key, g === c.from ? c.publicKey() : hexToBytes(await c.registry.publicKeyOf(g)))) as Hex)
  const r = await c.send('rotateKey', [id, hash, BigInt(plain.length), kept, sealed])
  return { id, version: await c.registry.read<number>('keyVersion', [id]).then(Number), contentHash: hash, kept, dropped, tx: r.hash }
}

/** Everyone the asset's owners ever sealed a standing grant to (`Granted` logs), first grant first. */
async function standingGrantees(c: AssetClient, id: bigint): Promise<Address[]> {
  const topics = encodeEventTopics({ abi: registryAbi(), eventName: 'Granted', args: { id } } as never)
  const logs = await c.chain.rpc.request<{ topics: Hex[] }[]>('eth_getLogs', [{ address: ASSET_REGISTRY_ADDRESS, fromBlock: '0x0', toBlock: 'latest', topics }])
  const out: Address[] = []
  for (const l of logs) {
    const g = getAddress(`0x${l.topics[2]!.slice(26)}`)
    if (!out.includes(g)) out.push(g)
  }
  return out
}
