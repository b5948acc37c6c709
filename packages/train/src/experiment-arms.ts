/**
 * The arms of the mask experiment (`runMaskExperiment`) and the attention strategy each one trains and serves
 * under — every one built from @minimind/attention's strategies, never from a hand-made mask:
 * - `causal`: upstream's mask (`batchAttention(batch, "causal")`);
 * - `prefixLM`: `prefixLM(prompt length)` per row — everything before the first trained token bidirectional;
 * - `segments`: `batchAttention(batch, "segments")` — each prompt turn bidirectional within itself;
 * - `consistency`: trained and served like `prefixLM`, after continued pretraining under a hybrid mask;
 * - `mismatch`: the `prefixLM` arm's weights served with `causal`;
 * - `memory`: k learned vectors passed as the model's `prefixEmbeddings`, visible to every position:
 *   `prefixLM(k)` (keys < k for everyone, causal after them — upstream's mask shifted by k);
 * - `continued` (opt-in): the consistency arm's control — as many continued-pretraining steps, causal, then
 *   causal SFT — so a consistency gain can be told from the extra training.
 * Not here: the loops (experiment.ts) and the decoding and scoring (experiment-evaluate.ts).
 */
import { type AttentionStrategy, causal, prefixLM, segments, segmentVectorFromRoles } from "@minimind/attention";
import type { SegmentRole } from "@minimind/tokenizer";
import { type Batch, batchAttention } from "./loader.js";
import { IGNORE_LABEL } from "./sample.js";

export const MASK_EXPERIMENT_ARMS = [
  "causal",
  "prefixLM",
  "segments",
  "consistency",
  "mismatch",
  "memory",
  "continued",
] as const;
export type MaskExperimentArm = (typeof MASK_EXPERIMENT_ARMS)[number];

/** The four masks the arms are made of. */
export type ArmMask = "causal" | "prefix" | "segments" | "memory";

/** The mask an arm trains under. */
export function trainingMaskOf(arm: MaskExperimentArm): ArmMask {
  if (arm === "causal" || arm === "continued") return "causal";
  if (arm === "segments") return "segments";
  if (arm === "memory") return "memory";
  return "prefix"; // prefixLM, consistency, mismatch (whose weights are prefixLM's)
}

/** The mask an arm is evaluated and served with: the training mask, except `mismatch`, served causally. */
export function servingMaskOf(arm: MaskExperimentArm): ArmMask {
  return arm === "mismatch" ? "causal" : trainingMaskOf(arm);
}

/** Which arm's trained weights an arm evaluates (only `mismatch` borrows: the `prefixLM` run of the same seed). */
export function weightsOf(arm: MaskExperimentArm): MaskExperimentArm {
  return arm === "mismatch" ? "prefixLM" : arm;
}

/** The first position that is a target (label ≠ −100): the prompt's length; the row's length when none is. */
export function promptLengthOf(labels: readonly number[] | Int32Array): number {
  for (let position = 0; position < labels.length; position++) {
    if (labels[position] !== IGNORE_LABEL) return position;
  }
  return labels.length;
}

/** What one sequence needs for its strategy: its labels, or for a bare prompt its roles and length. */
export interface PromptRow {
  /** Tokens before the first target (the bidirectional block of `prefix`). */
  readonly promptLength: number;
  readonly roles: readonly SegmentRole[];
  /** Per-token turn indices (the tokenizer's `chatSegments`). */
  readonly turns: readonly number[];
}

/**
 * The strategy for rows under `mask`, over absolute positions (memory vectors first, counted by `memoryTokens`).
 * For a training batch use `armAttention`; this form serves single prompts during decoding too.
 */
export function maskStrategy(mask: ArmMask, rows: readonly PromptRow[], memoryTokens = 0): AttentionStrategy {
  if (mask === "causal") return causal;
  if (mask === "prefix") return prefixLM(rows.map((row) => row.promptLength));
  if (mask === "segments") {
    return segments(rows.map((row) => segmentVectorFromRoles(row.roles, { turns: row.turns })));
  }
  if (!Number.isInteger(memoryTokens) || memoryTokens < 1) {
    throw new RangeError(`[experiment] the memory mask needs memoryTokens ≥ 1, got ${memoryTokens}`);
  }
  return prefixLM(memoryTokens);
}

/** The strategy an arm's mask gives a training or evaluation batch (unpacked rows). */
export function armAttention(mask: ArmMask, batch: Batch, memoryTokens = 0): AttentionStrategy {
  if (batch.documentIds !== undefined) {
    throw new Error("[experiment] packed batches are not supported: a prompt's mask needs one conversation a row");
  }
  if (mask === "causal" || mask === "segments") return batchAttention(batch, mask) as AttentionStrategy;
  return maskStrategy(
    mask,
    batch.labels.map((labels, row) => ({
      promptLength: promptLengthOf(labels),
      roles: batch.roles[row] as SegmentRole[],
      turns: batch.segments[row] as number[],
    })),
    memoryTokens,
  );
}
