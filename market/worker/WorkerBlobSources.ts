import type { WorkMarketReader } from '../client/WorkMarketReader.js'
import { rpcBlobSource, type RemoteBlobSource } from './BlobFetcher.js'
import type { EndpointAllowList } from './EndpointAllowList.js'

/**
 * Where a worker node's BlobFetcher looks for a blob it does not hold: the network first (`p2p`,
 * requests signed per peer id), then the JSON-RPC endpoints other workers registered in the
 * WorkMarket — only those `allow` (--worker.fetch-allow) names, since anyone registers any URL
 * (empty, the default: none). Its own endpoint and its own identities' are skipped.
 */
export function workerBlobSources(d: {
  market: Pick<WorkMarketReader, 'workers' | 'worker'>
  p2p?: RemoteBlobSource
  allow: EndpointAllowList
  /** This node's identities (lowercase addresses) and endpoint. */
  own: ReadonlySet<string>
  ownEndpoint: string
}): () => Promise<RemoteBlobSource[]> {
  return async () => {
    const list: RemoteBlobSource[] = []
    if (d.p2p) list.push(d.p2p)
    if (d.allow.empty) return list
    const seen = new Set([d.ownEndpoint])
    for (const a of await d.market.workers()) {
      if (d.own.has(a.toLowerCase())) continue
      const ep = (await d.market.worker(a)).endpoint
      if (ep && d.allow.names(ep) && !seen.has(ep)) {
        seen.add(ep)
        list.push(rpcBlobSource(ep, d.allow))
      }
    }
    return list
  }
}
