import { PovError } from '../../common/errors.js'

/**
 * Errors of the marketplace's node side (the asset CLI, pov_ asset methods): `ASSET_*`.
 * `rpcCode`, when set, is what a pov_ method answers with (duck-typed by rpc/).
 */
export class AssetError extends PovError {
  readonly rpcCode?: number
  constructor(code: string, message: string, options?: { cause?: unknown; rpcCode?: number }) {
    super(`ASSET_${code}`, message, options)
    if (options?.rpcCode !== undefined) this.rpcCode = options.rpcCode
  }
}

/** A pov_ asset request with bad parameters (JSON-RPC -32602). */
export const badAssetParams = (message: string) => new AssetError('BAD_PARAMS', message, { rpcCode: -32602 })
