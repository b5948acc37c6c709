/**
 * Scoring for the mask experiment on held-out conversations: answer-token loss (mean cross-entropy over the
 * final assistant answer, `<|im_end|>` included) and exact match of the greedy answer, both under the arm's
 * serving mask, with the memory vectors as `prefixEmbeddings` where the arm has them; and the wall time of
 * each turn of 3-turn chats through `ChatSession` (cache reused where the mask allows, history re-encoded
 * where it does not). Decoding here is greedy with a KV cache, one example at a time, so every arm — memory
 * included — goes through the same `model.forward` path. Not here: training (experiment.ts).
 */
import { ChatSession, type MiniMindForCausalLM, TextModel } from "@minimind/model";
import { noGrad, scope, type Tensor } from "@minimind/tensor";
import type { Tokenizer } from "@minimind/tokenizer";
import { type ArmMask, armAttention, maskStrategy, promptLengthOf } from "./experiment-arms.js";
import { DataLoader } from "./loader.js";
import type { TrainingDataset, TrainingSample } from "./sample.js";

/** One held-out question, tokenized exactly as training renders it. */
export interface EvaluationExample {
  readonly sample: TrainingSample;
  /** Tokens before the answer (the rendering cut at its first target). */
  readonly promptIds: readonly number[];
  /** The expected answer text (the last assistant message). */
  readonly answer: string;
  /** Target tokens of the answer (answer, `<|im_end|>`, newline). */
  readonly answerTokens: number;
}

export interface TaskScore {
  /** Share of examples whose greedy answer equals the expected text exactly. */
  readonly exactMatch: number;
  /** Mean cross-entropy (nats) over the answer tokens of every example. */
  readonly answerLoss: number;
  readonly examples: number;
  readonly answerTargets: number;
}

/**
 * The held-out examples of `dataset` (whose rows end with their answers). A row cut by maxSeqLen before its
 * answer's end id would be scored on part of an answer: refused, naming the example.
 */
export function examplesFrom(
  dataset: TrainingDataset,
  answers: readonly string[],
  endId: number,
  task: string,
): EvaluationExample[] {
  return answers.map((answer, index) => {
    const sample = dataset.sample(index, 0);
    const promptLength = promptLengthOf(sample.labels);
    let answerTokens = 0;
    for (let position = promptLength; position < sample.labels.length; position++) {
      if (sample.labels[position] !== -100) answerTokens++;
    }
    if (!sample.inputIds.subarray(promptLength).includes(endId)) {
      throw new Error(
        `[experiment] held-out ${task}[${index}] does not fit in maxSeqLen ${sample.inputIds.length} tokens with its whole answer; raise maxSeqLen (--max-seq-len) or shorten the prompts`,
      );
    }
    return { sample, promptIds: Array.from(sample.inputIds.subarray(0, promptLength)), answer, answerTokens };
  });
}

function argmaxOfLastRow(logits: Tensor): number {
  const values = logits.dataSync() as Float32Array;
  const vocabulary = logits.shape[logits.shape.length - 1] as number;
  const offset = values.length - vocabulary;
  let best = 0;
  for (let index = 1; index < vocabulary; index++) {
    if ((values[offset + index] as number) > (values[offset + best] as number)) best = index;
  }
  return best;
}

/** Greedy ids after the prompt (stopping at `endId`, which is kept), through a KV cache. */
export function greedyAnswerIds(
  model: MiniMindForCausalLM,
  example: EvaluationExample,
  mask: ArmMask,
  options: { memory?: Tensor; maxNewTokens: number; endId: number },
): number[] {
  const promptLength = example.promptIds.length;
  const memoryTokens = options.memory?.shape[0] ?? 0;
  const row = {
    promptLength,
    roles: example.sample.roles.slice(0, promptLength),
    turns: Array.from(example.sample.segments.subarray(0, promptLength)),
  };
  const attention = maskStrategy(mask, [row], memoryTokens);
  const cache = model.createCache();
  const generated: number[] = [];
  try {
    let next = noGrad(() =>
      scope(() =>
        argmaxOfLastRow(
          model.forward({
            inputIds: [example.promptIds],
            attention,
            cache,
            logitsToKeep: 1,
            ...(options.memory !== undefined ? { prefixEmbeddings: options.memory } : {}),
          }).logits,
        ),
      ),
    );
    while (generated.length < options.maxNewTokens) {
      generated.push(next);
      if (next === options.endId || generated.length === options.maxNewTokens) break;
      const previous = next;
      next = noGrad(() =>
        scope(() =>
          argmaxOfLastRow(model.forward({ inputIds: [[previous]], attention, cache, logitsToKeep: 1 }).logits),
        ),
      );
    }
  } finally {
    cache.dispose();
  }
  return generated;
}

