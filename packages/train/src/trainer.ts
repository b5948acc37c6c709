/**
 * The training loop shared by every stage (`pretrain`, `sft`, and `lora` in lora.ts): seeded batches →
 * gradient accumulation → NaN/Inf guard → global-norm clipping → AdamW at the scheduled learning rate;
 * metrics as JSONL and progress events; evaluation on a held-out dataset; checkpoints (checkpoint.ts) every
 * N steps, on SIGINT/SIGTERM and on abort; exact resume — weights, moments, step, data position and the
 * dropout seed (reseeded from the step) all come back, so a resumed run computes what an uninterrupted
 * one would, bit for bit. Not here: data (datasets, loader.ts), the update rule (optimizer.ts), file
 * layout and verification (checkpoint.ts).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StrategyLike } from "@minimind/attention";
import { type MiniMindForCausalLM, miniMindConfigToJson } from "@minimind/model";
import { readSafetensors, writeSafetensors } from "@minimind/model/safetensors";
import { assign, manualSeed, type Tensor, tensor } from "@minimind/tensor";
import type { Tokenizer } from "@minimind/tokenizer";
import { CheckpointError, latestCheckpoint, readCheckpoint, writeCheckpoint } from "./checkpoint.js";
import { type EvaluationResult, evaluate } from "./evaluate.js";
import { accumulateGradients } from "./gradients.js";
import { type AttentionMode, type Batch, batchAttention, DataLoader, type LoaderPosition } from "./loader.js";
import { AdamW, clipGradientNorm, type NoDecayRule } from "./optimizer.js";
import type { TrainingDataset } from "./sample.js";
import { learningRateAt, STAGE_DEFAULTS } from "./schedule.js";

export type Stage = "pretrain" | "sft" | "lora";

/** What the loop reports as it goes (for a CLI's progress display). */
export type TrainEvent =
  | {
      readonly type: "start";
      readonly stage: Stage;
      readonly step: number;
      readonly totalSteps: number;
      readonly resumedFrom?: string;
    }
  | {
      readonly type: "step";
      readonly step: number;
      readonly totalSteps: number;
      readonly epoch: number;
      readonly loss: number;
      readonly learningRate: number;
      readonly gradientNorm: number;
      readonly tokensPerSecond: number;
      readonly elapsedSeconds: number;
    }
  | { readonly type: "skipped-step"; readonly step: number; readonly reason: string; readonly inARow: number }
  | ({ readonly type: "evaluation"; readonly step: number } & EvaluationResult)
  | { readonly type: "checkpoint"; readonly step: number; readonly directory: string; readonly reason: string }
  | { readonly type: "end"; readonly result: TrainResult };

export interface EvaluationSettings {
  readonly dataset: TrainingDataset;
  /** Evaluate every N optimizer steps (default: only at the end). */
  readonly every?: number;
  readonly batchSize?: number;
  readonly maxRows?: number;
  /** For bits per byte. */
  readonly tokenizer?: Tokenizer;
}

export interface TrainOptions {
  readonly model: MiniMindForCausalLM;
  readonly dataset: TrainingDataset;
  /** Picks upstream's defaults for unset fields (default "pretrain"). */
  readonly stage?: Stage;
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly accumulationSteps?: number;
  readonly learningRate?: number;
  readonly warmupSteps?: number;
  readonly weightDecay?: number;
  readonly noDecay?: NoDecayRule;
  /** Global-norm clip (default 1.0; 0 = off). */
  readonly gradientClip?: number;
  /** Seed of the data order and of dropout (default 42, upstream's). */
  readonly seed?: number;
  /** Stop after this many optimizer steps in total; the schedule then spans min(all epochs, maxSteps). */
  readonly maxSteps?: number;
  /** The mask per batch: a mode for `batchAttention` (default "causal") or a function. */
  readonly attention?: AttentionMode | ((batch: Batch) => StrategyLike);
  /** The tensors to train (default every model parameter); LoRA passes its adapters. */
  readonly parameters?: ReadonlyMap<string, Tensor>;
  /** Where checkpoints (and by default metrics.jsonl) go; without it nothing is written. */
  readonly outputDirectory?: string;
  /** Checkpoint every N optimizer steps (default: only at the end and on signals). */
  readonly checkpointEvery?: number;
  readonly keepLast?: number;
  /** Resume from a checkpoint folder, or "latest" under outputDirectory (none there: start fresh). */
  readonly resume?: string;
  /** Metrics JSONL file (default `<outputDirectory>/metrics.jsonl`). */
  readonly metricsFile?: string;
  readonly evaluation?: EvaluationSettings;
  readonly onEvent?: (event: TrainEvent) => void;
  readonly signal?: AbortSignal;
  /** Checkpoint and stop on SIGINT/SIGTERM (default true when outputDirectory is set). */
  readonly handleSignals?: boolean;
  /** Stop with an error after this many non-finite steps in a row (default 3). */
  readonly maxNonFiniteSteps?: number;
  /** Pad id of the batches (default 0). */
  readonly padTokenId?: number;
  /** Files a stage adds to each checkpoint (LoRA: its adapters), and how to restore them. */
  readonly extraCheckpointFiles?: {
    readonly save: () => ReadonlyMap<string, Uint8Array>;
    readonly load: (files: ReadonlyMap<string, Uint8Array>, directory: string) => void;
  };
  /** Whether checkpoints include the full model weights (default true; LoRA keeps the frozen base out). */
  readonly saveModelWeights?: boolean;
}

