/**
 * @minimind/train — public API. Only what is exported here is public; everything else is private.
 * Data (streaming JSONL, pretraining and SFT datasets, packing, a resumable loader), optimization (AdamW,
 * clipping, schedule), the training loops with evaluation and checkpoints, and LoRA. Node only (files).
 */
export type { BadLine, JsonLinesOptions, JsonLinesSummary, JsonRecord, OnBadLine } from "./jsonl.js";
export { JsonLinesError, JsonLinesIndex, readJsonLines } from "./jsonl.js";
export type { AttentionMode, Batch, DataLoaderOptions, LoaderPosition } from "./loader.js";
export { batchAttention, DataLoader } from "./loader.js";
export type { PackingOptions } from "./packing.js";
export { PackedDataset } from "./packing.js";
export type { PretrainDatasetOptions, PretrainFileOptions } from "./pretrain-dataset.js";
export { PretrainDataset } from "./pretrain-dataset.js";
export type { RecordSource, TrainingDataset, TrainingSample } from "./sample.js";
export { IGNORE_LABEL, recordsFromArray, recordsFromJsonLines } from "./sample.js";
export type { SFTDatasetOptions, SFTFileOptions } from "./sft-dataset.js";
export { SFTDataset, UPSTREAM_SYSTEM_PROMPTS } from "./sft-dataset.js";
