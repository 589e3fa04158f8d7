/**
 * The container contract (also in compute/README.md). A job image must:
 *  - read the spec from  /job/in/spec.json  and its inputs from  /job/in/dataset , /job/in/model
 *    (present only if the spec names them; the whole /job/in is mounted read-only);
 *  - write each checkpoint's full state to  /job/out/checkpoints/<index>.state  as it is taken;
 *  - write the result blob to  /job/out/result ;
 *  - write  /job/out/manifest.json  last (see ResultManifest); its presence means success;
 *  - report progress as stdout lines  `POVCHAIN-PROGRESS {"step":…,"totalSteps":…,"loss":…}` ;
 *    every other stdout/stderr line is kept as the job log;
 *  - on failure exit non-zero and, if it can, write  /job/out/error.json  {code, message}.
 * The root filesystem is read-only, /tmp is a small tmpfs, there is no network, and the
 * container is killed at the job's deadline.
 */
export const CONTAINER_JOB_DIR = '/job'
export const PROGRESS_PREFIX = 'POVCHAIN-PROGRESS '

export interface ResultManifest {
  format: 'povchain-result-manifest'
  version: 1
  specHash: string
  totalSteps: number
  checkpoints: { index: number; step: number; hash: string; file: string }[]
  result: { file: string; hash: string }
  metrics: Record<string, unknown>
}
