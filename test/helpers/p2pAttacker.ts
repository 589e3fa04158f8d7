/**
 * A bare libp2p host that speaks our wire formats by hand, so it can say what no encoder of
 * ours would: raw request streams (any bytes, truncated or oversized length prefixes) and raw
 * gossipsub RPC frames (messages with any data, fields gossipsub forbids, unparseable frames).
 * It answers the node's status request like an honest peer (so it is kept as a peer), and a new
 * one is a new peer id: the identity rotation of an attacker that got banned.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import { createLibp2p } from 'libp2p'
import { protocolId } from '../../network/ReqResp.js'
import { Response, ResponseCode, Status, type StatusMessage } from '../../network/Protobuf.js'

/** gossipsub's protocol id (v1.1): the stream on which a peer sends its RPC frames. */
export const MESHSUB = '/meshsub/1.1.0'

export function varint(n: bigint | number): number[] {
  let v = BigInt(n)
  const out: number[] = []
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) b |= 0x80
    out.push(b)
  } while (v > 0n)
  return out
}

/** A length-delimited protobuf field. */
export function pbField(field: number, bytes: Uint8Array): Uint8Array {
  return Uint8Array.from([...varint((field << 3) | 2), ...varint(bytes.length), ...bytes])
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** One gossipsub RPC frame carrying `messages` (topic, data and, if given, raw extra Message fields). */
export function gossipRpc(messages: { topic: string; data: Uint8Array; extra?: Uint8Array }[]): Uint8Array {
  return concat(...messages.map((m) => pbField(2, concat(pbField(2, m.data), pbField(4, new TextEncoder().encode(m.topic)), m.extra ?? new Uint8Array(0)))))
}

export class Attacker {
  private gossipStream?: Stream
  /** Why the last stream could not be opened. */
  lastError?: string

  private constructor(
    readonly libp2p: Libp2p,
    readonly target: PeerId,
  ) {}

  static async connect(targetAddr: string, status: StatusMessage): Promise<Attacker> {
    const libp2p = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      addresses: { listen: [] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: { reconnectRetries: 0 },
    })
    await libp2p.handle(protocolId('status'), async (stream) => {
      try {
        for await (const _ of lp.decode(stream, { maxDataLength: 512 })) break
        stream.send(lp.encode.single(Response.encode({ code: ResponseCode.OK, message: '', body: Status.encode(status) })).subarray())
        await stream.close()
      } catch {
        stream.abort(new Error('status'))
      }
    })
    const conn = await libp2p.dial(multiaddr(targetAddr))
    return new Attacker(libp2p, conn.remotePeer)
  }

  get peerId(): string {
    return this.libp2p.peerId.toString()
  }

  connected(): boolean {
    return this.libp2p.getConnections(this.target).length > 0
  }

  /**
   * Opens a stream on `protocol`, writes `bytes` as they are (the caller frames them, or not),
   * closes its side and reads one length-prefixed answer. 'answered' with the Response,
   * 'reset' when the node reset or closed the stream unanswered, 'no-stream' when none opened.
   */
  async request(protocol: string, bytes: Uint8Array, timeoutMs = 15_000): Promise<{ kind: 'answered'; response: ReturnType<typeof Response.decode> } | { kind: 'reset' | 'no-stream' }> {
    const signal = AbortSignal.timeout(timeoutMs)
    let s: Stream
    try {
      s = await this.libp2p.dialProtocol(this.target, protocolId(protocol), { signal })
    } catch (e) {
      this.lastError = (e as Error).message
      return { kind: 'no-stream' }
    }
    const onAbort = () => s.abort(new Error('timeout'))
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      if (bytes.length > 0 && !s.send(bytes)) await s.onDrain({ signal })
      await s.close({ signal })
      for await (const f of lp.decode(s, { maxDataLength: 32 << 20 })) return { kind: 'answered', response: Response.decode(f.subarray()) }
      return { kind: 'reset' }
    } catch {
      return { kind: 'reset' }
    } finally {
      signal.removeEventListener('abort', onAbort)
      if (s.status === 'open') s.abort(new Error('done'))
    }
  }

  /** Writes one raw chunk on our gossipsub stream (reopened when the node closed it). */
  async gossipRaw(bytes: Uint8Array): Promise<boolean> {
    try {
      if (!this.gossipStream || this.gossipStream.status !== 'open' || this.gossipStream.writeStatus !== 'writable') {
        this.gossipStream = await this.libp2p.dialProtocol(this.target, MESHSUB, { signal: AbortSignal.timeout(5_000) })
      }
      const s = this.gossipStream
      if (!s.send(bytes)) await s.onDrain({ signal: AbortSignal.timeout(10_000) })
      return true
    } catch {
      this.gossipStream = undefined
      return false
    }
  }

  /** Closes our gossipsub stream (the next write opens a new one, which gossipsub takes as the peer's stream). */
  async newGossipStream(): Promise<void> {
    const s = this.gossipStream
    this.gossipStream = undefined
    if (s) await s.close().catch(() => s.abort(new Error('closed')))
  }

  /** Writes one length-prefixed gossipsub RPC frame. */
  gossip(frame: Uint8Array): Promise<boolean> {
    return this.gossipRaw(lp.encode.single(frame).subarray())
  }

  async stop(): Promise<void> {
    try {
      await this.libp2p.stop()
    } catch {
      // stopped already
    }
  }
}
