/**
 * What datasets hand the loader: one tokenized training row (`TrainingSample`) with labels, per-token chat
 * roles and turn indices (so any @minimind/attention strategy can be built for it) and, for packed rows,
 * document ids and per-document positions. `RecordSource` is where records come from: a `JsonLinesIndex`
 * (files larger than memory) or an in-memory array. Not here: tokenization rules (pretrain-dataset.ts,
 * sft-dataset.ts), batching (loader.ts).
 */
import type { SegmentRole } from "@minimind/tokenizer";
import type { JsonLinesIndex } from "./jsonl.js";

export const IGNORE_LABEL = -100;

export interface TrainingSample {
  /** Token ids [T]. */
  readonly inputIds: Int32Array;
  /** Targets [T] as upstream lays them out: the model compares logits[t] with labels[t + 1]; -100 = ignored. */
  readonly labels: Int32Array;
  /** Each token's chat role (`assistant` for pretraining text, which is causal and trained). */
  readonly roles: readonly SegmentRole[];
  /** Each token's turn index within its document (non-decreasing per document). */
  readonly segments: Int32Array;
  /** Packed rows only: each token's document (contiguous runs, distinct per row; padding is its own run). */
  readonly documentIds?: Int32Array;
  /** Packed rows only: each token's rotary position within its document. */
  readonly positionIds?: Int32Array;
}

/** A dataset of training rows. `epoch` keys the seeded augmentations, so a resumed run sees the same rows. */
export interface TrainingDataset {
  readonly length: number;
  sample(index: number, epoch: number): TrainingSample;
  /** Rows in `epoch` when it differs between epochs (packing of augmented data); default `length`. */
  lengthOfEpoch?(epoch: number): number;
  /** True when `sample(index, epoch)` does not depend on the epoch (no augmentation). */
  readonly epochInvariant?: boolean;
}

/** Records by position, with a description of where each came from for error messages. */
export interface RecordSource {
  readonly length: number;
  read(index: number): unknown;
  describe(index: number): string;
}

/** A record source over a JSONL index (see `JsonLinesIndex`). */
export function recordsFromJsonLines(index: JsonLinesIndex): RecordSource {
  return {
    get length() {
      return index.length;
    },
    read: (position) => index.read(position),
    describe: (position) => `${index.file}:${index.line(position)}`,
  };
}

/** A record source over records already in memory (tests, generated data). */
export function recordsFromArray(records: readonly unknown[], name = "records"): RecordSource {
  return {
    length: records.length,
    read: (position) => {
      if (!Number.isInteger(position) || position < 0 || position >= records.length) {
        throw new RangeError(`[dataset] record ${position} is outside ${name}'s ${records.length} records`);
      }
      return records[position];
    },
    describe: (position) => `${name}[${position}]`,
  };
}

export function checkMaxSeqLen(maxSeqLen: number, where: string): void {
  if (!Number.isInteger(maxSeqLen) || maxSeqLen < 3) {
    throw new RangeError(`[${where}] maxSeqLen is ${maxSeqLen}; use an integer ≥ 3 (bos, a token, eos)`);
  }
}
