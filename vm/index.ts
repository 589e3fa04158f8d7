export * from './BlockExecutor.js'
export * from './errors.js'
export * from './TrieDatabase.js'
export * from './WorldState.js'
