/**
 * The option and result types of `MiniMindForCausalLM.forward` and its constructor (model.ts holds the
 * architecture; these are its contract with callers).
 */
import type { KeyValueCache, StrategyLike } from "@minimind/attention";
import type { Tensor } from "@minimind/tensor";
import type { TokenRows } from "./token-rows.js";

export interface ForwardOptions {
  /** Token ids [B, T]. */
  readonly inputIds: TokenRows;
  /** [B, Tcache + T]: 1 = a real token, 0 = padding (masked as a key, as upstream does). */
  readonly attentionMask?: TokenRows;
  /** [B, T]: targets; the loss compares logits[:, :-1] with labels[:, 1:], ignoring -100. */
  readonly labels?: TokenRows;
  /**
   * A `KeyValueCache` (`model.createCache()`): these tokens are appended to it — at positions cache.length … —
   * and attend everything it holds. The append is checked against the strategy first and refused, with the
   * positions named, when the strategy forbids it (e.g. a chunk ending inside a bidirectional span).
   */
  readonly cache?: KeyValueCache;
  /**
   * [B, T]: each token's rotary position (default cache length + t for every row). Left-padded batches pass
   * the count of real tokens before each one, so every row is rotated as if it were alone; packed rows pass
   * each token's position within its document.
   */
  readonly positionIds?: TokenRows;
  /**
   * Attention strategy from @minimind/attention over absolute positions (cache included; default causal);
   * an attention mask is and-ed with it.
   */
  readonly attention?: StrategyLike;
  /** Only the last n positions get logits (0 = all). */
  readonly logitsToKeep?: number;
  /**
   * [P, hidden] or [B, P, hidden] vectors placed before the tokens, e.g. learned memory tokens: they occupy
   * positions 0 … P − 1 (the strategy, an `attentionMask` and the cache count them; `labels` and the logits do
   * not). Only at the start of a sequence: without a cache, or with an empty one; not with `positionIds`.
   */
  readonly prefixEmbeddings?: Tensor;
}

export interface ForwardResult {
  /** [B, T (or logitsToKeep), vocab]. */
  readonly logits: Tensor;
  /** Scalar mean cross-entropy when labels were given. */
  readonly loss: Tensor | undefined;
  /** Scalar MoE load-balancing loss (0 for dense models or outside training). */
  readonly auxLoss: Tensor;
}

export interface MiniMindInitOptions {
  /** Seed for the N(0, 0.02²) initial weights (default 0). */
  readonly seed?: number;
}
