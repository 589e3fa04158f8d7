/** Runs fn(0..count-1) with at most `concurrency` in flight; rejects on the first error. */
export async function boundedPool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  let failed: unknown
  const worker = async () => {
    while (failed === undefined && next < count) {
      const i = next++
      try {
        await fn(i)
      } catch (e) {
        failed ??= e
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  if (failed !== undefined) throw failed
}

/**
 * Per-sender lanes: an item is sent only after the previous `depth` items of the same lane
 * were answered (depth 1 = strictly in nonce order), with at most `concurrency` in flight overall.
 */
export async function lanes<T>(lists: T[][], concurrency: number, depth: number, fn: (item: T) => Promise<void>): Promise<void> {
  let free = concurrency
  const waiters: (() => void)[] = []
  const acquire = () => (free > 0 ? (free--, Promise.resolve()) : new Promise<void>((r) => waiters.push(r)))
  const release = () => {
    const w = waiters.shift()
    if (w) w()
    else free++
  }
  let failed: unknown
  await Promise.all(
    lists.map(async (list) => {
      const inflight = new Set<Promise<void>>()
      for (const item of list) {
        while (inflight.size >= depth) await Promise.race(inflight)
        if (failed !== undefined) break
        await acquire()
        if (failed !== undefined) {
          release()
          break
        }
        const p: Promise<void> = fn(item)
          .catch((e) => {
            failed ??= e
          })
          .finally(() => {
            release()
            inflight.delete(p)
          })
        inflight.add(p)
      }
      await Promise.all(inflight)
    }),
  )
  if (failed !== undefined) throw failed
}
