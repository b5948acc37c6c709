/**
 * The KV cache a model keeps across calls, and the rule that makes reusing it safe.
 *
 * Storage (mlx-lm's `KVCache.update_and_fetch`, one per layer): key and value tensors [B, Hkv, capacity, D]
 * allocated up front, grown in steps of `step` positions, written in place; `updateAndFetch(layer, k, v)`
 * appends a chunk and returns views [B, Hkv, length, D] of everything held — no copy of the cache per token.
 * The attention kernel reads those strided views directly (see `scaled-dot-product.ts`).
 *
 * The rule (checked once per append, for every layer at once, by `checkAppend`): queries sit at absolute
 * positions, and a chunk [start, end) may be appended under a strategy only when no token of the cache or
 * of the chunk attends a key at or after `end` (up to `maxLength`) — otherwise its output would be wrong now
 * and its cached keys and values stale later. The check is exact (block classification, then the mask inside
 * partial blocks). It covers multi-turn reuse: a new strategy for turn 2 (e.g. `segments` over the longer
 * history) is checked against the cached tokens too, so a prefix-LM over the whole history — which would
 * make turn 1 attend turn 2 — is refused. `planChunks` cuts a prompt where a strategy allows.
 * Not here: projections or RoPE (the model), the kernels (`kernel.ts`, `scaled-dot-product.ts`).
 */
import { assign, keep, type Tensor, zeros } from "@minimind/tensor";
import { type AttentionStrategy, type ChunkBoundaries, type StrategyLike, toStrategy } from "./strategy.js";

export interface KeyValueCacheOptions {
  /** Number of layers (one key and one value tensor each). */
  layers: number;
  /** The most positions the cache may hold (a model's context); appends are checked up to here. */
  maxLength: number;
  /** Positions added each time the storage grows. Default 256. */
  step?: number;
  /** Block size of the append check's block classification. Default 64. */
  blockSize?: number;
}

/** The first (query, key) pair with query in [queryStart, queryEnd) attending a key in [keyStart, keyEnd). */
function firstViolation(
  strategy: AttentionStrategy,
  batch: number,
  heads: number,
  queryStart: number,
  queryEnd: number,
  keyStart: number,
  keyEnd: number,
  blockSize: number,
): { batch: number; head: number; query: number; key: number } | null {
  if (keyEnd <= keyStart || queryEnd <= queryStart) return null;
  // A mask that ignores the head is checked for head 0 (BlockMask refuses head-dependent masks without perHead).
  for (let row = 0; row < batch; row++) {
    for (let head = 0; head < (strategy.perHead ? heads : 1); head++) {
      for (let blockStart = queryStart; blockStart < queryEnd; blockStart += blockSize) {
        const blockEnd = Math.min(queryEnd, blockStart + blockSize);
        for (let keyBlock = keyStart; keyBlock < keyEnd; keyBlock += KEY_SPAN) {
          const keyBlockEnd = Math.min(keyEnd, keyBlock + KEY_SPAN);
          const kind = strategy.classifyBlock?.(row, head, blockStart, blockEnd, keyBlock, keyBlockEnd) ?? "partial";
          if (kind === "empty") continue;
          for (let query = blockStart; query < blockEnd; query++) {
            for (let key = keyBlock; key < keyBlockEnd; key++) {
              if (strategy.maskMod(row, head, query, key)) return { batch: row, head, query, key };
            }
          }
        }
      }
    }
  }
  return null;
}

/**
 * Keys past the chunk are classified in spans this long, so a strategy whose classifier is exact only for
 * small blocks (e.g. a sliding window) still skips most of the look-ahead.
 */
const KEY_SPAN = 4096;

function describeBoundaries(boundaries: ChunkBoundaries): string {
  if (boundaries === "anywhere") return "anywhere";
  if (boundaries === "nowhere") return "nowhere (one chunk must hold the whole sequence)";
  const shown = boundaries.slice(0, 12).join(", ");
  return boundaries.length > 12 ? `${shown}, …` : shown || "none";
}

function assertCount(value: number, name: string, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum)
    throw new RangeError(`[KeyValueCache] ${name} = ${value} must be an integer ≥ ${minimum}`);
}

export interface CheckAppendOptions {
  /** Batch rows of the chunk. Default 1; every append to one cache has the same batch. */
  batch?: number;
  /** Query heads, for strategies whose mask depends on the head (`perHead`). Default 1. */
  heads?: number;
}

export class KeyValueCache {
  readonly layers: number;
  readonly maxLength: number;
  readonly step: number;
  private readonly blockSize: number;
  private readonly keys: (Tensor | undefined)[];
  private readonly values: (Tensor | undefined)[];
  /** Positions written per layer; equal between appends. */
  private readonly offsets: number[];
  private batchSize: number | undefined;
  private allocated = 0;
  /** The strategy the cached tokens were last checked under, so an append under it re-checks only new queries. */
  private checkedStrategy: AttentionStrategy | undefined;
  /** The chunk `checkAppend` allowed last: the layers may write exactly that. */
  private announced: { start: number; length: number } | undefined;

