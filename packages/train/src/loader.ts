/**
 * Batches for the training loop: a seeded permutation per epoch (`seededPermutation(seed, epoch)`), rows
 * grouped `batchSize` at a time, each batch padded to its longest row (pad id, label −100; padding comes
 * after every real token, so under causal, segment or document masks no real token sees it and losses are
 * what upstream's fixed-length padding gives). The position (epoch, batch) is all a checkpoint needs to
 * resume the data stream exactly. Also builds the attention strategy a batch needs (`batchAttention`).
 * Not here: tokenization (datasets), the loop (trainer.ts).
 */
import {
  and,
  bidirectional,
  causal,
  packedDocuments,
  type SegmentVectorOptions,
  type StrategyLike,
  segments,
  segmentVectorFromRoles,
} from "@minimind/attention";
import type { SegmentRole } from "@minimind/tokenizer";
import { seededPermutation } from "./random.js";
import { IGNORE_LABEL, type TrainingDataset } from "./sample.js";

/** One batch, as rows of numbers the model's `forward` takes. */
export interface Batch {
  readonly inputIds: number[][];
  readonly labels: number[][];
  /** Packed batches: positions restarting in each document (padding continues the last run). */
  readonly positionIds?: number[][];
  /** Packed batches: each token's document; padding is a run of its own. */
  readonly documentIds?: number[][];
  readonly roles: SegmentRole[][];
  readonly segments: number[][];
  /** Dataset rows in this batch. */
  readonly indices: number[];
  /** Tokens that are not padding. */
  readonly tokens: number;
  /** Positions with a target (labels[t + 1] ≠ −100), the loss's denominator. */
  readonly targets: number;
}

/** Where the data stream stands: the next batch to read. */
export interface LoaderPosition {
  readonly epoch: number;
  readonly batch: number;
}

export interface DataLoaderOptions {
  readonly batchSize: number;
  /** Seed of the per-epoch shuffle (default 42, upstream's). */
  readonly seed?: number;
  /** Shuffle rows each epoch (default true). */
  readonly shuffle?: boolean;
  /** Drop a last batch smaller than batchSize (default false, as upstream). */
  readonly dropLast?: boolean;
  /** Id used for padding (default 0, MiniMind's `<|endoftext|>`). */
  readonly padTokenId?: number;
}

export class DataLoader {
  readonly batchSize: number;
  readonly seed: number;
  private readonly shuffle: boolean;
  private readonly dropLast: boolean;
  private readonly padTokenId: number;
  private order: { epoch: number; rows: Uint32Array } | undefined;

