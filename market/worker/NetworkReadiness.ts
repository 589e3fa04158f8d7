import type { Logger } from '../../common/logger.js'

/** What the worker needs to know of the node's p2p side before it sends anything. */
export interface PeerView {
  peerCount(): number
  /** True while a peer is known to be ahead of this node. */
  isBehind(): boolean
}

export interface NetworkReadinessOptions {
  /** Give up waiting (and go on with a warning) after this long. */
  timeoutMs?: number
  /** After the first peer: time for gossipsub to exchange subscriptions (a few heartbeats). */
  settleMs?: number
  pollMs?: number
}

/**
 * Waits until a networked node can usefully act in the market: at least one peer, caught up
 * with the best head it knows of, and a moment for gossip subscriptions to settle. Why: the
 * worker's first transaction (its registration) used to be gossiped before any peer was
 * connected — gossipsub then marks it seen and never sends it again, so it was never mined —
 * and a worker reading the market from a node still syncing acts on stale duties.
 * Resolves true when ready, false on timeout (the caller goes on and says so).
 */
export async function awaitNetworkReady(view: PeerView, log: Logger, opts: NetworkReadinessOptions = {}): Promise<boolean> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000)
  const poll = opts.pollMs ?? 100
  let firstPeerAt: number | undefined
  let said = false
  while (Date.now() < deadline) {
    const peers = view.peerCount()
    if (peers > 0) firstPeerAt ??= Date.now()
    else firstPeerAt = undefined
    if (firstPeerAt !== undefined && !view.isBehind() && Date.now() - firstPeerAt >= (opts.settleMs ?? 1_500)) return true
    if (!said) {
      log.info({ peers }, 'waiting for peers and sync before acting in the work market')
      said = true
    }
    await new Promise((r) => setTimeout(r, poll))
  }
  log.warn({ peers: view.peerCount(), behind: view.isBehind() }, 'no synced peer in time: the worker starts anyway; its transactions reach the producers only once a peer is connected')
  return false
}
