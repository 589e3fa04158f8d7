/** The explorer page: reads /explorer/config.json, then routes `#/…` to the pages. */
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { setExplorer, explorer } from './context'
import { Decoder } from './decode'
import { AddressPage } from './pages/Address'
import { AssetPage, AssetsPage, BountyPage } from './pages/Assets'
import { BlockPage, BlocksPage } from './pages/Block'
import { BridgePage } from './pages/Bridge'
import { Home } from './pages/Home'
import { JobPage, JobsPage, SessionPage } from './pages/Jobs'
import { SearchPage } from './pages/Search'
import { TxPage } from './pages/Tx'
import { ValidatorsPage } from './pages/Validators'
import { LiveHeads, Rpc, type ExplorerConfig } from './rpc'

function route(hash: string) {
  const [path = '', ...rest] = hash.replace(/^#\/?/, '').split('/')
  const arg = decodeURIComponent(rest.join('/'))
  switch (path) {
    case '':
      return <Home />
    case 'block':
      return <BlockPage id={arg} key={arg} />
    case 'blocks':
      return <BlocksPage before={arg || '0'} key={arg} />
    case 'tx':
      return <TxPage hash={arg} key={arg} />
    case 'address': {
      // #/address/A?txs=CURSOR&transfers=CURSOR: the page stays (key = A) while its lists page.
      const [a = '', query = ''] = arg.split('?')
      const q = new URLSearchParams(query)
      return <AddressPage a={a} key={a} cursors={{ txs: q.get('txs') ?? undefined, transfers: q.get('transfers') ?? undefined }} />
    }
    case 'validators':
      return <ValidatorsPage />
    case 'jobs':
      return <JobsPage to={arg || undefined} key={arg} />
    case 'job':
      return <JobPage id={arg} key={arg} />
    case 'session':
      return <SessionPage id={arg} key={arg} />
    case 'assets':
      return <AssetsPage offset={arg || '0'} key={arg} />
    case 'asset':
      return <AssetPage id={arg} key={arg} />
    case 'bounty':
      return <BountyPage id={arg} key={arg} />
    case 'bridge':
      return <BridgePage />
    case 'search':
      return <SearchPage q={arg} key={arg} />
    default:
      return <p class="error">No page {hash}.</p>
  }
}

function App() {
  const [hash, setHash] = useState(location.hash)
  const [mode, setMode] = useState(explorer().heads.mode)
  const [q, setQ] = useState('')
  useEffect(() => {
    const on = () => {
      setHash(location.hash)
      window.scrollTo(0, 0)
    }
    window.addEventListener('hashchange', on)
    explorer().heads.onMode = setMode
    // The socket may have opened before this effect ran.
    setMode(explorer().heads.mode)
    return () => window.removeEventListener('hashchange', on)
  }, [])
  return (
    <>
      <header>
        <a class="brand" href="#/">
          povchain explorer
        </a>
        <nav>
          <a href="#/">home</a>
          <a href="#/validators">validators</a>
          <a href="#/jobs">jobs</a>
          <a href="#/assets">assets</a>
          {explorer().decoder.addressOf('SwapBridge') ? <a href="#/bridge">bridge</a> : null}
          <span title={mode === 'ws' ? 'live over WebSocket (eth_subscribe newHeads)' : 'polling the head every 2 s'}>
            <span class={`live ${mode === 'ws' ? '' : 'off'}`} />
            {mode === 'ws' ? 'live' : mode}
          </span>
        </nav>
        <form
          id="search"
          onSubmit={(e) => {
            e.preventDefault()
            if (q.trim()) location.hash = `#/search/${encodeURIComponent(q.trim())}`
            setQ('')
          }}
        >
          <input aria-label="search" placeholder="block, tx, address, job or session id" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
          <button type="submit">Search</button>
        </form>
      </header>
      <main>{route(hash)}</main>
    </>
  )
}

async function start() {
  const root = document.getElementById('app')!
  try {
    const res = await fetch('config.json')
    if (!res.ok) throw new Error(`config.json: HTTP ${res.status}`)
    const cfg = (await res.json()) as ExplorerConfig
    const rpc = new Rpc(cfg.rpcPath)
    setExplorer({ rpc, cfg, decoder: new Decoder(cfg), heads: new LiveHeads(rpc, cfg.wsUrl) })
    root.textContent = ''
    render(<App />, root)
  } catch (e) {
    root.textContent = `The explorer could not start: ${(e as Error).message}`
  }
}

void start()
