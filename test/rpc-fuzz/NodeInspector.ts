/**
 * The heap of a node running in another process, read over its inspector (started with
 * `--inspect=127.0.0.1:0`): a forced full GC, then V8's used heap. RSS alone cannot say whether
 * memory came back: V8 keeps freed pages mapped for a while.
 */
import { readFileSync } from 'node:fs'
import WebSocket from 'ws'

export class NodeInspector {
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (m) => {
      const msg = JSON.parse(m.toString()) as { id?: number; result?: unknown; error?: { message: string } }
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id)
      if (!p) return
      this.pending.delete(msg.id!)
      if (msg.error) p.reject(new Error(msg.error.message))
      else p.resolve(msg.result)
    })
  }

  /** Connects to the inspector whose "Debugger listening on ws://…" line is in `output`. */
  static async connect(output: string): Promise<NodeInspector> {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1]
    if (!url) throw new Error('the node process prints no inspector URL: start it with --inspect=127.0.0.1:0')
    const ws = new WebSocket(url)
    await new Promise((res, rej) => ws.once('open', res).once('error', rej))
    return new NodeInspector(ws)
  }

  private send(method: string, params: object = {}): Promise<unknown> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.ws.send(JSON.stringify({ id, method, params }))
    })
  }

  /** Used heap in bytes after a full, forced GC (twice: weak references freed by the first). */
  async heapAfterGc(): Promise<number> {
    await this.send('HeapProfiler.collectGarbage')
    await this.send('HeapProfiler.collectGarbage')
    const u = (await this.send('Runtime.getHeapUsage')) as { usedSize: number }
    return u.usedSize
  }

  close(): void {
    this.ws.terminate()
  }
}

/** Resident set size of a process, bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1]) * 1024
}