/** Exact match and answer-token loss of `examples` under `mask` (the model is put in eval mode and restored). */
export function scoreTask(
  model: MiniMindForCausalLM,
  tokenizer: Tokenizer,
  examples: readonly EvaluationExample[],
  mask: ArmMask,
  options: { memory?: Tensor; batchSize?: number } = {},
): TaskScore {
  const wasTraining = model.training;
  model.eval();
  const endId = tokenizer.eosTokenId ?? 2;
  const memoryTokens = options.memory?.shape[0] ?? 0;
  let matches = 0;
  let nats = 0;
  let targets = 0;
  try {
    for (const example of examples) {
      const ids = greedyAnswerIds(model, example, mask, {
        ...(options.memory !== undefined ? { memory: options.memory } : {}),
        maxNewTokens: example.answerTokens + 2,
        endId,
      });
      const text = tokenizer.decode(ids.filter((id) => id !== endId)).trim();
      if (text === example.answer.trim()) matches++;
    }
    const dataset: TrainingDataset = {
      length: examples.length,
      sample: (index) => (examples[index] as EvaluationExample).sample,
      epochInvariant: true,
    };
    const loader = new DataLoader(dataset, { batchSize: options.batchSize ?? 16, shuffle: false });
    for (const position of loader.batches(1)) {
      const batch = loader.batch(position);
      if (batch.targets === 0) continue;
      const loss = noGrad(() =>
        scope(() => {
          const { loss: value } = model.forward({
            inputIds: batch.inputIds,
            labels: batch.labels,
            attention: armAttention(mask, batch, memoryTokens),
            ...(options.memory !== undefined ? { prefixEmbeddings: options.memory } : {}),
          });
          return (value as Tensor).item() as number;
        }),
      );
      nats += loss * batch.targets;
      targets += batch.targets;
    }
  } finally {
    model.train(wasTraining);
  }
  return {
    exactMatch: examples.length === 0 ? Number.NaN : matches / examples.length,
    answerLoss: targets === 0 ? Number.NaN : nats / targets,
    examples: examples.length,
    answerTargets: targets,
  };
}

export interface ChatTiming {
  /** Mean wall milliseconds of turn 1, 2, 3 … over the chats. */
  readonly turnMilliseconds: number[];
  /** Mean prompt tokens taken from the cache at each turn. */
  readonly reusedTokens: number[];
  /** Mean prompt tokens computed at each turn. */
  readonly computedTokens: number[];
  /** Mean tokens generated at each turn (a reply may stop early at `<|im_end|>`). */
  readonly generatedTokens: number[];
  /** Share of turns after the first that kept the cache. */
  readonly cacheReuseRate: number;
  readonly chats: number;
}

/** Runs each chat (its user messages in turn) through a `ChatSession` with `mask`, timing every turn. */
export async function timeChats(
  model: MiniMindForCausalLM,
  tokenizer: Tokenizer,
  chats: readonly (readonly string[])[],
  mask: "causal" | "prefix" | "segments",
  maxNewTokens: number,
): Promise<ChatTiming> {
  const textModel = new TextModel(model, tokenizer);
  const turns = Math.max(0, ...chats.map((chat) => chat.length));
  const milliseconds = new Array<number>(turns).fill(0);
  const reused = new Array<number>(turns).fill(0);
  const computed = new Array<number>(turns).fill(0);
  const generated = new Array<number>(turns).fill(0);
  const counts = new Array<number>(turns).fill(0);
  let laterTurns = 0;
  let keptCache = 0;
  const wasTraining = model.training;
  model.eval();
  try {
    for (const chat of chats) {
      const session = new ChatSession(textModel, { mask, maxNewTokens });
      try {
        for (const [turn, message] of chat.entries()) {
          const started = performance.now();
          for await (const _chunk of session.send(message)) {
            // the text itself is not scored here
          }
          milliseconds[turn] = (milliseconds[turn] as number) + performance.now() - started;
          const statistics = session.lastTurn;
          if (statistics === undefined) throw new Error("[experiment] ChatSession reported no statistics");
          reused[turn] = (reused[turn] as number) + statistics.reusedTokens;
          computed[turn] = (computed[turn] as number) + statistics.newPromptTokens;
          generated[turn] = (generated[turn] as number) + statistics.generatedTokens;
          counts[turn] = (counts[turn] as number) + 1;
          if (turn > 0) {
            laterTurns++;
            if (statistics.cacheReused && statistics.reusedTokens > 0) keptCache++;
          }
        }
      } finally {
        session.dispose();
      }
    }
  } finally {
    model.train(wasTraining);
  }
  const mean = (values: number[]) => values.map((value, turn) => value / Math.max(counts[turn] as number, 1));
  return {
    turnMilliseconds: mean(milliseconds),
    reusedTokens: mean(reused),
    computedTokens: mean(computed),
    generatedTokens: mean(generated),
    cacheReuseRate: laterTurns === 0 ? Number.NaN : keptCache / laterTurns,
    chats: chats.length,
  };
}