export interface TrainResult {
  readonly stage: Stage;
  readonly step: number;
  readonly totalSteps: number;
  readonly position: LoaderPosition;
  readonly lastLoss: number;
  readonly stoppedBy: "completed" | "max-steps" | "signal" | "aborted";
  readonly skippedSteps: number;
  readonly checkpoint: string | undefined;
  readonly evaluation: EvaluationResult | undefined;
}

/** The configuration a checkpoint must match to resume exactly. */
interface RunIdentity {
  readonly stage: Stage;
  readonly batch_size: number;
  readonly accumulation_steps: number;
  readonly seed: number;
  readonly epochs: number;
  readonly dataset_rows: number;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`[train] ${name} is ${value}; use an integer ≥ 1`);
  return value;
}

/** Optimizer steps in one epoch: its batches grouped by the accumulation count (a last partial group counts). */
function stepsIn(loader: DataLoader, epoch: number, accumulationSteps: number): number {
  return Math.ceil(loader.batchesIn(epoch) / accumulationSteps);
}

/** The micro-batch positions of the optimizer step that starts at `from`. */
function nextGroup(loader: DataLoader, from: LoaderPosition, accumulationSteps: number, epochs: number) {
  let { epoch, batch } = from;
  while (epoch < epochs && batch >= loader.batchesIn(epoch)) {
    epoch++;
    batch = 0;
  }
  if (epoch >= epochs) return undefined;
  const end = Math.min(batch + accumulationSteps, loader.batchesIn(epoch));
  const positions: LoaderPosition[] = [];
  for (let index = batch; index < end; index++) positions.push({ epoch, batch: index });
  return { positions, next: { epoch, batch: end } };
}

function modelFiles(model: MiniMindForCausalLM): Map<string, Uint8Array> {
  const state = model.stateDict();
  // Upstream's state_dict has lm_head.weight even when tied: write it too, so
  // `load_state_dict(strict=True)` takes this file unchanged.
  if (model.config.tie_word_embeddings) {
    const embedding = state.get("model.embed_tokens.weight");
    if (embedding !== undefined) state.set("lm_head.weight", embedding);
  }
  return new Map([
    ["model.safetensors", writeSafetensors(state, { metadata: { format: "pt" } })],
    ["config.json", new TextEncoder().encode(`${JSON.stringify(miniMindConfigToJson(model.config), null, 2)}\n`)],
  ]);
}

function loadModelWeights(model: MiniMindForCausalLM, bytes: Uint8Array, source: string): void {
  const { tensors } = readSafetensors(bytes, { source });
  for (const [name, parameter] of model.namedParameters()) {
    const saved = tensors.get(name);
    if (saved === undefined) throw new CheckpointError(`[checkpoint] ${source}: tensor "${name}" is missing`);
    if (saved.dtype !== "F32" || saved.shape.join(",") !== parameter.shape.join(",")) {
      throw new CheckpointError(
        `[checkpoint] ${source}: tensor "${name}" is ${saved.dtype} [${saved.shape.join(", ")}]; the model needs F32 [${parameter.shape.join(", ")}]`,
      );
    }
    const value = tensor(saved.data as Float32Array, { shape: [...parameter.shape] });
    assign(parameter, value);
    value.dispose();
  }
}