  constructor(options: KeyValueCacheOptions) {
    this.layers = options.layers;
    this.maxLength = options.maxLength;
    this.step = options.step ?? 256;
    this.blockSize = options.blockSize ?? 64;
    assertCount(this.layers, "layers", 1);
    assertCount(this.maxLength, "maxLength", 1);
    assertCount(this.step, "step", 1);
    assertCount(this.blockSize, "blockSize", 1);
    this.keys = new Array(this.layers).fill(undefined);
    this.values = new Array(this.layers).fill(undefined);
    this.offsets = new Array(this.layers).fill(0);
  }

  /** Positions every layer holds; the next chunk starts here. */
  get length(): number {
    return Math.min(...this.offsets);
  }

  /** Positions the storage holds room for now (it grows in steps). */
  get capacity(): number {
    return this.keys[0]?.shape[2] ?? 0;
  }

  /** The batch size fixed by the first append (undefined while empty). */
  get batch(): number | undefined {
    return this.batchSize;
  }

  /** Bytes of key/value storage allocated over the cache's life (growth included): for tests and diagnostics. */
  get bytesAllocated(): number {
    return this.allocated;
  }

  /**
   * Checks that a chunk of `chunkLength` tokens may follow what the cache holds under `strategy` (absolute
   * positions: the chunk is [length, length + chunkLength)) and returns its start. Throws — before anything
   * is computed or written — when the strategy forbids the cut (naming the positions and the cuts it allows),
   * when the chunk would pass `maxLength`, when the batch differs from earlier appends, or when the previous
   * append did not reach every layer.
   */
  checkAppend(strategyLike: StrategyLike, chunkLength: number, options: CheckAppendOptions = {}): number {
    const strategy = toStrategy(strategyLike);
    const { start, refusal } = this.examine(strategy, chunkLength, options);
    if (refusal !== undefined) throw new Error(refusal);
    this.checkedStrategy = strategy;
    this.batchSize = options.batch ?? 1;
    this.announced = { start, length: chunkLength };
    return start;
  }

  /**
   * Whether `checkAppend` would accept this chunk under this strategy (nothing is changed): lets a caller
   * choose between reusing the cache and recomputing from scratch — e.g. a chat under a prefix-LM over the
   * whole history, which can never reuse it. Shape errors (batch, maxLength) still throw.
   */
  canAppend(strategyLike: StrategyLike, chunkLength: number, options: CheckAppendOptions = {}): boolean {
    return this.examine(toStrategy(strategyLike), chunkLength, options).refusal === undefined;
  }

  /** The checks of `checkAppend`: throws on misuse, returns the refusal message when the strategy forbids it. */
  private examine(
    strategy: AttentionStrategy,
    chunkLength: number,
    options: CheckAppendOptions,
  ): { start: number; refusal: string | undefined } {
    const batch = options.batch ?? 1;
    assertCount(chunkLength, "chunkLength", 1);
    assertCount(batch, "batch", 1);
    const start = this.length;
    if (this.offsets.some((offset) => offset !== start)) {
      throw new Error(
        `[KeyValueCache] the previous append reached only some layers (positions per layer: ${this.offsets.join(", ")}); call truncate(${start}) to drop the partial chunk`,
      );
    }
    if (this.batchSize !== undefined && start > 0 && batch !== this.batchSize) {
      throw new RangeError(`[KeyValueCache] holds batch ${this.batchSize}; this chunk has batch ${batch}`);
    }
    const end = start + chunkLength;
    if (end > this.maxLength) {
      throw new RangeError(
        `[KeyValueCache] appending ${chunkLength} tokens at ${start} passes maxLength ${this.maxLength} (the model's context)`,
      );
    }
    const heads = options.heads ?? 1;
    assertCount(heads, "heads", 1);
    const checkFrom = strategy === this.checkedStrategy ? start : 0;
    const horizon = this.maxLength;
    const violation =
      // cached tokens must not attend the new chunk or anything after it (a changed strategy may say they do)
      firstViolation(strategy, batch, heads, checkFrom, start, start, horizon, this.blockSize) ??
      // the chunk's tokens must not attend keys that are not there yet
      firstViolation(strategy, batch, heads, start, end, end, horizon, this.blockSize);
    if (violation === null) return { start, refusal: undefined };
    const allowed = describeBoundaries(strategy.chunkBoundaries(violation.batch, Math.min(horizon, end + 64)));
    const who =
      violation.query < start
        ? `cached token ${violation.query} (batch row ${violation.batch}) attends key ${violation.key}: the strategy changed what an earlier token sees, so the cache cannot be reused — recompute the history without it`
        : `token ${violation.query} (batch row ${violation.batch}) attends key ${violation.key}, which is not there yet — extend the chunk to the end of the bidirectional span`;
    return {
      start,
      refusal: `[KeyValueCache] strategy "${strategy.name}" refuses a chunk [${start}, ${end}): ${who}. Cuts it allows for batch row ${violation.batch}: ${allowed}`,
    };
  }

