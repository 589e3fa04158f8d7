import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now, for processes that must be told
 * their ports before they start (devnet members, test networks).
 *
 * The port is drawn at random *below* the kernel's ephemeral range: a port the OS hands out for
 * `listen(0)` or an outgoing connection can be handed to someone else before our process binds
 * it, and on a busy machine (parallel tests, a devnet of many nodes) that race is real
 * (EADDRINUSE). Below the range only explicit picks like this one compete. Falls back to an
 * OS-chosen port when no drawn port is free.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange()
  const top = Math.min(low, 65536) - 1
  const bottom = Math.max(1024, top - 12_000)
  for (let i = 0; i < 32 && top > bottom; i++) {
    const port = bottom + Math.floor(Math.random() * (top - bottom + 1))
    if (handedOut.has(port)) continue
    if (await canListen(port)) {
      handedOut.add(port)
      return port
    }
  }
  return listenOnce(0)
}

/** Ports this process gave out already, so two picks in one process never collide. */
const handedOut = new Set<number>()

function ephemeralRange(): [number, number] {
  try {
    const [a, b] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    if (a && b && a > 1024) return [a, b]
  } catch {
    // not Linux: the IANA dynamic range
  }
  return [49152, 65535]
}

/** True if nothing listens on 127.0.0.1:`port` now (a port the user chose). */
export function portIsFree(port: number): Promise<boolean> {
  return canListen(port)
}

async function canListen(port: number): Promise<boolean> {
  try {
    return (await listenOnce(port)) === port
  } catch {
    return false
  }
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.once('error', reject)
    srv.listen(port, '127.0.0.1', () => {
      const got = (srv.address() as { port: number }).port
      srv.close(() => resolve(got))
    })
  })
}
