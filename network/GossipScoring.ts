import type { GossipsubOpts } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'

/**
 * Gossipsub's own peer score, set on purpose rather than left at its defaults. The part that
 * matters here is P6, IP colocation: each peer id beyond `threshold` from one IP costs every
 * peer of that IP (surplus² × weight). With the defaults (threshold 10, weight −5) the 14th peer
 * id from one IP put all of them at −80, the graylist threshold, and their gossip went unread:
 * a one-machine devnet, or nodes behind one NAT, stopped hearing each other.
 *
 * Now: loopback (127.0.0.1, ::1) and the IPs of the configured bootnodes are exempt; any other
 * IP may bring `IP_COLOCATION_THRESHOLD` (20) peer ids free, and graylisting starts past 24
 * (surplus 4: 4² × −5 = −80). Our own PeerScorer still scores and bans each peer id for what it
 * sends, wherever it comes from. Thresholds are gossipsub's defaults, written out.
 */
export const IP_COLOCATION_THRESHOLD = 20
export const IP_COLOCATION_WEIGHT = -5
export const GOSSIP_SCORE_THRESHOLDS = Object.freeze({
  /** Below it, no IHAVE/IWANT gossip to or from the peer. */
  gossipThreshold: -10,
  /** Below it, we do not publish our own messages to the peer. */
  publishThreshold: -50,
  /** Below it, everything the peer sends is ignored. */
  graylistThreshold: -80,
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 20,
})

const LOOPBACK = ['127.0.0.1', '::1']

/** The IP of each bootnode multiaddr that names one (/ip4/… or /ip6/…; DNS names are skipped). */
export function bootnodeIPs(bootnodes: string[]): string[] {
  const out: string[] = []
  for (const b of bootnodes) {
    try {
      const c = multiaddr(b).getComponents().find((x) => x.name === 'ip4' || x.name === 'ip6')
      if (c?.value) out.push(c.value)
    } catch {
      // a malformed bootnode is reported where it is dialled
    }
  }
  return out
}

export function gossipScoreOptions(opts: { allowIPs: string[] }): Pick<GossipsubOpts, 'scoreParams' | 'scoreThresholds'> {
  return {
    scoreParams: {
      IPColocationFactorWeight: IP_COLOCATION_WEIGHT,
      IPColocationFactorThreshold: IP_COLOCATION_THRESHOLD,
      IPColocationFactorWhitelist: new Set([...LOOPBACK, ...opts.allowIPs]),
    },
    scoreThresholds: { ...GOSSIP_SCORE_THRESHOLDS },
  }
}
