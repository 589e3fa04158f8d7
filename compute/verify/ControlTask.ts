import { hexToBytes } from '../../common/bytes.js'
import { domainHash, type Hash32 } from '../ContentHash.js'

/**
 * Control tasks: jobs whose answer the issuer computed in advance. Only a salted seal of the
 * answer is published, so a worker cannot look it up; when the worker's result hash is opened
 * against the seal, a mismatch marks the worker as dishonest.
 */
export interface ControlTask {
  specHash: Hash32
  sealedAnswer: Hash32
}

export function sealAnswer(resultHash: Hash32, salt: Uint8Array): Hash32 {
  return domainHash('povchain/control-answer/v1', hexToBytes(resultHash), salt)
}

export function createControlTask(specHash: Hash32, knownResultHash: Hash32, salt: Uint8Array): ControlTask {
  return { specHash, sealedAnswer: sealAnswer(knownResultHash, salt) }
}

export interface ControlJudgement {
  worker: string
  honest: boolean
  specHash: Hash32
  submitted: Hash32
}

/** Keeps the marks; the market reads `isMarked` to lower ratings or exclude workers. */
export class ControlTaskJudge {
  private readonly marks = new Map<string, ControlJudgement[]>()

  judge(task: ControlTask, salt: Uint8Array, worker: string, submittedResultHash: Hash32): ControlJudgement {
    const honest = sealAnswer(submittedResultHash, salt) === task.sealedAnswer
    const j = { worker, honest, specHash: task.specHash, submitted: submittedResultHash }
    if (!honest) this.marks.set(worker, [...(this.marks.get(worker) ?? []), j])
    return j
  }

  isMarked(worker: string): boolean {
    return this.marks.has(worker)
  }

  marksOf(worker: string): readonly ControlJudgement[] {
    return this.marks.get(worker) ?? []
  }
}
