// Accounts and signing: keystore files, dev accounts, unlocked keys (the `account` command is cli/accountCommands.ts).
export { AccountsError, DECRYPT_FAILED, UNKNOWN_ACCOUNT, type AccountsErrorCode } from './errors.js'
export { addressKey, parseAddress, toChecksumAddress } from './address.js'
export {
  decryptKeystore,
  encryptKeystore,
  keystoreAddress,
  keystoreFileName,
  Keystore,
  LIGHT_SCRYPT,
  parseKeystore,
  STANDARD_SCRYPT,
  TEST_SCRYPT,
  type EncryptOptions,
  type KeystoreEntry,
  type KeystoreOptions,
  type KeystoreV3,
  type ParsedKeystore,
  type ScryptParams,
} from './Keystore.js'
export { DEV_ACCOUNT_COUNT, DEV_HD_PATH, DEV_MNEMONIC, deriveAccounts, devAccounts, type DerivedAccount } from './DevAccounts.js'
export { AccountManager, personalMessageDigest, readPasswordFile, type AccountManagerOptions, type TxRequest } from './AccountManager.js'
export { normalizeTypedData, typedDataDigest, type NormalizedTypedData, type TypedDataField } from './typedData.js'
