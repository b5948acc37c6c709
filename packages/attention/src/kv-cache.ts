/**
 * A KV cache that obeys its strategy: prefill a chunk at the current position, then decode step by step;
 * queries of each chunk sit at absolute positions (bottom-right alignment). An append is refused, with an
 * error naming the strategy, the positions and what to do, when a token of the chunk would attend a key
 * not there yet (anywhere up to the capacity) — so no cached token ever needs a later key. The check is
 * exact: block classification, then the mask inside partial blocks. `planChunks` cuts a prompt where the strategy allows (each bidirectional segment one chunk).
 * Not here: tensors or multi-layer bookkeeping; a model keeps one cache per layer.
 */
import { BlockMask } from "./block-mask.js";
import { attentionForward } from "./kernel.js";
import {
  type AttentionStrategy,
  type ChunkBoundaries,
  type ScoreMod,
  type StrategyLike,
  toStrategy,
} from "./strategy.js";

export interface KeyValueCacheOptions {
  batch?: number;
  queryHeads: number;
  keyValueHeads: number;
  headDim: number;
  /** Maximum number of positions held. */
  capacity: number;
  /** BlockMask block size. Default 64. */
  blockSize?: number;
  /** Default 1 / √headDim. */
  scale?: number;
  /** Default the strategy's score mod. */
  scoreMod?: ScoreMod;
}

/** Finds a query in [queryFrom, cut) that attends a key in [cut, end), or null. */
function firstViolation(
  strategy: AttentionStrategy,
  batch: number,
  headGroups: number,
  queryFrom: number,
  cut: number,
  end: number,
  blockSize: number,
): { batch: number; head: number; query: number; key: number } | null {
  if (end <= cut) return null;
  for (let b = 0; b < batch; b++) {
    for (let head = 0; head < headGroups; head++) {
      for (let queryStart = queryFrom; queryStart < cut; queryStart += blockSize) {
        const queryEnd = Math.min(cut, queryStart + blockSize);
        const kind = strategy.classifyBlock?.(b, head, queryStart, queryEnd, cut, end) ?? "partial";
        if (kind === "empty") continue;
        for (let query = queryStart; query < queryEnd; query++) {
          for (let key = cut; key < end; key++) {
            if (strategy.maskMod(b, head, query, key)) return { batch: b, head, query, key };
          }
        }
      }
    }
  }
  return null;
}

function describeBoundaries(boundaries: ChunkBoundaries): string {
  if (boundaries === "anywhere") return "anywhere";
  if (boundaries === "nowhere") return "nowhere (one chunk must hold the whole sequence)";
  const shown = boundaries.slice(0, 12).join(", ");
  return boundaries.length > 12 ? `${shown}, …` : shown || "none";
}

export class KeyValueCache {
  readonly strategy: AttentionStrategy;
  readonly batch: number;
  readonly queryHeads: number;
  readonly keyValueHeads: number;
  readonly headDim: number;
  readonly capacity: number;
  private readonly blockSize: number;
  private readonly scale: number | undefined;
  private readonly scoreMod: ScoreMod | undefined;
  /** [batch, keyValueHeads, capacity, headDim] */
  private readonly keys: Float32Array;
  private readonly values: Float32Array;
  private filled = 0;

  constructor(strategy: StrategyLike, options: KeyValueCacheOptions) {
    this.strategy = toStrategy(strategy);
    this.batch = options.batch ?? 1;
    this.queryHeads = options.queryHeads;
    this.keyValueHeads = options.keyValueHeads;
    this.headDim = options.headDim;
    this.capacity = options.capacity;
    this.blockSize = options.blockSize ?? 64;
    this.scale = options.scale;
    this.scoreMod = options.scoreMod;
    for (const [name, value] of Object.entries({
      batch: this.batch,
      queryHeads: this.queryHeads,
      keyValueHeads: this.keyValueHeads,
      headDim: this.headDim,
      capacity: this.capacity,
    })) {
      if (!Number.isInteger(value) || value < 1)
        throw new RangeError(`[KeyValueCache] ${name} = ${value} must be an integer ≥ 1`);
    }
    if (this.queryHeads % this.keyValueHeads !== 0) {
      throw new RangeError(
        `[KeyValueCache] queryHeads ${this.queryHeads} must be a multiple of keyValueHeads ${this.keyValueHeads}`,
      );
    }
    const size = this.batch * this.keyValueHeads * this.capacity * this.headDim;
    this.keys = new Float32Array(size);
    this.values = new Float32Array(size);
  }

  /** Positions held so far; the next chunk starts here. */
  get length(): number {
    return this.filled;
  }

