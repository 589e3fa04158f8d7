import { readFile } from 'node:fs/promises'
import type { BridgeCliContext } from '../bridge/cli.js'
import type { Logger } from '../common/logger.js'
import { createLogger } from '../node/logging.js'
import { PRESETS } from '../genesis/presets.js'
import { contractArtifact } from '../genesis/ContractArtifacts.js'
import { bytesToHex } from '../common/bytes.js'
import { decryptKeystore, readPasswordFile } from '../accounts/index.js'
import { HiddenPrompt } from './accountCommands.js'

/** What the bridge commands get from the node: keystore decryption and the genesis presets. */
export function bridgeCliContext(): BridgeCliContext {
  // Created on first use: a pretty logger starts a worker thread every other command can do without.
  let logger: Logger | undefined
  return {
    get logger() {
      return (logger ??= createLogger({ level: 'info' }))
    },
    async unlockKeystore(file, passwordFile) {
      const json = JSON.parse(await readFile(file, 'utf8')) as unknown
      let password: string
      if (passwordFile) password = (await readPasswordFile(passwordFile))[0] ?? ''
      else {
        const prompt = new HiddenPrompt()
        try {
          password = await prompt.ask(`Password for ${file}: `)
        } finally {
          prompt.close()
        }
      }
      return decryptKeystore(json, password)
    },
    genesisPreset: (name) => PRESETS[name]?.(),
    contractBytecode: (name) => bytesToHex(contractArtifact(name).bytecode),
  }
}