  /**
   * Writes a chunk's keys and values [B, Hkv, T, D] for one layer at its current position (in place, growing
   * the storage in steps when needed) and returns views [B, Hkv, length, D] of everything the layer holds.
   * Call `checkAppend` first, once per chunk. The views share the cache's storage: read them before the next
   * append to this layer. No gradient flows into the cache.
   */
  updateAndFetch(layer: number, key: Tensor, value: Tensor): { key: Tensor; value: Tensor } {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.layers)
      throw new RangeError(`[KeyValueCache] layer ${layer} is outside [0, ${this.layers})`);
    if (key.rank !== 4 || value.shape.join() !== key.shape.join()) {
      throw new RangeError(
        `[KeyValueCache] key [${key.shape.join(", ")}] and value [${value.shape.join(", ")}] must both be [B, Hkv, T, D]`,
      );
    }
    const [batch, heads, length, dimension] = key.shape as [number, number, number, number];
    const start = this.offsets[layer] as number;
    const end = start + length;
    const announced = this.announced;
    if (
      announced === undefined ||
      announced.start !== start ||
      announced.length !== length ||
      this.batchSize !== batch
    ) {
      throw new Error(
        `[KeyValueCache] layer ${layer}: ${length} positions [${start}, ${end}) of batch ${batch} were not announced; call checkAppend(strategy, ${length}, { batch: ${batch} }) before the layers write`,
      );
    }
    let stored = this.keys[layer];
    if (stored !== undefined && start === 0 && stored.shape[0] !== batch) {
      // emptied (reset) and reused with another batch size: start over
      this.release(layer);
      stored = undefined;
    }
    if (stored !== undefined && (stored.shape[1] !== heads || stored.shape[3] !== dimension)) {
      throw new RangeError(
        `[KeyValueCache] layer ${layer} holds [B, ${stored.shape[1]}, T, ${stored.shape[3]}]; got [B, ${heads}, T, ${dimension}]`,
      );
    }
    if (stored === undefined || (stored.shape[2] as number) < end) this.grow(layer, end, [batch, heads, dimension]);
    const keys = this.keys[layer] as Tensor;
    const values = this.values[layer] as Tensor;
    writeInto(keys, [0, 0, start, 0], [batch, heads, end, dimension], key);
    writeInto(values, [0, 0, start, 0], [batch, heads, end, dimension], value);
    this.offsets[layer] = end;
    return {
      key: keys.slice([0, 0, 0, 0], [batch, heads, end, dimension]),
      value: values.slice([0, 0, 0, 0], [batch, heads, end, dimension]),
    };
  }

  /** Drops every position at or after `length` (e.g. a partial chunk after an error, or a rejected reply). */
  truncate(length: number): void {
    assertCount(length, "length", 0);
    for (let layer = 0; layer < this.layers; layer++)
      this.offsets[layer] = Math.min(this.offsets[layer] as number, length);
    if (length === 0) this.batchSize = undefined;
    this.announced = undefined;
    // Earlier queries were checked against keys from their chunk's end on; that still holds after a cut.
  }

  /** Forgets everything, keeping the allocation. */
  reset(): void {
    this.truncate(0);
    this.checkedStrategy = undefined;
  }

  /** Releases the storage; the cache is empty (and reusable) afterwards. */
  dispose(): void {
    for (let layer = 0; layer < this.layers; layer++) this.release(layer);
    this.reset();
  }

  private release(layer: number): void {
    this.keys[layer]?.dispose();
    this.values[layer]?.dispose();
    this.keys[layer] = undefined;
    this.values[layer] = undefined;
  }

  /** Storage for at least `needed` positions in whole steps (capped at maxLength), keeping what it held. */
  private grow(layer: number, needed: number, [batch, heads, dimension]: [number, number, number]): void {
    const capacity = Math.min(Math.ceil(needed / this.step) * this.step, this.maxLength);
    const held = this.offsets[layer] as number;
    for (const tensors of [this.keys, this.values]) {
      const old = tensors[layer];
      const fresh = keep(zeros([batch, heads, capacity, dimension]));
      this.allocated += batch * heads * capacity * dimension * 4;
      if (old !== undefined) {
        if (held > 0) {
          const kept = old.slice([0, 0, 0, 0], [batch, heads, held, dimension]);
          writeInto(fresh, [0, 0, 0, 0], [batch, heads, held, dimension], kept);
          kept.dispose();
        }
        old.dispose();
      }
      tensors[layer] = fresh;
    }
  }
}

/** Copies `source` into the region [starts, ends) of `target`, in place. */
function writeInto(target: Tensor, starts: readonly number[], ends: readonly number[], source: Tensor): void {
  const region = target.slice(starts, ends);
  try {
    assign(region, source);
  } finally {
    region.dispose();
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
