import type { GossipsubOpts } from '@libp2p/gossipsub'
import type { Metrics } from '../common/metrics.js'

type MetricsRegister = NonNullable<GossipsubOpts['metricsRegister']>
type Labels = Record<string, string | number>

/**
 * What gossipsub drops before our topic validation ever sees it, counted in our metrics: RPC
 * frames that do not decode, read-stream errors (a length prefix past the 10 MiB limit), RPCs of
 * graylisted peers, messages refused by the signature policy (StrictNoSign: `from`, `seqno`,
 * `signature` or `key` present) and duplicates. Without these a malformed gossip frame left no
 * trace anywhere. Exported as `povchain_<gossipsub name>`; gossipsub's ~100 other series (mesh,
 * scores, IHAVE/IWANT accounting) are not kept.
 */
export const EXPORTED_GOSSIPSUB_COUNTERS = new Set([
  'gossipsub_rpc_recv_count_total',
  'gossipsub_rpc_recv_message_total',
  'gossipsub_rpc_data_err_count_total',
  'gossipsub_rpc_recv_err_count_total',
  'gossipsub_peer_read_stream_err_count_total',
  'gossipsub_rpc_rcv_not_accepted_total',
  'gossipsub_msg_received_invalid_total',
  'gossipsub_pre_validation_duplicate_total',
])

const noop = () => {}

export function gossipsubMetrics(metrics: Metrics, topicLabels: Map<string, string>): Pick<GossipsubOpts, 'metricsRegister' | 'metricsTopicStrToLabel'> {
  const metricsRegister = {
    gauge(config: { name: string; help: string; labelNames?: string[] }) {
      if (!EXPORTED_GOSSIPSUB_COUNTERS.has(config.name)) return { inc: noop, set: noop, addCollect: noop }
      const c = metrics.counter(`povchain_${config.name}`, `gossipsub: ${config.help}`, config.labelNames ?? [])
      return {
        // gossipsub calls inc(value) without labels and inc(labels, value) with them
        inc: (a?: Labels | number, b?: number) => (typeof a === 'object' ? c.inc(stringLabels(a), b ?? 1) : c.inc(undefined, a ?? 1)),
        set: noop,
        addCollect: noop,
      }
    },
    histogram: () => ({ startTimer: () => noop, observe: noop, reset: noop }),
    avgMinMax: () => ({ set: noop }),
  } as unknown as MetricsRegister
  return { metricsRegister, metricsTopicStrToLabel: topicLabels }
}

function stringLabels(l: Labels): Record<string, string> {
  return Object.fromEntries(Object.entries(l).map(([k, v]) => [k, String(v)]))
}
