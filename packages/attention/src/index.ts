/**
 * @minimind/attention — public API. Only what is exported here is public; everything else is private.
 */
export type { BlockMaskOptions } from "./block-mask.js";
export { BlockMask, createBlockMask } from "./block-mask.js";
export type { AttentionForwardResult, AttentionGradients, AttentionInputs, AttentionShape } from "./kernel.js";
export { attentionBackward, attentionForward } from "./kernel.js";
export type { CheckAppendOptions, KeyValueCacheOptions, PlanChunksOptions } from "./kv-cache.js";
export { KeyValueCache, planChunks } from "./kv-cache.js";
export type { RoleRun, SegmentVectorOptions } from "./masks.js";
export {
  alibi,
  alibiSlopes,
  and,
  bidirectional,
  causal,
  not,
  or,
  packedDocuments,
  padding,
  prefixLM,
  segments,
  segmentVectorFromRoles,
  slidingWindow,
  softcap,
  withScoreMod,
} from "./masks.js";
export type { AttentionKernel, ScaledDotProductAttentionOptions } from "./scaled-dot-product.js";
export {
  scaledDotProductAttention,
  scaledDotProductAttentionComposed,
  selectAttentionKernel,
} from "./scaled-dot-product.js";
export type {
  AttentionStrategy,
  BlockClassifier,
  BlockKind,
  ChunkBoundaries,
  MaskMod,
  ScoreMod,
  ScoreModDerivative,
  StrategyLike,
} from "./strategy.js";
export { composeScoreMods, defineScoreMod, toStrategy } from "./strategy.js";
