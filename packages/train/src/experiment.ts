/**
 * `runMaskExperiment`: the seed question measured. From ONE causally pretrained model, SFT under each arm
 * (experiment-arms.ts) with the same data order (the loader's seed), the same hyperparameters and the same
 * loop, for every seed; then exact match and answer-token loss on held-out sets, and the time of each turn of
 * 3-turn chats. The consistency arm first continues pretraining under a hybrid mask (each text cut at a seeded
 * point, the part before it bidirectional and untrained). Everything is a function of the options: the same
 * options give the same numbers (timings aside). Takes records, not files, and knows nothing of the CLI that
 * builds them. Not here: the masks (experiment-arms.ts), scoring (experiment-evaluate.ts), summaries and the
 * table (experiment-report.ts).
 */
import { createMiniMindConfig, type MiniMindConfig, MiniMindForCausalLM } from "@minimind/model";
import { backward, keep, scope, type Tensor, tensor } from "@minimind/tensor";
import type { ChatMessage, Tokenizer } from "@minimind/tokenizer";
import {
  type ArmMask,
  armAttention,
  MASK_EXPERIMENT_ARMS,
  type MaskExperimentArm,
  promptLengthOf,
  servingMaskOf,
  trainingMaskOf,
  weightsOf,
} from "./experiment-arms.js";
import { type ChatTiming, examplesFrom, scoreTask, type TaskScore, timeChats } from "./experiment-evaluate.js";
import { type Batch, DataLoader } from "./loader.js";
import { AdamW, clipGradientNorm } from "./optimizer.js";
import { PretrainDataset } from "./pretrain-dataset.js";
import { seededUniform } from "./random.js";
import { IGNORE_LABEL, recordsFromArray, type TrainingDataset, type TrainingSample } from "./sample.js";
import { learningRateAt } from "./schedule.js";
import { SFTDataset } from "./sft-dataset.js";
import { type TrainEvent, train } from "./trainer.js";

export interface ExperimentConversation {
  readonly conversations: readonly ChatMessage[];
}

export interface MaskExperimentData {
  /** Pretraining texts (the shared causal checkpoint and the consistency arm's continued pretraining). */
  readonly pretrainTexts: readonly string[];
  /** SFT conversations, every task mixed; loss on the assistant turns. */
  readonly sftTrain: readonly ExperimentConversation[];
  /** Held-out sets by task name; each conversation's last message is the expected assistant answer. */
  readonly heldOut: Readonly<Record<string, readonly ExperimentConversation[]>>;
  /** Chats to time: each a list of user messages (3 for the seed question's 3-turn chats). */
  readonly chats?: readonly (readonly string[])[];
}

export interface MaskExperimentOptions {
  readonly tokenizer: Tokenizer;
  readonly data: MaskExperimentData;
  /**
   * Default the six arms of the seed question; `continued` (the consistency arm's control: as many extra
   * pretraining steps, causal) is opt-in. `mismatch` evaluates `prefixLM`'s weights and trains nothing itself.
   */
  readonly arms?: readonly MaskExperimentArm[];
  /** SFT seeds (data order, memory initialisation); default [1, 2, 3]. */
  readonly seeds?: readonly number[];
  /** Model size (upstream field names); default hidden 64, 2 layers, 4 heads, 2 KV heads. */
  readonly model?: { hiddenSize?: number; layers?: number; heads?: number; keyValueHeads?: number };
  /** Seed of the initial weights (default 0). */
  readonly modelSeed?: number;
  readonly maxSeqLen?: number;
  readonly pretrainSteps?: number;
  readonly pretrainBatchSize?: number;
  readonly pretrainLearningRate?: number;
  /**
   * Optimizer steps of continued pretraining: hybrid-mask for the consistency arm, causal for its control arm
   * `continued` (default pretrainSteps / 4).
   */
  readonly consistencySteps?: number;
  readonly sftEpochs?: number;
  readonly sftBatchSize?: number;
  readonly sftLearningRate?: number;
  /** Memory vectors of the memory arm (default 4). */
  readonly memoryTokens?: number;
  /** Held-out examples scored per task, the first N (default all). */
  readonly evaluationExamples?: number;
  /** Tokens generated per chat turn in the timing (default 12). */
  readonly chatNewTokens?: number;
  readonly onProgress?: (message: string) => void;
}

