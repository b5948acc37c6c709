/**
 * One optimizer step's gradients from several micro-batches (gradient accumulation). Each micro-batch's
 * mean loss is weighted by its share of the step's target tokens, so accumulating k micro-batches gives
 * the gradient of the mean loss over all their targets — the same as one batch holding them all, whatever
 * the padding (upstream divides by the accumulation count instead, which equals this when every
 * micro-batch has as many targets). The MoE aux loss is averaged over the micro-batches. Not here: the
 * optimizer, clipping and the loop (trainer.ts).
 */
import type { StrategyLike } from "@minimind/attention";
import type { MiniMindForCausalLM } from "@minimind/model";
import { add, backward, mul, scope } from "@minimind/tensor";
import type { Batch } from "./loader.js";

export interface AccumulatedLoss {
  /** Mean cross-entropy over every target of the step (nats). */
  readonly loss: number;
  /** Mean MoE aux loss over the micro-batches (0 for dense models). */
  readonly auxLoss: number;
  readonly targets: number;
  readonly tokens: number;
}

/** Forward and backward through every micro-batch, adding into the parameters' `.grad`. */
export function accumulateGradients(
  model: MiniMindForCausalLM,
  microBatches: readonly Batch[],
  attentionFor: (batch: Batch) => StrategyLike,
): AccumulatedLoss {
  const targets = microBatches.reduce((total, batch) => total + batch.targets, 0);
  const tokens = microBatches.reduce((total, batch) => total + batch.tokens, 0);
  let loss = 0;
  let auxLoss = 0;
  for (const batch of microBatches) {
    const weight = targets === 0 ? 0 : batch.targets / targets;
    const values = scope(() => {
      const result = model.forward({
        inputIds: batch.inputIds,
        labels: batch.labels,
        attention: attentionFor(batch),
        ...(batch.positionIds !== undefined ? { positionIds: batch.positionIds } : {}),
      });
      const mainLoss = result.loss;
      if (mainLoss === undefined)
        throw new Error("[accumulateGradients] the model returned no loss for labelled input");
      const total = add(mul(mainLoss, Math.fround(weight)), mul(result.auxLoss, Math.fround(1 / microBatches.length)));
      backward(total);
      return { loss: mainLoss.item() as number, auxLoss: result.auxLoss.item() as number };
    });
    loss += weight * values.loss;
    auxLoss += values.auxLoss / microBatches.length;
  }
  return { loss, auxLoss, targets, tokens };
}
