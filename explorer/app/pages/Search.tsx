import { useEffect, useState } from 'preact/hooks'
import { explorer } from '../context'
import { isAddress, isHash } from '../format'

/**
 * Search: a block number, an address, or a 32-byte hash — tried at once as a block hash, a
 * transaction hash, a job id and a session id (one batch), then the page of what it is.
 */
export function SearchPage({ q }: { q: string }) {
  const [msg, setMsg] = useState('Searching…')
  useEffect(() => {
    const s = q.trim()
    let gone = false
    const go = (h: string) => !gone && location.replace(`#${h}`)
    if (/^\d+$/.test(s)) go(`/block/${s}`)
    else if (/^0x[0-9a-fA-F]{1,15}$/.test(s) && !isAddress(s)) go(`/block/${BigInt(s).toString()}`)
    else if (isAddress(s)) go(`/address/${s}`)
    else if (isHash(s)) {
      explorer()
        .rpc.batchSettled<unknown>([
          { method: 'eth_getBlockByHash', params: [s, false] },
          { method: 'eth_getTransactionByHash', params: [s] },
          { method: 'pov_getJob', params: [s] },
          { method: 'pov_getSession', params: [s] },
        ])
        .then(([b, t, j, se]) => {
          if (b!.result) go(`/block/${s}`)
          else if (t!.result) go(`/tx/${s}`)
          else if (j!.result) go(`/job/${s}`)
          else if (se!.result) go(`/session/${s}`)
          else !gone && setMsg(`Nothing on this node has the hash ${s} (block, transaction, job or session).`)
        }, (e: Error) => !gone && setMsg(e.message))
    } else setMsg(`"${s}" is neither a block number, an address nor a 32-byte hash.`)
    return () => {
      gone = true
    }
  }, [q])
  return (
    <>
      <h1>Search</h1>
      <p id="search-result">{msg}</p>
    </>
  )
}
