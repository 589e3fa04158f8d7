export * from './ChainService.js'
export * from './DevWork.js'
export * from './errors.js'
export * from './HeaderValidator.js'
