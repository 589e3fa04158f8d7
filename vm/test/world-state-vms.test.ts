import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { openChainDB, type ChainDB } from '../../chain/Database.js'
import { WorldState } from '../WorldState.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

// A VM built for one call or trace must not outlive it: each EVM subscribes to its Common's
// 'hardforkChanged', and on the node's shared Common that kept every VM reachable (the p2p
// fuzz's heap growth: network/README.md).
t.test('scratch and call VMs are not retained by the node Common', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'povchain-vms-'))
  let db: ChainDB | undefined
  t.teardown(async () => {
    await db?.close()
    rmSync(dir, { recursive: true, force: true })
  })
  db = await openChainDB(join(dir, 'db'))
  const common = createChainCommon(31337n)
  const state = new WorldState(db, common, { canonicalHash: async () => undefined })
  const genesis = await state.genesisVM()
  const root = await genesis.stateManager.getStateRoot()
  // warm up: the head VM and the pooled call VMs are kept on purpose
  await state.vmAt(root)
  await state.withCallVM(root, async () => {})
  gc()
  const before = process.memoryUsage().heapUsed
  // The EVM is what a listener would hold (it closes over the EVM, not the VM).
  const refs: WeakRef<object>[] = []
  const build = async () => {
    for (let i = 0; i < 300; i++) refs.push(new WeakRef((await state.scratchVM(root)).evm))
    // concurrent calls each build a VM; only a few are pooled afterwards
    await Promise.all(Array.from({ length: 40 }, () => state.withCallVM(root, async (vm) => void refs.push(new WeakRef(vm.evm)))))
  }
  await build()
  t.equal(common.events.listenerCount('hardforkChanged'), 0, 'no VM listens on the node Common')
  await new Promise((r) => setTimeout(r, 10))
  gc()
  const alive = refs.filter((r) => r.deref() !== undefined).length
  t.ok(alive <= 8, `of 340 VMs built, ${alive} still alive (the call pool keeps at most 8 a root)`)
  const grew = process.memoryUsage().heapUsed - before
  t.ok(grew < 8 * 2 ** 20, `heap after GC within 8 MiB of before (${(grew / 2 ** 20).toFixed(1)} MiB)`)
})
