import { readFile } from 'node:fs/promises'
import { hexToBytes } from '../common/bytes.js'
import { readPasswordFile } from '../accounts/AccountManager.js'
import { HiddenPrompt } from './accountCommands.js'
import { decryptKeystore } from '../accounts/Keystore.js'

/** How a CLI command was told to sign: a raw key file, or a keystore with a password file (else a prompt). */
export interface SigningKeyOptions {
  keyFile?: string
  keystore?: string
  password?: string
}

/** The private key the `job` and `asset` commands sign with, or undefined to sign through the node (--from). */
export async function loadSigningKey(o: SigningKeyOptions): Promise<Uint8Array | undefined> {
  if (o.keyFile) return hexToBytes((await readFile(o.keyFile, 'utf8')).trim())
  if (!o.keystore) return undefined
  const json = JSON.parse(await readFile(o.keystore, 'utf8')) as unknown
  let password: string
  if (o.password) password = (await readPasswordFile(o.password))[0] ?? ''
  else {
    const prompt = new HiddenPrompt()
    try {
      password = await prompt.ask(`Password for ${o.keystore}: `)
    } finally {
      prompt.close()
    }
  }
  return decryptKeystore(json, password)
}
