import type { Logger } from '../common/logger.js'
import { ALL_APIS } from '../rpc/ApiNamespaces.js'
import type { RpcOptions } from '../rpc/RpcOptions.js'

/**
 * What --dev opens on the JSON-RPC ports, unless the flag is given: browsers from any origin
 * (CORS and WS Origin, as Hardhat and Anvil do) and every namespace — admin, debug and the
 * account-signing methods of the unlocked dev accounts. Host names stay checked
 * (--http.vhosts, DNS rebinding) and bodies must stay JSON. Outside --dev the rpc/ defaults
 * hold: no CORS, no WS Origin, namespaces eth,net,web3,pov,txpool.
 */
export function devRpcOpenings(rpc: Partial<RpcOptions>): Partial<RpcOptions> {
  return {
    corsOrigins: rpc.corsOrigins ?? ['*'],
    wsOrigins: rpc.wsOrigins ?? ['*'],
    httpApi: rpc.httpApi ?? [ALL_APIS],
    wsApi: rpc.wsApi ?? [ALL_APIS],
  }
}

/** Says at start what --dev opened, so nobody runs it exposed by mistake. */
export function logDevOpenings(rpc: Partial<RpcOptions>, log: Logger): void {
  const o = devRpcOpenings(rpc)
  log.warn(
    { corsdomain: o.corsOrigins, wsOrigins: o.wsOrigins, httpApi: o.httpApi, wsApi: o.wsApi },
    '--dev opens the JSON-RPC ports to browsers of any origin and serves every namespace (admin, debug, account signing with the unlocked dev accounts): keep them on 127.0.0.1',
  )
}
