/**
 * The logging surface every component receives. It is the subset of pino's API we use, so
 * node/ can hand in a pino logger while tests hand in `silentLogger`.
 * Never pass key material to a logger.
 */
export interface LogFn {
  (msg: string): void
  (obj: Record<string, unknown>, msg?: string): void
}

export interface Logger {
  trace: LogFn
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
  child(bindings: Record<string, unknown>): Logger
}

const noop = () => {}

export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
}
