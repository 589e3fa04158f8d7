import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { NetworkError } from './errors.js'

/**
 * The node's libp2p identity: an Ed25519 key kept in `<datadir>/p2p/node.key` (libp2p's
 * protobuf key encoding, file mode 0600), created on first start, so the node keeps its
 * peer id — and the multiaddr others put in their bootnode lists — across restarts. It is
 * not an account key and holds no funds.
 */
export const NODE_KEY_FILE = join('p2p', 'node.key')

export async function loadOrCreateNodeKey(datadir: string): Promise<{ key: PrivateKey; peerId: string; created: boolean }> {
  const path = join(datadir, NODE_KEY_FILE)
  if (existsSync(path)) {
    let key: PrivateKey
    try {
      key = privateKeyFromProtobuf(readFileSync(path))
    } catch (e) {
      throw new NetworkError('NODE_KEY', `cannot read the node key ${path}: ${(e as Error).message} (delete it to get a new peer id)`, { cause: e })
    }
    return { key, peerId: peerIdFromPrivateKey(key).toString(), created: false }
  }
  const key = await generateKeyPair('Ed25519')
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.tmp`
  writeFileSync(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, path)
  return { key, peerId: peerIdFromPrivateKey(key).toString(), created: true }
}
