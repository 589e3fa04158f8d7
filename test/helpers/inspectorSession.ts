import type { Session } from 'node:inspector'

/**
 * One inspector call on an in-process session (the coverage fuzzer's and the heap sampler's):
 * such a session answers synchronously — the callback runs before `post` returns — so the
 * result is returned, and an error thrown, here.
 */
export function postSync(session: Session, method: string, params?: object): unknown {
  let out: unknown
  let err: Error | null = null
  session.post(method, params ?? {}, (e, r) => {
    err = e
    out = r
  })
  if (err) throw err
  return out
}
