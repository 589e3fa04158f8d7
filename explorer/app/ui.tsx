/** Small shared pieces: links to each kind of page, field tables, loading and error states. */
import type { ComponentChildren } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { explorer } from './context'
import { dec, short } from './format'

export const BlockLink = ({ n, hash }: { n?: string | number | bigint; hash?: string }) =>
  n !== undefined && n !== null ? <a href={`#/block/${BigInt(n).toString()}`}>{dec(n)}</a> : hash ? <a href={`#/block/${hash}`} class="mono">{short(hash)}</a> : <span />

export const TxLink = ({ hash, full }: { hash: string; full?: boolean }) => (
  <a href={`#/tx/${hash}`} class="mono">
    {full ? hash : short(hash)}
  </a>
)

export function AddressLink({ a, full }: { a: string | null | undefined; full?: boolean }) {
  if (!a) return <span class="muted">—</span>
  const name = explorer().decoder.contractName(a)
  return (
    <a href={`#/address/${a}`} class="mono" title={a}>
      {name ? `${name} ` : ''}
      {full || name ? (name ? `(${short(a, 4)})` : a) : short(a, 6)}
    </a>
  )
}

export const JobLink = ({ id, full }: { id: string; full?: boolean }) => (
  <a href={`#/job/${id}`} class="mono">
    {full ? id : short(id)}
  </a>
)
export const SessionLink = ({ id, full }: { id: string; full?: boolean }) => (
  <a href={`#/session/${id}`} class="mono">
    {full ? id : short(id)}
  </a>
)

export function Status({ s }: { s: string | boolean | null | undefined }) {
  const text = s === true ? 'success' : s === false ? 'failed' : (s ?? 'unknown')
  const kind = /^(accept|accepted|success|final)$/.test(text) ? 'ok' : /reject|fail|refut|expired|refunded|slash/.test(text) ? 'bad' : /open|assigned|committed|running|verifying|sealed|revealed|pending|justified/.test(text) ? 'warn' : ''
  return <span class={`badge ${kind}`}>{text}</span>
}

export function Fields({ rows }: { rows: [string, ComponentChildren][] }) {
  return (
    <table class="fields">
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export const Card = ({ title, children }: { title?: ComponentChildren; children: ComponentChildren }) => (
  <section class="card">
    {title ? <h2>{title}</h2> : null}
    {children}
  </section>
)

export const Stat = ({ k, v }: { k: string; v: ComponentChildren }) => (
  <div class="stat">
    <div class="k">{k}</div>
    <div class="v">{v}</div>
  </div>
)

export type Loaded<T> = { data?: T; error?: Error }

/** Loads `fn` when `deps` change; with `live`, again at each new head (keeping the old data meanwhile). */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[], live = false): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({})
  const [tick, setTick] = useState(0)
  useEffect(() => {
    if (!live) return
    return explorer().heads.subscribe(() => setTick((t) => t + 1))
  }, [live])
  useEffect(() => {
    let gone = false
    fn().then(
      (data) => !gone && setState({ data }),
      (error: Error) => !gone && setState((s) => ({ data: s.data, error })),
    )
    return () => {
      gone = true
    }
  }, [...deps, tick])
  useEffect(() => setState({}), deps)
  return state
}

export function Show<T>({ l, children }: { l: Loaded<T>; children: (d: T) => ComponentChildren }) {
  if (l.error && l.data === undefined) return <p class="error">{l.error.message}</p>
  if (l.data === undefined) return <p class="loading">Loading…</p>
  return <>{children(l.data)}</>
}
