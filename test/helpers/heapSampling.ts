import { Session } from 'node:inspector'
import { postSync } from './inspectorSession.js'

/**
 * Where retained memory was allocated: V8's sampling heap profiler (HeapProfiler.startSampling)
 * keeps a sample only while the object it stands for is alive, so the profile taken after a GC
 * at the end of a run attributes what the run left behind to the stacks that allocated it —
 * without a heap snapshot of hundreds of MiB.
 */
export class HeapSampling {
  private readonly session = new Session()

  constructor(samplingInterval = 64 * 1024) {
    this.session.connect()
    this.post('HeapProfiler.enable')
    this.post('HeapProfiler.startSampling', { samplingInterval })
  }

  /** Retained bytes by allocating frame (the innermost frame of ours or of a library), largest first. */
  top(n = 25): { bytes: number; site: string; stack: string }[] {
    const { profile } = this.post('HeapProfiler.getSamplingProfile') as { profile: { head: Node } }
    const bySite = new Map<string, { bytes: number; stack: string }>()
    const walk = (node: Node, path: Node['callFrame'][]) => {
      const here = [...path, node.callFrame]
      if (node.selfSize > 0) {
        // attribute to the innermost frame outside node's internals, keep the 6 frames above it
        const frames = here.filter((f) => f.url && !f.url.startsWith('node:'))
        const inner = frames[frames.length - 1] ?? node.callFrame
        const site = `${inner.functionName || '(anonymous)'} ${short(inner.url)}:${inner.lineNumber + 1}`
        const e = bySite.get(site) ?? { bytes: 0, stack: frames.slice(-7, -1).reverse().map((f) => `${f.functionName || '(anonymous)'} ${short(f.url)}:${f.lineNumber + 1}`).join(' < ') }
        e.bytes += node.selfSize
        bySite.set(site, e)
      }
      for (const c of node.children) walk(c, here)
    }
    walk(profile.head, [])
    return [...bySite.entries()].map(([site, e]) => ({ site, ...e })).sort((a, b) => b.bytes - a.bytes).slice(0, n)
  }

  stop(): void {
    this.post('HeapProfiler.stopSampling')
    this.session.disconnect()
  }

  private post(method: string, params?: object): unknown {
    return postSync(this.session, method, params)
  }
}

interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number }
  selfSize: number
  children: Node[]
}

function short(url: string): string {
  const i = url.lastIndexOf('/node_modules/')
  if (i >= 0) return url.slice(i + '/node_modules/'.length)
  const j = url.search(/\/(chain|network|node|vm|consensus|rpc|test|common|compute|genesis|market)\//)
  return j >= 0 ? url.slice(j + 1) : url
}
