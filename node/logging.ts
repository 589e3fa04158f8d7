import pino from 'pino'
import type { Logger } from '../common/logger.js'

export type LogFormat = 'json' | 'pretty'

/**
 * Structured logs: JSON lines for production and log shippers, a readable single line per
 * event on a terminal. Everything goes to stderr so stdout stays free for command output.
 */
export function createLogger(opts: { level?: string; format?: LogFormat } = {}): Logger {
  const format = opts.format ?? (process.stderr.isTTY ? 'pretty' : 'json')
  const level = opts.level ?? 'info'
  if (format === 'pretty') {
    const transport = pino.transport({
      target: 'pino-pretty',
      options: { destination: 2, colorize: process.stderr.isTTY, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
    })
    return pino({ level, base: undefined }, transport) as unknown as Logger
  }
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: false })) as unknown as Logger
}
