/**
 * Slashing evidence checks (issue 5). The pure checks live in chain/Equivocation.ts so that
 * the EVM's evidence precompile (vm/EvidencePrecompile.ts) and consensus judge the same bytes
 * the same way; consensus names them here.
 */
export { checkDoubleProduction, checkDoubleVote, checkSurroundVote, type EvidenceResult } from '../chain/Equivocation.js'