export interface MaskExperimentRun {
  readonly arm: MaskExperimentArm;
  readonly seed: number;
  readonly trainingMask: ArmMask;
  readonly servingMask: ArmMask;
  /** Mean loss of the last SFT epoch's steps. */
  readonly finalTrainingLoss: number;
  readonly tasks: Record<string, TaskScore>;
  readonly chat?: ChatTiming;
}

export interface MaskExperimentResult {
  readonly configuration: Record<string, unknown>;
  /** SFT prompts vs held-out prompts: counts and the overlap (always 0: an overlap stops the run). */
  readonly split: { readonly trainPrompts: number; readonly heldOutPrompts: number; readonly overlap: number };
  readonly pretraining: {
    readonly finalLoss: number;
    readonly consistencyFinalLoss?: number;
    readonly continuedFinalLoss?: number;
  };
  readonly runs: MaskExperimentRun[];
  readonly seconds: { readonly pretraining: number; readonly total: number };
}

const defaults = {
  seeds: [1, 2, 3],
  hiddenSize: 64,
  layers: 2,
  heads: 4,
  keyValueHeads: 2,
  modelSeed: 0,
  maxSeqLen: 128,
  pretrainSteps: 200,
  pretrainBatchSize: 16,
  pretrainLearningRate: 2e-3,
  sftEpochs: 2,
  sftBatchSize: 16,
  sftLearningRate: 1e-3,
  memoryTokens: 4,
  chatNewTokens: 12,
};

/** A prompt's identity: every message but the last (the answer), as JSON. */
export function promptKey(conversation: ExperimentConversation): string {
  return JSON.stringify(
    conversation.conversations.slice(0, -1).map((message) => [message.role, message.content ?? ""]),
  );
}

/** Throws, naming the first shared prompt, when a held-out prompt is also a training prompt. */
export function checkDisjoint(data: MaskExperimentData): MaskExperimentResult["split"] {
  const train = new Set(data.sftTrain.map(promptKey));
  let heldOutPrompts = 0;
  for (const [task, records] of Object.entries(data.heldOut)) {
    for (const [index, record] of records.entries()) {
      heldOutPrompts++;
      const key = promptKey(record);
      if (train.has(key)) {
        throw new Error(`[experiment] held-out ${task}[${index}] is also a training prompt: ${key}; fix the split`);
      }
      const last = record.conversations[record.conversations.length - 1];
      if (last?.role !== "assistant" || typeof last.content !== "string") {
        throw new Error(`[experiment] held-out ${task}[${index}] does not end with an assistant answer`);
      }
    }
  }
  return { trainPrompts: train.size, heldOutPrompts, overlap: 0 };
}

/**
 * Pretraining rows under the hybrid mask: each row cut at a point drawn from (seed, row) in [1, length − 1);
 * tokens before it are the bidirectional prefix (roles "user", no loss), the rest causal and trained.
 */
class HybridPretrainDataset implements TrainingDataset {
  readonly epochInvariant = true;
  constructor(
    private readonly base: TrainingDataset,
    private readonly seed: number,
  ) {}
  get length(): number {
    return this.base.length;
  }
  sample(index: number, epoch: number): TrainingSample {
    const sample = this.base.sample(index, epoch);
    const length = sample.inputIds.length;
    const cut = length < 3 ? 1 : 1 + Math.floor(seededUniform(this.seed, index, 0x6859)() * (length - 2));
    const labels = sample.labels.map((label, position) => (position < cut ? IGNORE_LABEL : label));
    return {
      ...sample,
      labels,
      roles: sample.roles.map((role, position) => (position < cut ? "user" : role)),
    };
  }
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`[experiment] ${name} is ${value}; use an integer ≥ 1`);
  return value;
}

