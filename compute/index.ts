/**
 * compute/ — deterministic AI workloads, the embedded and Docker runtimes, checkpoints,
 * session commitments and their verification, and the worker side (blob store, benchmark,
 * idle switch, retrying worker loop). Imports nothing of the chain.
 */
export { ComputeError, type ComputeErrorCode } from './ComputeError.js'
export { contentHash, domainHash, isHash32, type Hash32 } from './ContentHash.js'

export { canonicalJson, canonicalJsonBytes } from './data/CanonicalJson.js'
export { decodeDataset, encodeDataset, datasetHash, validateDataset, DATASET_LIMITS, type Dataset } from './data/Dataset.js'
export { csvToDataset, parseCsv, type CsvImportOptions } from './data/CsvImport.js'
export { irisDataset } from './data/IrisDataset.js'
export { bundledDatasets, bundledDatasetBytes, BUNDLED_DATASET_NAMES } from './data/BundledDatasets.js'

export { detExp, detLog, detSin, detCos, detTanh } from './math/DeterministicMath.js'
export { Prng } from './math/Prng.js'

export {
  parseJobSpecStructure,
  encodeJobSpec,
  jobSpecHash,
  jobSpecText,
  PINNED_IMAGE,
  type JobSpec,
  type JobKind,
  type RuntimeRef,
  type VerificationPolicy,
  type ResourceLimits,
} from './spec/JobSpec.js'

export type { Workload, PreparedWorkload, WorkloadInputs, WorkloadMetrics, StepProgress } from './workloads/Workload.js'
export { MlpTrainWorkload, readMlpTrainParams, splitRows } from './workloads/MlpTrainWorkload.js'
export { MlpInferWorkload, decodeModel, evaluateModel } from './workloads/MlpInferWorkload.js'
export { SyntheticDataWorkload } from './workloads/SyntheticDataWorkload.js'
export { MlpNetwork, type MlpModelFile } from './workloads/MlpNetwork.js'
export { builtInWorkloads, findWorkload, getWorkload, validateJobSpec } from './workloads/WorkloadRegistry.js'

export { checkpointSteps, segmentCount } from './execution/CheckpointSchedule.js'
export {
  executeJob,
  prepareJob,
  replaySegment,
  finishFromState,
  type JobResult,
  type CheckpointRecord,
  type ProgressEvent,
  type RunStats,
} from './execution/JobExecution.js'

export type { Runtime, RunRequest } from './runtime/Runtime.js'
export { EmbeddedRuntime, type EmbeddedRuntimeOptions } from './runtime/EmbeddedRuntime.js'
export { DockerRuntime, type DockerRuntimeOptions, type DockerProbe } from './runtime/DockerRuntime.js'
export { ImageBuilder, type BuiltImage, type ImageBuildOptions } from './runtime/ImageBuilder.js'
export { ImageStore, type ImageRecord, type ImageStoreDeps } from './runtime/ImageStore.js'
export { parseImageReference, type ImageReference } from './runtime/ImageReference.js'
export { buildTorchImage, defaultImageCache, TORCH_WORKLOADS, type BuiltTorchImage } from './runtime/torch/TorchImage.js'
export { gpuDeviceRequests } from './runtime/GpuRequest.js'
export { DEFAULT_OUTPUT_QUOTA, type OutputQuota } from './runtime/ContainerOutput.js'
export { CONTAINER_JOB_DIR, PROGRESS_PREFIX, type ResultManifest } from './runtime/ContainerContract.js'

export { merkleRoot, merkleProof, verifyMerkleProof } from './verify/CheckpointMerkle.js'
export { buildCommitment, parseCommitment, checkpointHash, metricsHash, commitmentHash, type SessionCommitment } from './verify/SessionCommitment.js'
export { sampleSegments, detectionProbability } from './verify/SegmentSampler.js'
export { ReexecutionVerifier, type CheckpointSource, type VerificationReport, type Evidence, type RejectReason } from './verify/ReexecutionVerifier.js'

export { BlobStore, type BlobStoreOptions } from './worker/BlobStore.js'
export { SessionStore, type SessionRecord } from './worker/SessionStore.js'
export { importBundledDatasets, loadJobInputs } from './worker/JobInputs.js'
export { runBenchmark, referenceSpec, type BenchmarkReport } from './worker/Benchmark.js'
export { IdleSwitch, type IdleSwitchOptions } from './worker/IdleSwitch.js'
export { detectGpus, gpusFit, parseNvidiaSmi, type GpuInfo } from './worker/GpuInventory.js'
export type { WorkerCapacity } from './worker/WorkerCapacity.js'
export { ComputeWorker, type AssignedJob, type JobOutcome, type JobSource, type ComputeWorkerOptions } from './worker/ComputeWorker.js'

export { registerComputeCommands, type ComputeCliContext, type ComputeCliIo } from './cli.js'