  constructor(
    readonly dataset: TrainingDataset,
    options: DataLoaderOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new RangeError(`[DataLoader] batchSize is ${options.batchSize}; use an integer ≥ 1`);
    }
    this.batchSize = options.batchSize;
    this.seed = options.seed ?? 42;
    this.shuffle = options.shuffle ?? true;
    this.dropLast = options.dropLast ?? false;
    this.padTokenId = options.padTokenId ?? 0;
  }

  /** Rows in `epoch`. */
  rowsIn(epoch: number): number {
    return this.dataset.lengthOfEpoch?.(epoch) ?? this.dataset.length;
  }

  /** Batches in `epoch`. */
  batchesIn(epoch: number): number {
    const rows = this.rowsIn(epoch);
    return this.dropLast ? Math.floor(rows / this.batchSize) : Math.ceil(rows / this.batchSize);
  }

  /** The dataset rows of batch `batch` in `epoch`, in order. */
  indicesOf(position: LoaderPosition): number[] {
    const { epoch, batch } = position;
    const count = this.batchesIn(epoch);
    if (!Number.isInteger(batch) || batch < 0 || batch >= count) {
      throw new RangeError(`[DataLoader] batch ${batch} is outside epoch ${epoch}'s ${count} batches`);
    }
    const rows = this.rowsIn(epoch);
    if (this.order?.epoch !== epoch) {
      const identity = Uint32Array.from({ length: rows }, (_, index) => index);
      this.order = { epoch, rows: this.shuffle ? seededPermutation(rows, this.seed, epoch) : identity };
    }
    const start = batch * this.batchSize;
    return Array.from(this.order.rows.subarray(start, Math.min(start + this.batchSize, rows)));
  }

  /** Batch `batch` of `epoch`, tokenized, padded and counted. */
  batch(position: LoaderPosition): Batch {
    const indices = this.indicesOf(position);
    const samples = indices.map((index) => this.dataset.sample(index, position.epoch));
    const width = Math.max(...samples.map((sample) => sample.inputIds.length));
    const packed = samples.some((sample) => sample.documentIds !== undefined);
    let tokens = 0;
    let targets = 0;
    const inputIds: number[][] = [];
    const labels: number[][] = [];
    const roles: SegmentRole[][] = [];
    const segmentRows: number[][] = [];
    const documentIds: number[][] = [];
    const positionIds: number[][] = [];
    for (const sample of samples) {
      const length = sample.inputIds.length;
      const padding = width - length;
      tokens += length;
      for (let position = 1; position < length; position++) if (sample.labels[position] !== IGNORE_LABEL) targets++;
      inputIds.push([...sample.inputIds, ...new Array<number>(padding).fill(this.padTokenId)]);
      labels.push([...sample.labels, ...new Array<number>(padding).fill(IGNORE_LABEL)]);
      roles.push([...sample.roles, ...new Array<SegmentRole>(padding).fill("template")]);
      const lastSegment = length > 0 ? (sample.segments[length - 1] as number) : 0;
      segmentRows.push([...sample.segments, ...new Array<number>(padding).fill(lastSegment + 1)]);
      if (packed) {
        const documents = sample.documentIds ?? new Int32Array(length);
        const positions = sample.positionIds ?? Int32Array.from({ length }, (_, index) => index);
        const lastDocument = length > 0 ? (documents[length - 1] as number) : -1;
        documentIds.push([...documents, ...new Array<number>(padding).fill(lastDocument + 1)]);
        positionIds.push([...positions, ...Array.from({ length: padding }, (_, index) => index)]);
      }
    }
    return {
      inputIds,
      labels,
      roles,
      segments: segmentRows,
      indices,
      tokens,
      targets,
      ...(packed ? { documentIds, positionIds } : {}),
    };
  }

  /** Every batch from `from` to the end of `epochs` epochs, with its position. */
  *batches(epochs: number, from: LoaderPosition = { epoch: 0, batch: 0 }): Generator<LoaderPosition> {
    for (let epoch = from.epoch; epoch < epochs; epoch++) {
      const start = epoch === from.epoch ? from.batch : 0;
      for (let batch = start; batch < this.batchesIn(epoch); batch++) yield { epoch, batch };
    }
  }
}

/** The mask a stage trains under: `causal` (upstream's, for every stage) or per-turn `segments`. */
export type AttentionMode = "causal" | "segments";

/**
 * The attention strategy for a batch: causal (or per-turn bidirectional prompts with `segments`, from the
 * rows' roles), limited to each document in packed batches.
 */
export function batchAttention(
  batch: Batch,
  mode: AttentionMode = "causal",
  options: SegmentVectorOptions = {},
): StrategyLike {
  if (mode !== "causal" && mode !== "segments") {
    throw new Error(`[batchAttention] mode is ${JSON.stringify(mode)}; use "causal" or "segments"`);
  }
  if (mode === "causal") return batch.documentIds === undefined ? causal : packedDocuments(batch.documentIds, causal);
  const vectors = batch.roles.map((roles, row) =>
    segmentVectorFromRoles(roles, { ...options, turns: batch.segments[row] }),
  );
  const turns = segments(vectors);
  return batch.documentIds === undefined ? turns : and(packedDocuments(batch.documentIds, bidirectional), turns);
}
