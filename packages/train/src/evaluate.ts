/**
 * Held-out evaluation: mean cross-entropy over every target token of a dataset (token-weighted across
 * batches), perplexity exp(loss), and bits per byte — total nats / ln 2 over the UTF-8 bytes of the target
 * tokens, which compares models with different tokenizers. Runs without gradients, in eval mode (restored
 * afterwards). Not here: the training loop (trainer.ts).
 */
import type { StrategyLike } from "@minimind/attention";
import type { MiniMindForCausalLM } from "@minimind/model";
import { noGrad, scope } from "@minimind/tensor";
import type { Tokenizer } from "@minimind/tokenizer";
import { type Batch, batchAttention, DataLoader } from "./loader.js";
import type { TrainingDataset } from "./sample.js";

export interface EvaluationOptions {
  readonly batchSize?: number;
  /** The strategy per batch (default `batchAttention(batch)`: causal, per document when packed). */
  readonly attention?: (batch: Batch) => StrategyLike;
  /** Needed for bits per byte (the byte length of each target token). */
  readonly tokenizer?: Tokenizer;
  /** Evaluate only the first N rows (default all). */
  readonly maxRows?: number;
  readonly padTokenId?: number;
}

export interface EvaluationResult {
  readonly loss: number;
  readonly perplexity: number;
  /** Undefined without a tokenizer. */
  readonly bitsPerByte: number | undefined;
  readonly targets: number;
  readonly rows: number;
}

/**
 * Bytes a token stands for. MiniMind's vocabulary is byte-level BPE: each character of a vocabulary entry
 * maps to one byte (GPT-2's alphabet); added tokens (`<|im_end|>`, `<think>`) are ASCII text, one byte a
 * character as well.
 */
function tokenBytes(tokenizer: Tokenizer, id: number): number {
  const token = tokenizer.idToToken(id);
  if (token === undefined) throw new Error(`[evaluate] token id ${id} is not in the tokenizer's vocabulary`);
  return token.length;
}

export function evaluate(
  model: MiniMindForCausalLM,
  dataset: TrainingDataset,
  options: EvaluationOptions = {},
): EvaluationResult {
  const loader = new DataLoader(dataset, {
    batchSize: options.batchSize ?? 8,
    shuffle: false,
    ...(options.padTokenId !== undefined ? { padTokenId: options.padTokenId } : {}),
  });
  const attention = options.attention ?? ((batch: Batch) => batchAttention(batch));
  const wasTraining = model.training;
  model.eval();
  let nats = 0;
  let targets = 0;
  let bytes = 0;
  let rows = 0;
  const limit = options.maxRows ?? Number.POSITIVE_INFINITY;
  try {
    for (const position of loader.batches(1)) {
      if (rows >= limit) break;
      const batch = loader.batch(position);
      rows += batch.indices.length;
      if (batch.targets === 0) continue;
      const loss = noGrad(() =>
        scope(() => {
          const result = model.forward({
            inputIds: batch.inputIds,
            labels: batch.labels,
            attention: attention(batch),
            ...(batch.positionIds !== undefined ? { positionIds: batch.positionIds } : {}),
          });
          return (result.loss as NonNullable<typeof result.loss>).item() as number;
        }),
      );
      nats += loss * batch.targets;
      targets += batch.targets;
      if (options.tokenizer !== undefined) {
        for (const labels of batch.labels) {
          for (let position = 1; position < labels.length; position++) {
            const id = labels[position] as number;
            if (id !== -100) bytes += tokenBytes(options.tokenizer, id);
          }
        }
      }
    }
  } finally {
    model.train(wasTraining);
  }
  const loss = targets === 0 ? Number.NaN : nats / targets;
  return {
    loss,
    perplexity: Math.exp(loss),
    bitsPerByte: options.tokenizer === undefined || bytes === 0 ? undefined : nats / Math.LN2 / bytes,
    targets,
    rows,
  };
}
