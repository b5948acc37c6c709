/**
 * @minimind/train — public API. Only what is exported here is public; everything else is private.
 * Data (streaming JSONL, pretraining and SFT datasets, packing, a resumable loader), optimization (AdamW,
 * clipping, schedule, gradient accumulation), the training loops with evaluation, metrics and checkpoints,
 * and LoRA. Node only (files, signals).
 */
export type { CheckpointFileRecord, CheckpointState, LoadedCheckpoint, WriteCheckpointOptions } from "./checkpoint.js";
export {
  CheckpointError,
  latestCheckpoint,
  listCheckpoints,
  readCheckpoint,
  TRAINER_STATE_NAME,
  writeCheckpoint,
} from "./checkpoint.js";
export type { EvaluationOptions, EvaluationResult } from "./evaluate.js";
export { evaluate } from "./evaluate.js";
export type {
  ExperimentConversation,
  MaskExperimentData,
  MaskExperimentOptions,
  MaskExperimentResult,
  MaskExperimentRun,
} from "./experiment.js";
export { checkDisjoint, runMaskExperiment } from "./experiment.js";
export type { ArmMask, MaskExperimentArm, PromptRow } from "./experiment-arms.js";
export {
  armAttention,
  MASK_EXPERIMENT_ARMS,
  maskStrategy,
  servingMaskOf,
  trainingMaskOf,
} from "./experiment-arms.js";
export type { ChatTiming, TaskScore } from "./experiment-evaluate.js";
export type { MaskExperimentSummaryRow } from "./experiment-report.js";
export { maskExperimentChatTable, maskExperimentTable, summarizeMaskExperiment } from "./experiment-report.js";
export type { Interval } from "./experiment-statistics.js";
export { tInterval } from "./experiment-statistics.js";
export type { AccumulatedLoss } from "./gradients.js";
export { accumulateGradients } from "./gradients.js";
export type { BadLine, JsonLinesOptions, JsonLinesSummary, JsonRecord, OnBadLine } from "./jsonl.js";
export { JsonLinesError, JsonLinesIndex, readJsonLines } from "./jsonl.js";
export type { AttentionMode, Batch, DataLoaderOptions, LoaderPosition } from "./loader.js";
export { batchAttention, DataLoader } from "./loader.js";
export type { LoraOptions, LoraTrainOptions } from "./lora.js";
export { LORA_ADAPTER_FILE, LoraAdapters, lora } from "./lora.js";
export type { AdamWOptions, NoDecayRule } from "./optimizer.js";
export { AdamW, clipGradientNorm } from "./optimizer.js";
export type { PackingOptions } from "./packing.js";
export { PackedDataset } from "./packing.js";
export type { PretrainDatasetOptions, PretrainFileOptions } from "./pretrain-dataset.js";
export { PretrainDataset } from "./pretrain-dataset.js";
export type { RecordSource, TrainingDataset, TrainingSample } from "./sample.js";
export { IGNORE_LABEL, recordsFromArray, recordsFromJsonLines } from "./sample.js";
export type { ScheduleOptions, StageDefaults } from "./schedule.js";
export { learningRateAt, STAGE_DEFAULTS } from "./schedule.js";
export type { SFTDatasetOptions, SFTFileOptions } from "./sft-dataset.js";
export { SFTDataset, UPSTREAM_SYSTEM_PROMPTS } from "./sft-dataset.js";
export type { EvaluationSettings, Stage, TrainEvent, TrainOptions, TrainResult } from "./trainer.js";
export { pretrain, sft, train } from "./trainer.js";
