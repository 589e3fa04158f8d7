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
 * when a job arrives: SIGTERM to its whole process group, SIGKILL after a grace period. The
 * program gets its own process group so a shell wrapper's children are stopped too.
 */
export class IdleSwitch {
  private child: ChildProcess | undefined
  private exited: Promise<void> | undefined
  private idle = false
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

  /** Enter idle: start the program if it is not running. */
  resume(): void {
    this.idle = true
    if (!this.child) this.launch()
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
    this.idle = false
    clearTimeout(this.restartTimer)
    this.restartTimer = undefined
    const child = this.child
    if (!child || child.pid === undefined) return
    const pgid = child.pid
    const exited = this.exited!
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
  }

  async stop(): Promise<void> {
    await this.pause()
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