  /**
   * Appends a chunk of `chunkLength` tokens and returns its attention output. `query` is
   * [batch, queryHeads, chunkLength, headDim]; `key` and `value` are [batch, keyValueHeads, chunkLength, headDim].
   */
  forward(query: Float32Array, key: Float32Array, value: Float32Array): Float32Array {
    const { batch, queryHeads, keyValueHeads, headDim } = this;
    const chunkLength = key.length / (batch * keyValueHeads * headDim);
    if (!Number.isInteger(chunkLength) || chunkLength < 1 || value.length !== key.length) {
      throw new RangeError(
        `[KeyValueCache] key has ${key.length} and value ${value.length} elements; both must be [${batch}, ${keyValueHeads}, chunkLength ≥ 1, ${headDim}]`,
      );
    }
    if (query.length !== batch * queryHeads * chunkLength * headDim) {
      throw new RangeError(
        `[KeyValueCache] query has ${query.length} elements, expected [${batch}, ${queryHeads}, ${chunkLength}, ${headDim}] like the chunk's keys`,
      );
    }
    const start = this.filled;
    const end = start + chunkLength;
    if (end > this.capacity) {
      throw new RangeError(
        `[KeyValueCache] appending ${chunkLength} tokens at ${start} exceeds capacity ${this.capacity}`,
      );
    }
    const headGroups = this.strategy.perHead ? queryHeads : 1;
    const allowedCuts = (row: number) => describeBoundaries(this.strategy.chunkBoundaries(row, this.capacity));
    // No token of the chunk may attend a key that is not there yet (up to the capacity): its output would
    // be wrong now, and its cached keys and values stale later. Checked on every append, this also means
    // no cached token ever attends a key of a later chunk.
    const violation = firstViolation(this.strategy, batch, headGroups, start, end, this.capacity, this.blockSize);
    if (violation) {
      throw new Error(
        `[KeyValueCache] strategy "${this.strategy.name}" refuses a chunk [${start}, ${end}): it ends inside a bidirectional span — token ${violation.query} (batch row ${violation.batch}) attends key ${violation.key}, which is not there yet. Extend the chunk to the end of the span; cuts allowed for batch row ${violation.batch}: ${allowedCuts(violation.batch)}`,
      );
    }
    for (let b = 0; b < batch; b++) {
      for (let head = 0; head < keyValueHeads; head++) {
        const source = (b * keyValueHeads + head) * chunkLength * headDim;
        const target = ((b * keyValueHeads + head) * this.capacity + start) * headDim;
        this.keys.set(key.subarray(source, source + chunkLength * headDim), target);
        this.values.set(value.subarray(source, source + chunkLength * headDim), target);
      }
    }
    this.filled = end;
    const blockMask = new BlockMask(this.strategy, {
      batch,
      heads: queryHeads,
      queryLength: chunkLength,
      keyLength: end,
      queryOffset: start,
      blockSize: this.blockSize,
    });
    const { output } = attentionForward({
      query,
      key: this.keys,
      value: this.values,
      shape: { batch, queryHeads, keyValueHeads, queryLength: chunkLength, keyLength: end, headDim },
      blockMask,
      keyCapacity: this.capacity,
      ...(this.scale === undefined ? {} : { scale: this.scale }),
      ...(this.scoreMod === undefined ? {} : { scoreMod: this.scoreMod }),
    });
    return output;
  }

  /** Forgets everything (keeps the allocation). */
  clear(): void {
    this.filled = 0;
  }
}

export interface PlanChunksOptions {
  /** Batch rows whose cuts must all be allowed. Default 1. */
  batch?: number;
  /**
   * Longest chunk wanted; a bidirectional segment longer than this still goes in one chunk. Default 1: the
   * finest consistent chunking (each bidirectional segment one chunk, each causal token its own).
   */
  maxChunkLength?: number;
}

/** Cuts [0, length) into prefill chunks [start, end) at positions the strategy allows for every batch row. */
export function planChunks(
  strategy: StrategyLike,
  length: number,
  options: PlanChunksOptions = {},
): [number, number][] {
  const resolved = toStrategy(strategy);
  const maxChunkLength = options.maxChunkLength ?? 1;
  const rows = options.batch ?? 1;
  const perRow = Array.from({ length: rows }, (_, batch) => resolved.chunkBoundaries(batch, length));
  const allowed = (position: number) =>
    perRow.every(
      (boundaries) => boundaries === "anywhere" || (boundaries !== "nowhere" && boundaries.includes(position)),
    );
  const chunks: [number, number][] = [];
  let start = 0;
  while (start < length) {
    let end = start + 1;
    while (end < length && !allowed(end)) end++;
    // extend to the furthest allowed cut within maxChunkLength
    for (let candidate = end + 1; candidate <= Math.min(length, start + maxChunkLength); candidate++) {
      if (candidate === length || allowed(candidate)) end = candidate;
    }
    chunks.push([start, end]);
    start = end;
  }
  return chunks;
}