function optimizerFile(optimizer: AdamW): Uint8Array {
  const tensors = new Map(
    [...optimizer.stateTensors()].map(([name, { shape, data }]) => [name, { dtype: "F32" as const, shape, data }]),
  );
  return writeSafetensors(tensors, { metadata: { step_count: String(optimizer.stepCount) } });
}

function loadOptimizer(optimizer: AdamW, bytes: Uint8Array, source: string): void {
  const { tensors, metadata } = readSafetensors(bytes, { source });
  const stepCount = Number(metadata.step_count);
  try {
    optimizer.loadState(
      tensors as ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
      stepCount,
      source,
    );
  } catch (error) {
    throw new CheckpointError((error as Error).message);
  }
}

/** Trains `options.model` in place; see `TrainOptions`. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const stage = options.stage ?? "pretrain";
  const defaults = STAGE_DEFAULTS[stage];
  const { model } = options;
  const epochs = positiveInteger(options.epochs ?? defaults.epochs, "epochs");
  const batchSize = positiveInteger(options.batchSize ?? defaults.batchSize, "batchSize");
  const accumulationSteps = positiveInteger(
    options.accumulationSteps ?? defaults.accumulationSteps,
    "accumulationSteps",
  );
  const learningRate = options.learningRate ?? defaults.learningRate;
  const gradientClip = options.gradientClip ?? defaults.gradientClip;
  const seed = options.seed ?? 42;
  const maxNonFinite = positiveInteger(options.maxNonFiniteSteps ?? 3, "maxNonFiniteSteps");
  const output = options.outputDirectory;
  const emit = options.onEvent ?? (() => {});
  const attentionOption = options.attention ?? "causal";
  const attentionFor =
    typeof attentionOption === "function" ? attentionOption : (batch: Batch) => batchAttention(batch, attentionOption);
  const loader = new DataLoader(options.dataset, {
    batchSize,
    seed,
    ...(options.padTokenId !== undefined ? { padTokenId: options.padTokenId } : {}),
  });
  const identity: RunIdentity = {
    stage,
    batch_size: batchSize,
    accumulation_steps: accumulationSteps,
    seed,
    epochs,
    dataset_rows: loader.rowsIn(0),
  };
  let totalSteps = 0;
  for (let epoch = 0; epoch < epochs; epoch++) totalSteps += stepsIn(loader, epoch, accumulationSteps);
  if (totalSteps === 0) throw new Error("[train] the dataset yields no batches");
  // As Hugging Face's max_steps: the run, and so the schedule, ends at maxSteps when that comes first.
  if (options.maxSteps !== undefined) totalSteps = Math.min(totalSteps, positiveInteger(options.maxSteps, "maxSteps"));
  const parameters = options.parameters ?? model.namedParameters();
  const optimizer = new AdamW(parameters, {
    learningRate,
    ...(options.weightDecay !== undefined ? { weightDecay: options.weightDecay } : {}),
    ...(options.noDecay !== undefined ? { noDecay: options.noDecay } : {}),
  });
  const saveModelWeights = options.saveModelWeights ?? true;

  let step = 0;
  let position: LoaderPosition = { epoch: 0, batch: 0 };
  let elapsedBefore = 0;
  let skippedSteps = 0;
  let nonFiniteInARow = 0;
  let lastLoss = Number.NaN;
  let resumedFrom: string | undefined;
  const history: Record<string, unknown>[] = [];

  if (options.resume !== undefined) {
    if (options.resume === "latest" && output === undefined) {
      throw new Error('[train] resume: "latest" needs outputDirectory');
    }
    const directory = options.resume === "latest" ? await latestCheckpoint(output as string) : options.resume;
    if (directory !== undefined) {
      const loaded = await readCheckpoint(directory);
      const saved = loaded.state.run as RunIdentity | undefined;
      for (const key of Object.keys(identity) as (keyof RunIdentity)[]) {
        if (saved?.[key] !== identity[key]) {
          throw new CheckpointError(
            `[checkpoint] ${join(directory, "trainer_state.json")}: run.${key} is ${JSON.stringify(saved?.[key])}, this run has ${JSON.stringify(identity[key])}; exact resume needs the same settings`,
          );
        }
      }
      if (saveModelWeights) {
        const bytes = loaded.files.get("model.safetensors");
        if (bytes === undefined) throw new CheckpointError(`[checkpoint] ${directory}: no model.safetensors listed`);
        loadModelWeights(model, bytes, join(directory, "model.safetensors"));
      }
      options.extraCheckpointFiles?.load(loaded.files, directory);
      const optimizerBytes = loaded.files.get("optimizer.safetensors");
      if (optimizerBytes === undefined)
        throw new CheckpointError(`[checkpoint] ${directory}: no optimizer.safetensors listed`);
      loadOptimizer(optimizer, optimizerBytes, join(directory, "optimizer.safetensors"));
      step = loaded.state.global_step;
      position = loaded.state.data_position as LoaderPosition;
      elapsedBefore = Number(loaded.state.elapsed_seconds ?? 0);
      skippedSteps = Number(loaded.state.skipped_steps ?? 0);
      nonFiniteInARow = Number(loaded.state.non_finite_in_a_row ?? 0);
      history.push(...((loaded.state.log_history as Record<string, unknown>[] | undefined) ?? []));
      resumedFrom = directory;
    }
  }

  const metricsFile = options.metricsFile ?? (output === undefined ? undefined : join(output, "metrics.jsonl"));
  if (metricsFile !== undefined) {
    mkdirSync(join(metricsFile, ".."), { recursive: true });
    // A resumed run repeats the steps after its checkpoint: drop what the interrupted run logged for them.
    if (resumedFrom !== undefined && existsSync(metricsFile)) {
      const kept = readFileSync(metricsFile, "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "" && Number((JSON.parse(line) as { step?: unknown }).step) <= step);
      writeFileSync(metricsFile, kept.map((line) => `${line}\n`).join(""));
    }
  }
  const started = performance.now();
  const elapsed = () => elapsedBefore + (performance.now() - started) / 1000;

  let checkpointedAt = -1;
  const saveCheckpoint = async (reason: string): Promise<string | undefined> => {
    if (output === undefined) return undefined;
    checkpointedAt = step;
    const files = new Map<string, Uint8Array>(saveModelWeights ? modelFiles(model) : []);
    files.set("optimizer.safetensors", optimizerFile(optimizer));
    for (const [name, bytes] of options.extraCheckpointFiles?.save() ?? []) files.set(name, bytes);
    const directory = await writeCheckpoint(
      output,
      step,
      files,
      {
        run: identity,
        epoch: position.epoch,
        data_position: position,
        total_steps: totalSteps,
        optimizer_step_count: optimizer.stepCount,
        rng: { seed, data_order: "seededPermutation(seed, epoch)", dropout: "manualSeed(seed + 7919·step) per step" },
        elapsed_seconds: elapsed(),
        skipped_steps: skippedSteps,
        non_finite_in_a_row: nonFiniteInARow,
        log_history: history.slice(-100),
      },
      options.keepLast !== undefined ? { keepLast: options.keepLast } : {},
    );
    emit({ type: "checkpoint", step, directory, reason });
    return directory;
  };

  let interruptedBy: string | undefined;
  const onSignal = (name: string) => () => {
    interruptedBy = name;
  };
  const handlers =
    (options.handleSignals ?? output !== undefined)
      ? (["SIGINT", "SIGTERM"] as const).map((name) => [name, onSignal(name)] as const)
      : [];
  for (const [name, handler] of handlers) process.on(name, handler);

  let evaluatedAt = -1;
  const runEvaluation = (): EvaluationResult | undefined => {
    const settings = options.evaluation;
    if (settings === undefined) return undefined;
    evaluatedAt = step;
    const result = evaluate(model, settings.dataset, {
      attention: attentionFor,
      ...(settings.batchSize !== undefined ? { batchSize: settings.batchSize } : {}),
      ...(settings.maxRows !== undefined ? { maxRows: settings.maxRows } : {}),
      ...(settings.tokenizer !== undefined ? { tokenizer: settings.tokenizer } : {}),
      ...(options.padTokenId !== undefined ? { padTokenId: options.padTokenId } : {}),
    });
    emit({ type: "evaluation", step, ...result });
    const record = {
      step,
      eval_loss: result.loss,
      eval_perplexity: result.perplexity,
      eval_bits_per_byte: result.bitsPerByte,
    };
    history.push(record);
    if (metricsFile !== undefined) appendFileSync(metricsFile, `${JSON.stringify(record)}\n`);
    return result;
  };

  let stoppedBy: TrainResult["stoppedBy"] = "completed";
  let checkpoint: string | undefined;
  let evaluation: EvaluationResult | undefined;
  model.train(true);
  emit({ type: "start", stage, step, totalSteps, ...(resumedFrom !== undefined ? { resumedFrom } : {}) });
  try {
    for (;;) {
      if (options.maxSteps !== undefined && step >= options.maxSteps) {
        stoppedBy = "max-steps";
        break;
      }
      const group = nextGroup(loader, position, accumulationSteps, epochs);
      if (group === undefined) break;
      const stepStarted = performance.now();
      if (model.config.dropout > 0) manualSeed((seed + 7919 * step) >>> 0);
      const rate = learningRateAt(step, totalSteps, { learningRate, warmupSteps: options.warmupSteps ?? 0 });
      const batches = group.positions.map((where) => loader.batch(where));
      const accumulated = accumulateGradients(model, batches, attentionFor);
      const norm = clipGradientNorm(parameters.values(), gradientClip > 0 ? gradientClip : Number.POSITIVE_INFINITY);
      if (!Number.isFinite(accumulated.loss) || !Number.isFinite(norm)) {
        optimizer.zeroGrad();
        nonFiniteInARow++;
        skippedSteps++;
        const reason = `loss ${accumulated.loss}, gradient norm ${norm}`;
        emit({ type: "skipped-step", step, reason, inARow: nonFiniteInARow });
        if (metricsFile !== undefined) appendFileSync(metricsFile, `${JSON.stringify({ step, skipped: reason })}\n`);
        if (nonFiniteInARow >= maxNonFinite) {
          throw new Error(
            `[train] ${nonFiniteInARow} non-finite steps in a row (the last at step ${step}, batches ${group.positions.map((where) => `${where.epoch}:${where.batch}`).join(", ")}: ${reason}); lower the learning rate or check the data`,
          );
        }
      } else {
        optimizer.step(rate);
        optimizer.zeroGrad();
        nonFiniteInARow = 0;
      }
      step++;
      position = group.next;
      lastLoss = accumulated.loss;
      const seconds = (performance.now() - stepStarted) / 1000;
      const record = {
        step,
        epoch: position.epoch,
        loss: accumulated.loss,
        aux_loss: accumulated.auxLoss,
        learning_rate: rate,
        gradient_norm: norm,
        tokens: accumulated.tokens,
        tokens_per_second: accumulated.tokens / seconds,
        elapsed_seconds: elapsed(),
      };
      history.push(record);
      if (history.length > 1000) history.splice(0, history.length - 1000);
      if (metricsFile !== undefined) appendFileSync(metricsFile, `${JSON.stringify(record)}\n`);
      emit({
        type: "step",
        step,
        totalSteps,
        epoch: position.epoch,
        loss: accumulated.loss,
        learningRate: rate,
        gradientNorm: norm,
        tokensPerSecond: record.tokens_per_second,
        elapsedSeconds: record.elapsed_seconds,
      });
      const every = options.evaluation?.every;
      if (every !== undefined && step % every === 0) evaluation = runEvaluation();
      if (options.checkpointEvery !== undefined && step % options.checkpointEvery === 0) {
        checkpoint = await saveCheckpoint("interval");
      }
      // Let signals and aborts land between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (interruptedBy !== undefined) {
        stoppedBy = "signal";
        break;
      }
      if (options.signal?.aborted) {
        stoppedBy = "aborted";
        break;
      }
    }
    if (evaluatedAt !== step) evaluation = runEvaluation() ?? evaluation;
    if (checkpointedAt !== step) {
      checkpoint = (await saveCheckpoint(stoppedBy === "signal" ? (interruptedBy as string) : stoppedBy)) ?? checkpoint;
    }
  } finally {
    for (const [name, handler] of handlers) process.off(name, handler);
    optimizer.zeroGrad();
    optimizer.dispose();
  }
  const result: TrainResult = {
    stage,
    step,
    totalSteps,
    position,
    lastLoss,
    stoppedBy,
    skippedSteps,
    checkpoint,
    evaluation,
  };
  emit({ type: "end", result });
  if (stoppedBy === "aborted") throw options.signal?.reason ?? new Error("[train] aborted");
  return result;
}

/** Pretraining with upstream's defaults (lr 5e-4, batch 32, accumulation 8, 2 epochs, causal mask). */
export function pretrain(options: Omit<TrainOptions, "stage">): Promise<TrainResult> {
  return train({ ...options, stage: "pretrain" });
}

/** Full SFT with upstream's defaults (lr 1e-5, batch 16, 2 epochs, causal mask unless `attention` says). */
export function sft(options: Omit<TrainOptions, "stage">): Promise<TrainResult> {
  return train({ ...options, stage: "sft" });
}
