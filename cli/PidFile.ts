import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * `<datadir>/node.pid`: the process id of the node serving that datadir, written once it
 * serves and removed when it stops cleanly. Tools that manage nodes they did not start (the
 * devnet stopping a node restarted by hand from devnet.json, service scripts) find it here.
 */
export const PID_FILE = 'node.pid'

export function writePidFile(datadir: string): void {
  writeFileSync(join(datadir, PID_FILE), `${process.pid}\n`)
}

export function removePidFile(datadir: string): void {
  // Only our own: a node that lost a race for the datadir must not delete the winner's file.
  if (readPidFile(datadir) === process.pid) rmSync(join(datadir, PID_FILE), { force: true })
}

/** The pid in the file if that process is alive, else undefined. */
export function livePid(datadir: string): number | undefined {
  const pid = readPidFile(datadir)
  if (pid === undefined) return undefined
  try {
    process.kill(pid, 0)
    return pid
  } catch {
    return undefined
  }
}

function readPidFile(datadir: string): number | undefined {
  try {
    const n = Number(readFileSync(join(datadir, PID_FILE), 'utf8').trim())
    return Number.isInteger(n) && n > 0 ? n : undefined
  } catch {
    return undefined
  }
}
