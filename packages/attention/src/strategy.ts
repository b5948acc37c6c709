/**
 * The strategy interface: what an attention-mask strategy is, for built-ins and for users' own strategies.
 * A strategy bundles a mask mod (may query q attend key kv?), an optional score mod, an optional block
 * classifier (the hook the BlockMask builder uses to stay O(blocks)) and its KV-cache consistency.
 * Only types and tiny adapters live here; the built-ins are in `masks.ts`, the BlockMask in `block-mask.ts`.
 */

/** May the query at absolute position `query` attend the key at absolute position `key`? */
export type MaskMod = (batch: number, head: number, query: number, key: number) => boolean;

/** d scoreMod(score) / d score, for the backward pass. */
export type ScoreModDerivative = (score: number, batch: number, head: number, query: number, key: number) => number;

/**
 * Rewrites one (already scaled) attention score. A score mod used in a backward pass must carry its
 * derivative with respect to `score` (see `defineScoreMod`).
 */
export interface ScoreMod {
  (score: number, batch: number, head: number, query: number, key: number): number;
  derivative?: ScoreModDerivative;
}

/** How a rectangle of (query, key) pairs relates to a mask: nobody attends, everybody attends, or mixed. */
export type BlockKind = "empty" | "full" | "partial";

/**
 * Classifies queries [queryStart, queryEnd) × keys [keyStart, keyEnd) (absolute positions, ends exclusive)
 * for one batch row and head. Must be exact for "empty" and "full"; "partial" is always a safe answer.
 */
export type BlockClassifier = (
  batch: number,
  head: number,
  queryStart: number,
  queryEnd: number,
  keyStart: number,
  keyEnd: number,
) => BlockKind;

/**
 * Where a sequence may be cut into prefill chunks for a KV cache. A cut at position p is consistent when no
 * query before p attends a key at or after p (otherwise a cached token would have needed a later one).
 * - "anywhere": no query ever attends a later key (causal-like); any chunking and step decoding are exact.
 * - a list: the cut positions allowed strictly inside (0, length), ascending (0 and length always are).
 * - "nowhere": no cut is consistent (e.g. bidirectional); only one chunk covering everything works.
 */
export type ChunkBoundaries = "anywhere" | "nowhere" | readonly number[];

export interface AttentionStrategy {
  /** Human-readable, used in error messages and renders, e.g. "packedDocuments(causal)". */
  readonly name: string;
  readonly maskMod: MaskMod;
  readonly scoreMod?: ScoreMod;
  /** The block-mask builder's hook; without it the builder evaluates the mask inside every block. */
  readonly classifyBlock?: BlockClassifier;
  /** True when the mask depends on the head index (the BlockMask then keeps one group per head). */
  readonly perHead?: boolean;
  /** KV-cache consistency for batch row `batch` of a sequence of `length` tokens. */
  readonly chunkBoundaries: (batch: number, length: number) => ChunkBoundaries;
}

/** A strategy or a bare mask mod (treated as per-head, unclassified, and never cache-consistent). */
export type StrategyLike = AttentionStrategy | MaskMod;

/** Normalizes a bare mask mod into a strategy that makes no promises. */
export function toStrategy(strategy: StrategyLike, name = "custom"): AttentionStrategy {
  if (typeof strategy === "function") {
    return { name, maskMod: strategy, perHead: true, chunkBoundaries: () => "nowhere" };
  }
  if (typeof strategy?.maskMod !== "function" || typeof strategy.chunkBoundaries !== "function") {
    throw new TypeError(
      "[attention] a strategy needs a maskMod function and a chunkBoundaries function (see AttentionStrategy)",
    );
  }
  return strategy;
}

/** Attaches a derivative to a score function, so it can be used in backward passes. */
export function defineScoreMod(
  scoreMod: (score: number, batch: number, head: number, query: number, key: number) => number,
  derivative: ScoreModDerivative,
): ScoreMod {
  const mod: ScoreMod = (score, batch, head, query, key) => scoreMod(score, batch, head, query, key);
  mod.derivative = derivative;
  return mod;
}

/** Applies `first`, then `second`; the derivative follows the chain rule when both have one. */
export function composeScoreMods(first: ScoreMod, second: ScoreMod): ScoreMod {
  const mod: ScoreMod = (score, batch, head, query, key) =>
    second(first(score, batch, head, query, key), batch, head, query, key);
  const firstDerivative = first.derivative;
  const secondDerivative = second.derivative;
  if (firstDerivative && secondDerivative) {
    mod.derivative = (score, batch, head, query, key) =>
      secondDerivative(first(score, batch, head, query, key), batch, head, query, key) *
      firstDerivative(score, batch, head, query, key);
  }
  return mod;
}