/** SFT with one loop for every arm: seeded batch order, upstream's cosine schedule, clip 1.0, AdamW. */
function fineTune(
  model: MiniMindForCausalLM,
  dataset: TrainingDataset,
  settings: { mask: ArmMask; seed: number; epochs: number; batchSize: number; learningRate: number; memory?: Tensor },
): number {
  const loader = new DataLoader(dataset, { batchSize: settings.batchSize, seed: settings.seed });
  const parameters = new Map(model.namedParameters());
  if (settings.memory !== undefined) parameters.set("memory", settings.memory);
  const optimizer = new AdamW(parameters, { learningRate: settings.learningRate });
  const memoryTokens = settings.memory?.shape[0] ?? 0;
  const positions = [...loader.batches(settings.epochs)];
  let lastEpochLoss = 0;
  let lastEpochSteps = 0;
  model.train(true);
  try {
    for (const [step, position] of positions.entries()) {
      const batch = loader.batch(position);
      const loss = scope(() => {
        const result = model.forward({
          inputIds: batch.inputIds,
          labels: batch.labels,
          attention: armAttention(settings.mask, batch, memoryTokens),
          ...(settings.memory !== undefined ? { prefixEmbeddings: settings.memory } : {}),
        });
        backward(result.loss as Tensor);
        return (result.loss as Tensor).item() as number;
      });
      clipGradientNorm(parameters.values(), 1);
      optimizer.step(learningRateAt(step, positions.length, { learningRate: settings.learningRate }));
      optimizer.zeroGrad();
      if (position.epoch === settings.epochs - 1) {
        lastEpochLoss += loss;
        lastEpochSteps++;
      }
    }
  } finally {
    optimizer.dispose();
  }
  return lastEpochLoss / Math.max(lastEpochSteps, 1);
}

