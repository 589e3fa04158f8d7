/**
 * Base class of every error the node raises on purpose. Each module derives one class with
 * its own `code` prefix so that logs, metrics and the RPC layer can tell them apart without
 * matching on message text.
 */
export class PovError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}
