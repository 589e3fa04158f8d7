import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

let ticksPerSecond: number | undefined

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat
 * (fields 14 and 15, in clock ticks: 10 ms resolution). Undefined when unavailable.
 * CPU time is immune to hypervisor steal, unlike wall-clock rates.
 */
export function processCpuMs(pid: number | undefined): number | undefined {
  const t = processCpuTimes(pid)
  return t && t.userMs + t.systemMs
}

/**
 * User and system (kernel: syscalls, loopback TCP, page faults) CPU of a process so far, in ms.
 * The split tells the JS cost of a request from the kernel's share of sending its response.
 */
export function processCpuTimes(pid: number | undefined): { userMs: number; systemMs: number } | undefined {
  if (pid === undefined) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may contain spaces: parse after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    return { userMs: (utime * 1000) / clockTicks(), systemMs: (stime * 1000) / clockTicks() }
  } catch {
    return undefined
  }
}

/** Measures the CPU a process (and this one) used between `start()` and `stop()`. */
export class CpuMeter {
  private server0?: { userMs: number; systemMs: number }
  private client0 = process.cpuUsage()

  constructor(private readonly pid: number | undefined) {
    this.server0 = processCpuTimes(pid)
  }

  /** serverMs = user + system; serverSystemMs = the kernel's part of it. */
  stop(): { serverMs?: number; serverSystemMs?: number; clientMs: number } {
    const s1 = processCpuTimes(this.pid)
    const s0 = this.server0
    const c = process.cpuUsage(this.client0)
    return {
      serverMs: s1 && s0 ? s1.userMs + s1.systemMs - (s0.userMs + s0.systemMs) : undefined,
      serverSystemMs: s1 && s0 ? s1.systemMs - s0.systemMs : undefined,
      clientMs: (c.user + c.system) / 1000,
    }
  }
}
