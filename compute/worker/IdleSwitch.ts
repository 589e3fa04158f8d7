import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import type { Logger } from '../../common/logger.js'
import { silentLogger } from '../../common/logger.js'

export interface IdleSwitchOptions {
  /** Shell command started whenever no job runs (`--idle-cmd`). */
  command: string
  /** Time between SIGTERM and SIGKILL. */
  graceMs?: number
  /** Delay before restarting the program if it exits on its own while idle. */
  restartDelayMs?: number
}

/**
 * Runs the miner's own program (typically a crypto miner) while the worker is idle and stops it
 * when a job arrives: SIGTERM to its whole process group, SIGKILL after a grace period, and the
 * job waits until no process of the group is left (so its CPU and GPU memory are free). The
 * program gets its own process group so a shell wrapper's children are stopped too. Several
 * job runners share one switch (one per worker identity): it resumes only when none is busy.
 */
export class IdleSwitch {
  private child: ChildProcess | undefined
  private exited: Promise<void> | undefined
  private busy = 0
  private stopped = false
  private restartTimer: NodeJS.Timeout | undefined
  private readonly logger: Logger

  constructor(
    private readonly opts: IdleSwitchOptions,
    deps: { logger?: Logger } = {},
  ) {
    this.logger = (deps.logger ?? silentLogger).child({ component: 'idle-switch' })
  }

  get running(): boolean {
    return this.child !== undefined
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  private get idle(): boolean {
    return !this.stopped && this.busy === 0
  }

  /** Allow the program to run (the worker started): it starts if no job is running. */
  enable(): void {
    this.stopped = false
    if (this.idle && !this.child) this.launch()
  }

  /** A job finished: once no job runs any more, the program starts again. */
  resume(): void {
    this.busy = Math.max(0, this.busy - 1)
    if (this.idle && !this.child) {
      this.logger.info('no job running: resuming the idle program')
      this.launch()
    }
  }


  private launch(): void {
    const child = spawn('/bin/sh', ['-c', this.opts.command], { detached: true, stdio: 'ignore' })
    this.child = child
    this.exited = new Promise((res) => child.once('exit', () => res()))
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined
      this.logger.info({ code, signal }, 'idle program exited')
      if (this.idle && !this.restartTimer) {
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined
          if (this.idle && !this.child) this.launch()
        }, this.opts.restartDelayMs ?? 5000)
        this.restartTimer.unref()
      }
    })
    child.once('error', (e) => this.logger.warn({ err: e.message }, 'idle program failed to start'))
    this.logger.info({ pid: child.pid, command: this.opts.command }, 'idle program started')
  }

  /** Leave idle (a job arrived): stop the program and wait until it is gone. */
  async pause(): Promise<void> {
    this.busy++
    await this.kill('a job starts')
  }

  private async kill(why: string): Promise<void> {
    clearTimeout(this.restartTimer)
    this.restartTimer = undefined
    const child = this.child
    if (!child || child.pid === undefined) return
    const pgid = child.pid
    const exited = this.exited!
    const t0 = Date.now()
    signalGroup(pgid, 'SIGTERM')
    const timer = setTimeout(() => {
      this.logger.warn({ pid: pgid }, 'idle program ignored SIGTERM; sending SIGKILL')
      signalGroup(pgid, 'SIGKILL')
    }, this.opts.graceMs ?? 5000)
    await exited
    // The shell may be gone while its children (the real miner) are still shutting down.
    while (groupAlive(pgid)) await new Promise((r) => setTimeout(r, 20))
    clearTimeout(timer)
    if (this.child === child) this.child = undefined
    this.logger.info({ pgid, ms: Date.now() - t0, why }, 'idle program stopped: its process group is gone')
  }

  /** The worker stops: the program is stopped and not restarted until enable(). */
  async stop(): Promise<void> {
    this.stopped = true
    await this.kill('the worker stops')
  }
}

/** Whether any live (non-zombie) process remains in the group; zombies wait on init, not on us. */
function groupAlive(pgid: number): boolean {
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    try {
      process.kill(-pgid, 0)
      return true
    } catch {
      return false
    }
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8')
    } catch {
      continue
    }
    // Fields after the parenthesised command: state, ppid, pgrp, …
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(f[2]) === pgid && f[0] !== 'Z' && f[0] !== 'X') return true
  }
  return false
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig)
  } catch {
    try {
      process.kill(pid, sig)
    } catch {
      // Already gone.
    }
  }
}
