import t from 'tap'
import { PromMetrics } from '../PromMetrics.js'

t.test('process and Node.js metrics carry one povchain_ prefix, not povchain_process_process_', async (t) => {
  const m = new PromMetrics()
  const { body } = await m.render()
  const names = [...new Set(body.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]!))]
  t.ok(names.includes('povchain_process_cpu_seconds_total'), 'process CPU time')
  t.ok(names.includes('povchain_process_resident_memory_bytes'), 'resident memory')
  t.ok(names.some((n) => n.startsWith('povchain_nodejs_')), 'Node.js runtime metrics')
  t.same(names.filter((n) => !n.startsWith('povchain_')), [], 'every name is ours')
  t.same(names.filter((n) => n.includes('process_process')), [], 'no doubled prefix')
})
