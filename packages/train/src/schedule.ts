/**
 * Learning-rate schedule: upstream's cosine `lr · (0.1 + 0.45 · (1 + cos(π·t/T)))` (from lr down to
 * lr/10), with an optional linear warmup before it (then t and T count from the end of the warmup), and
 * upstream's per-stage defaults. Not here: applying it (trainer.ts).
 */

export interface ScheduleOptions {
  readonly learningRate: number;
  /** Optimizer steps of linear warmup from lr/warmupSteps to lr (default 0, as upstream). */
  readonly warmupSteps?: number;
}

/** The learning rate of optimizer step `step` (0-based) out of `totalSteps`. */
export function learningRateAt(step: number, totalSteps: number, options: ScheduleOptions): number {
  const { learningRate } = options;
  const warmupSteps = options.warmupSteps ?? 0;
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) {
    throw new RangeError(`[schedule] warmupSteps is ${warmupSteps}; use an integer ≥ 0`);
  }
  if (!(totalSteps > 0)) throw new RangeError(`[schedule] totalSteps is ${totalSteps}; use a number > 0`);
  if (step < warmupSteps) return (learningRate * (step + 1)) / warmupSteps;
  const span = Math.max(totalSteps - warmupSteps, 1);
  const progress = Math.min(Math.max(step - warmupSteps, 0), span);
  return learningRate * (0.1 + 0.45 * (1 + Math.cos((Math.PI * progress) / span)));
}

/** Upstream trainer defaults (`trainer/train_pretrain.py`, `train_full_sft.py`, `train_lora.py`). */
export interface StageDefaults {
  readonly learningRate: number;
  readonly batchSize: number;
  readonly maxSeqLen: number;
  readonly epochs: number;
  readonly accumulationSteps: number;
  readonly gradientClip: number;
}

export const STAGE_DEFAULTS: Readonly<Record<"pretrain" | "sft" | "lora", StageDefaults>> = Object.freeze({
  pretrain: { learningRate: 5e-4, batchSize: 32, maxSeqLen: 340, epochs: 2, accumulationSteps: 8, gradientClip: 1 },
  sft: { learningRate: 1e-5, batchSize: 16, maxSeqLen: 768, epochs: 2, accumulationSteps: 1, gradientClip: 1 },
  lora: { learningRate: 1e-4, batchSize: 32, maxSeqLen: 340, epochs: 10, accumulationSteps: 1, gradientClip: 1 },
});