/** Runs the experiment; see `MaskExperimentOptions`. */
export async function runMaskExperiment(options: MaskExperimentOptions): Promise<MaskExperimentResult> {
  const started = performance.now();
  const progress = options.onProgress ?? (() => {});
  const { tokenizer, data } = options;
  const arms = options.arms ?? MASK_EXPERIMENT_ARMS.filter((arm) => arm !== "continued");
  for (const arm of arms) {
    if (!MASK_EXPERIMENT_ARMS.includes(arm)) {
      throw new Error(`[experiment] unknown arm ${JSON.stringify(arm)}; use ${MASK_EXPERIMENT_ARMS.join(", ")}`);
    }
  }
  const seeds = options.seeds ?? defaults.seeds;
  if (seeds.length === 0) throw new Error("[experiment] seeds is empty; give at least one (three for intervals)");
  const size = { ...defaults, ...options.model };
  const maxSeqLen = options.maxSeqLen ?? defaults.maxSeqLen;
  const pretrainSteps = positive(options.pretrainSteps ?? defaults.pretrainSteps, "pretrainSteps");
  const pretrainBatchSize = positive(options.pretrainBatchSize ?? defaults.pretrainBatchSize, "pretrainBatchSize");
  const pretrainLearningRate = options.pretrainLearningRate ?? defaults.pretrainLearningRate;
  const consistencySteps = positive(
    options.consistencySteps ?? Math.max(1, Math.round(pretrainSteps / 4)),
    "consistencySteps",
  );
  const sftEpochs = positive(options.sftEpochs ?? defaults.sftEpochs, "sftEpochs");
  const sftBatchSize = positive(options.sftBatchSize ?? defaults.sftBatchSize, "sftBatchSize");
  const sftLearningRate = options.sftLearningRate ?? defaults.sftLearningRate;
  const memoryTokens = positive(options.memoryTokens ?? defaults.memoryTokens, "memoryTokens");
  const chatNewTokens = positive(options.chatNewTokens ?? defaults.chatNewTokens, "chatNewTokens");
  const modelSeed = options.modelSeed ?? defaults.modelSeed;
  const split = checkDisjoint(data);
  if (data.sftTrain.length === 0) throw new Error("[experiment] data.sftTrain is empty");
  if (data.pretrainTexts.length === 0) throw new Error("[experiment] data.pretrainTexts is empty");

  const config: MiniMindConfig = createMiniMindConfig({
    hidden_size: size.hiddenSize,
    num_hidden_layers: size.layers,
    num_attention_heads: size.heads,
    num_key_value_heads: size.keyValueHeads,
    vocab_size: Math.max(6400, tokenizer.vocabularySize),
    max_position_embeddings: Math.max(512, maxSeqLen + memoryTokens + 64),
  });
  const sftOptions = { tokenizer, maxSeqLen, addSystemRatio: 0, emptyThinkRatio: 0 };
  const sftDataset = new SFTDataset(recordsFromArray(data.sftTrain, "sftTrain"), sftOptions);
  let truncatedTrainRows = 0;
  for (let index = 0; index < sftDataset.length; index++) {
    const { inputIds, labels } = sftDataset.sample(index, 0);
    if (!inputIds.subarray(promptLengthOf(labels)).includes(tokenizer.eosTokenId ?? 2)) truncatedTrainRows++;
  }
  const heldOut = Object.entries(data.heldOut).map(([task, records]) => {
    const kept = records.slice(0, options.evaluationExamples ?? records.length);
    const dataset = new SFTDataset(recordsFromArray(kept, `heldOut.${task}`), sftOptions);
    const answers = kept.map((record) => record.conversations[record.conversations.length - 1]?.content ?? "");
    return { task, examples: examplesFrom(dataset, answers, tokenizer.eosTokenId ?? 2, task) };
  });

  // One causal pretraining run: the checkpoint every arm starts from.
  progress(`pretraining: ${pretrainSteps} steps of ${pretrainBatchSize} (causal)`);
  const pretrainDataset = new PretrainDataset(
    recordsFromArray(
      data.pretrainTexts.map((text) => ({ text })),
      "pretrainTexts",
    ),
    { tokenizer, maxSeqLen },
  );
  const pretrainBatches = Math.ceil(pretrainDataset.length / pretrainBatchSize);
  const pretrainCommon = {
    stage: "pretrain" as const,
    dataset: pretrainDataset,
    batchSize: pretrainBatchSize,
    accumulationSteps: 1,
    learningRate: pretrainLearningRate,
    seed: modelSeed,
    handleSignals: false,
    onEvent: (event: TrainEvent) => {
      if (event.type === "step" && (event.step % 20 === 0 || event.step === event.totalSteps)) {
        progress(`  step ${event.step}/${event.totalSteps}, loss ${event.loss.toFixed(3)}`);
      }
    },
  };
  const base = new MiniMindForCausalLM(config, { seed: modelSeed });
  const pretrained = await train({
    ...pretrainCommon,
    model: base,
    epochs: Math.ceil(pretrainSteps / pretrainBatches),
    maxSteps: pretrainSteps,
  });
  const baseWeights = base.stateDict();
  base.dispose();
  /** Continued pretraining from the shared checkpoint: hybrid-mask (consistency) or causal (its control). */
  const continuePretraining = async (hybrid: boolean) => {
    progress(
      `${hybrid ? "consistency" : "continued"}: ${consistencySteps} steps of ${hybrid ? "hybrid" : "causal"}-mask continued pretraining`,
    );
    const model = MiniMindForCausalLM.fromStateDict(config, baseWeights, "pretrained");
    try {
      const continued = await train({
        ...pretrainCommon,
        model,
        ...(hybrid
          ? {
              dataset: new HybridPretrainDataset(pretrainDataset, modelSeed),
              attention: (batch: Batch) => armAttention("prefix", batch),
            }
          : {}),
        epochs: Math.ceil(consistencySteps / pretrainBatches),
        maxSteps: consistencySteps,
      });
      return { weights: model.stateDict(), finalLoss: continued.lastLoss };
    } finally {
      model.dispose();
    }
  };
  const consistency = arms.includes("consistency") ? await continuePretraining(true) : undefined;
  const continued = arms.includes("continued") ? await continuePretraining(false) : undefined;
  const pretrainingSeconds = (performance.now() - started) / 1000;

  const trainedArms = [...new Set(arms.map(weightsOf))];
  const runs: MaskExperimentRun[] = [];
  for (const seed of seeds) {
    for (const trainedArm of trainedArms) {
      const weights =
        trainedArm === "consistency"
          ? (consistency?.weights ?? baseWeights)
          : trainedArm === "continued"
            ? (continued?.weights ?? baseWeights)
            : baseWeights;
      const model = MiniMindForCausalLM.fromStateDict(config, weights, `${trainedArm} start`);
      const memory =
        trainedArm === "memory"
          ? keep(
              tensor(memoryValues(memoryTokens * config.hidden_size, seed), {
                shape: [memoryTokens, config.hidden_size],
              }).requireGrad(),
            )
          : undefined;
      try {
        const trainingMask = trainingMaskOf(trainedArm);
        progress(`seed ${seed}, ${trainedArm}: SFT under ${trainingMask}`);
        const sftStarted = performance.now();
        const finalTrainingLoss = fineTune(model, sftDataset, {
          mask: trainingMask,
          seed,
          epochs: sftEpochs,
          batchSize: sftBatchSize,
          learningRate: sftLearningRate,
          ...(memory !== undefined ? { memory } : {}),
        });
        progress(
          `  ${((performance.now() - sftStarted) / 1000).toFixed(0)} s, last-epoch loss ${finalTrainingLoss.toFixed(3)}`,
        );
        for (const arm of arms.filter((candidate) => weightsOf(candidate) === trainedArm)) {
          const servingMask = servingMaskOf(arm);
          const tasks: Record<string, TaskScore> = {};
          for (const { task, examples } of heldOut) {
            tasks[task] = scoreTask(model, tokenizer, examples, servingMask, memory !== undefined ? { memory } : {});
          }
          const timed = servingMask !== "memory" && data.chats !== undefined && data.chats.length > 0;
          const chat = timed
            ? await timeChats(model, tokenizer, data.chats ?? [], servingMask as "causal", chatNewTokens)
            : undefined;
          runs.push({
            arm,
            seed,
            trainingMask,
            servingMask,
            finalTrainingLoss,
            tasks,
            ...(chat !== undefined ? { chat } : {}),
          });
          progress(
            `seed ${seed}, ${arm}: ${Object.entries(tasks)
              .map(
                ([task, score]) => `${task} exact ${score.exactMatch.toFixed(3)} loss ${score.answerLoss.toFixed(3)}`,
              )
              .join("; ")}`,
          );
        }
      } finally {
        memory?.dispose();
        model.dispose();
      }
    }
  }
  return {
    configuration: {
      arms: [...arms],
      seeds: [...seeds],
      model: { ...config },
      modelSeed,
      maxSeqLen,
      pretrainSteps,
      pretrainBatchSize,
      pretrainLearningRate,
      consistencySteps,
      sftEpochs,
      sftBatchSize,
      sftLearningRate,
      sftSteps: sftEpochs * Math.ceil(sftDataset.length / sftBatchSize),
      memoryTokens,
      chatNewTokens,
      data: {
        pretrainTexts: data.pretrainTexts.length,
        sftTrain: data.sftTrain.length,
        /** Training rows whose answer maxSeqLen cut short (trained on as cut, as upstream would). */
        truncatedTrainRows,
        heldOut: Object.fromEntries(heldOut.map(({ task, examples }) => [task, examples.length])),
        chats: data.chats?.length ?? 0,
      },
    },
    split,
    pretraining: {
      finalLoss: pretrained.lastLoss,
      ...(consistency !== undefined ? { consistencyFinalLoss: consistency.finalLoss } : {}),
      ...(continued !== undefined ? { continuedFinalLoss: continued.finalLoss } : {}),
    },
    runs,
    seconds: { pretraining: pretrainingSeconds, total: (performance.now() - started) / 1000 },
  };
}

/** N(0, 0.02²) initial memory vectors, a function of the seed (Box–Muller over the package's seeded uniforms). */
function memoryValues(count: number, seed: number): Float32Array {
  const uniform = seededUniform(seed, 0x3e3);
  const values = new Float32Array(count);
  for (let index = 0; index < count; index++) {
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    values[index] = 0.02 * radius * Math.cos(2 * Math.PI * uniform());
  }
  return values;
}
