import { PovError } from '../common/errors.js'

/** Errors of the node's composition: configuration, lifecycle, requests it cannot serve. */
export class NodeError extends PovError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(`NODE_${code}`, message, options)
  }
}

export const headerNotFound = () => new NodeError('HEADER_NOT_FOUND', 'header not found')
