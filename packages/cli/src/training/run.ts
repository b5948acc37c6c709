/**
 * One training stage as the `pretrain`, `sft` and `lora` commands (and `demo`) run it, over @minimind/train:
 * the model (new from size flags, or loaded with `--from`), the datasets (pretraining rows packed, or SFT
 * conversations), the progress display (a redrawn bar with ETA, tokens/s and a loss sparkline on a terminal,
 * plain lines on a pipe, JSON lines with `--json`), Ctrl-C (the trainer checkpoints, the command exits 130),
 * and at the end the final model folder and the loss curve as SVG and PNG. Not here: flag declarations (the
 * command files and settings.ts) or what a mask means (batch-mask.ts).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { countParameters, createMiniMindConfig, MiniMindForCausalLM } from "@minimind/model";
import { setMatmulThreads } from "@minimind/tensor/internals";
import { Tokenizer } from "@minimind/tokenizer";
import {
  batchAttention,
  evaluate,
  LoraAdapters,
  lora,
  PackedDataset,
  PretrainDataset,
  pretrain,
  SFTDataset,
  sft,
  type TrainEvent,
  type TrainingDataset,
  type TrainResult,
} from "@minimind/train";
import type { CommandIo } from "../command.js";
import { resolveModelFolder } from "../inference/model-loading.js";
import { requireFile } from "../io.js";
import { type ChartSeries, writeLineChart } from "../plot/line-chart.js";
import { InterruptedError, watchInterrupt } from "../terminal/interrupt.js";
import { formatDuration, ProgressBar } from "../terminal/progress.js";
import type { TrainingMask } from "./batch-mask.js";
import { stepBudget } from "./time-budget.js";

export type StageName = "pretrain" | "sft" | "lora";

export interface StageSettings {
  stage: StageName;
  /** Training JSONL: `{"text"}` for pretrain, `{"conversations"}` for sft and lora. */
  data: string;
  out: string;
  /** A model folder to start from (required for sft and lora). */
  from?: string;
  hiddenSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  maxSeqLen: number;
  seed: number;
  epochs: number;
  batchSize: number;
  accumulation: number;
  learningRate: number;
  warmup: number;
  maxSteps?: number;
  /** Train for about this many minutes (a step count measured up front; see time-budget.ts). */
  minutes?: number;
  /** Held-out JSONL of the same kind, evaluated every `evalEvery` steps and at the end. */
  eval?: string;
  evalEvery?: number;
  /** Without evalEvery: evaluate this many times, evenly spaced over the steps (when the step count is known). */
  evaluations?: number;
  evalRows: number;
  checkpointEvery?: number;
  keepLast: number;
  /** true: the latest checkpoint under `out`; a string: that checkpoint folder. */
  resume?: boolean | string;
  mask: TrainingMask;
  pack?: boolean;
  rank?: number;
  /** SFT: share of rows that keep the template's empty <think> block (upstream 0.2). */
  emptyThink?: number;
  threads?: number;
  json?: boolean;
}

export interface StageOutcome {
  result: TrainResult;
  /** The final model folder (`<out>/model`). */
  modelFolder: string;
  parameters: number;
  seconds: number;
  charts: { svg?: string; png?: string; note?: string };
}

async function loadDataset(
  file: string,
  settings: StageSettings,
  tokenizer: Tokenizer,
  heldOut: boolean,
): Promise<TrainingDataset> {
  requireFile(file, heldOut ? "evaluation file" : "data file");
  if (settings.stage === "pretrain") {
    const documents = await PretrainDataset.fromFile(file, { tokenizer, maxSeqLen: settings.maxSeqLen });
    return settings.pack === false || heldOut
      ? documents
      : new PackedDataset(documents, { maxSeqLen: settings.maxSeqLen });
  }
  return SFTDataset.fromFile(file, {
    tokenizer,
    maxSeqLen: settings.maxSeqLen,
    seed: settings.seed,
    ...(settings.emptyThink === undefined ? {} : { emptyThinkRatio: settings.emptyThink }),
    ...(heldOut ? { addSystemRatio: 0, emptyThinkRatio: settings.emptyThink === 1 ? 1 : 0 } : {}),
  });
}

/** The loss curves from a run folder's metrics.jsonl (train loss per step, held-out loss per evaluation). */
export function lossSeries(metricsFile: string): ChartSeries[] {
  if (!existsSync(metricsFile)) return [];
  const train: { x: number; y: number }[] = [];
  const heldOut: { x: number; y: number }[] = [];
  for (const line of readFileSync(metricsFile, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    const record = JSON.parse(line) as { step: number; loss?: number; eval_loss?: number };
    if (typeof record.loss === "number") train.push({ x: record.step, y: record.loss });
    if (typeof record.eval_loss === "number") heldOut.push({ x: record.step, y: record.eval_loss });
  }
  const series: ChartSeries[] = [{ name: "train", points: train }];
  if (heldOut.length > 0) series.push({ name: "held out", points: heldOut });
  return series;
}

/** A display of the trainer's events: progress bar or plain lines on stderr, or JSON lines on stdout. */
function eventDisplay(settings: StageSettings, io: CommandIo) {
  let bar: ProgressBar | undefined;
  let firstStep = 0;
  let tokens = 0;
  let lastElapsed = 0;
  const plain = (text: string) => io.stderr(`${text}\n`);
  const onEvent = (event: TrainEvent) => {
    if (settings.json === true) {
      const { type, ...rest } = event;
      io.stdout(`${JSON.stringify({ event: type, stage: settings.stage, ...rest })}\n`);
      return;
    }
    switch (event.type) {
      case "start":
        firstStep = event.step;
        if (event.resumedFrom !== undefined) plain(`resumed from ${event.resumedFrom} at step ${event.step}`);
        bar = new ProgressBar({
          label: settings.stage,
          total: event.totalSteps - event.step,
          write: io.stderr,
          isTTY: io.stderrIsTTY,
          columns: io.columns,
          metricName: "loss",
        });
        break;
      case "step": {
        const seconds = event.elapsedSeconds - lastElapsed;
        lastElapsed = event.elapsedSeconds;
        if (event.step > firstStep + 1) tokens += event.tokensPerSecond * seconds;
        bar?.update({ completed: event.step - firstStep, tokens, metric: event.loss });
        break;
      }
      case "evaluation":
        if (io.stderrIsTTY) io.stderr("\r\u001b[K");
        plain(
          `step ${event.step}: held-out loss ${event.loss.toFixed(4)}, perplexity ${event.perplexity.toFixed(2)}` +
            (event.bitsPerByte === undefined ? "" : `, ${event.bitsPerByte.toFixed(4)} bits per byte`),
        );
        break;
      case "skipped-step":
        plain(`step ${event.step} skipped: ${event.reason}`);
        break;
      case "checkpoint":
        if (event.reason !== "interval") {
          bar?.finish();
          plain(`checkpoint ${event.directory} (${event.reason})`);
        }
        break;
      case "end":
        bar?.finish();
        break;
    }
  };
  return onEvent;
}

/** Runs one stage; throws an InterruptedError (exit 130) after checkpointing when Ctrl-C was pressed. */
export async function runStage(settings: StageSettings, io: CommandIo): Promise<StageOutcome> {
  if (settings.threads !== undefined) setMatmulThreads(settings.threads);
  const started = performance.now();
  if (settings.resume === undefined && existsSync(join(settings.out, "metrics.jsonl"))) {
    throw new Error(
      `${settings.out} already holds a run (metrics.jsonl); add --resume to continue it, or choose another --out`,
    );
  }
  const tokenizer = Tokenizer.minimind();
  const model =
    settings.from === undefined
      ? new MiniMindForCausalLM(
          createMiniMindConfig({
            hidden_size: settings.hiddenSize,
            num_hidden_layers: settings.layers,
            num_attention_heads: settings.heads,
            num_key_value_heads: settings.kvHeads,
            max_position_embeddings: Math.max(settings.maxSeqLen, 4096),
          }),
          { seed: settings.seed },
        )
      : await MiniMindForCausalLM.fromPretrained(resolveModelFolder(settings.from, "--from"), { training: true });
  const dataset = await loadDataset(settings.data, settings, tokenizer, false);
  const evaluation =
    settings.eval === undefined
      ? undefined
      : {
          dataset: await loadDataset(settings.eval, settings, tokenizer, true),
          maxRows: settings.evalRows,
          batchSize: settings.batchSize,
          tokenizer,
          ...(settings.evalEvery === undefined ? {} : { every: settings.evalEvery }),
        };
  const parameters = countParameters(model.config);
  let maxSteps = settings.maxSteps;
  if (maxSteps === undefined && settings.minutes !== undefined) {
    const budget = await stepBudget(
      model.config,
      dataset,
      { ...settings, minutes: settings.minutes },
      (performance.now() - started) / 1000,
    );
    maxSteps = budget.steps;
    if (settings.json !== true) {
      io.stderr(
        budget.reused
          ? `${settings.stage}: ${budget.steps} steps, as budgeted when this run started (${join(settings.out, "budget.json")})\n`
          : `${settings.stage}: ${budget.steps} steps fit in ${settings.minutes.toFixed(1)} minutes (${budget.stepSeconds.toFixed(2)} s a step, measured)\n`,
      );
    }
  }
  if (settings.json !== true) {
    io.stderr(
      `${settings.stage}: ${(parameters / 1e6).toFixed(2)}M parameters (hidden ${model.config.hidden_size}, ${model.config.num_hidden_layers} layers), ${dataset.length.toLocaleString("en-US")} rows of ≤ ${settings.maxSeqLen} tokens from ${settings.data}\n`,
    );
  }
  // The held-out loss before training, as step 0 of metrics.jsonl: the curve's first held-out point.
  if (evaluation !== undefined && settings.resume === undefined) {
    const mask = settings.mask;
    const before = evaluate(model, evaluation.dataset, {
      tokenizer,
      batchSize: evaluation.batchSize,
      maxRows: evaluation.maxRows,
      attention: typeof mask === "function" ? mask : (batch) => batchAttention(batch, mask),
    });
    mkdirSync(settings.out, { recursive: true });
    const record = {
      step: 0,
      eval_loss: before.loss,
      eval_perplexity: before.perplexity,
      eval_bits_per_byte: before.bitsPerByte ?? null,
    };
    appendFileSync(join(settings.out, "metrics.jsonl"), `${JSON.stringify(record)}\n`);
    if (settings.json === true)
      io.stdout(`${JSON.stringify({ event: "evaluation", stage: settings.stage, step: 0, ...before })}\n`);
    else io.stderr(`step 0: held-out loss ${before.loss.toFixed(4)}, perplexity ${before.perplexity.toFixed(2)}\n`);
  }
  const interrupt = watchInterrupt({
    notify: (message) => io.stderr(`\n${message}\n`),
    message: "stopping after this step to write a checkpoint; press Ctrl-C again to quit now",
  });
  const adapters =
    settings.stage === "lora"
      ? LoraAdapters.attach(model, { rank: settings.rank ?? 16, seed: settings.seed })
      : undefined;
  const common = {
    model,
    dataset,
    epochs: settings.epochs,
    batchSize: settings.batchSize,
    accumulationSteps: settings.accumulation,
    learningRate: settings.learningRate,
    warmupSteps: settings.warmup,
    seed: settings.seed,
    attention: settings.mask,
    outputDirectory: settings.out,
    keepLast: settings.keepLast,
    signal: interrupt.signal,
    handleSignals: false,
    onEvent: eventDisplay(settings, io),
    ...(maxSteps === undefined ? {} : { maxSteps }),
    ...(settings.checkpointEvery === undefined ? {} : { checkpointEvery: settings.checkpointEvery }),
    ...(typeof settings.resume === "string" ? { resume: settings.resume } : {}),
    ...(settings.resume === true ? { resume: "latest" } : {}),
    ...(evaluation === undefined ? {} : { evaluation }),
    ...(evaluation !== undefined &&
    settings.evalEvery === undefined &&
    settings.evaluations !== undefined &&
    maxSteps !== undefined
      ? { evaluation: { ...evaluation, every: Math.max(1, Math.ceil(maxSteps / settings.evaluations)) } }
      : {}),
  };
  let result: TrainResult;
  try {
    if (adapters !== undefined) result = await lora({ ...common, adapters });
    else result = await (settings.stage === "pretrain" ? pretrain(common) : sft(common));
  } catch (error) {
    if (interrupt.interrupted) {
      await writeCharts(settings);
      throw new InterruptedError(
        `interrupted; the last checkpoint is in ${settings.out}; run the same command with --resume to continue`,
      );
    }
    throw error;
  } finally {
    interrupt.dispose();
  }
  const modelFolder = join(settings.out, "model");
  if (adapters !== undefined) adapters.merge();
  await model.savePretrained(modelFolder);
  model.dispose();
  const charts = await writeCharts(settings);
  return { result, modelFolder, parameters, seconds: (performance.now() - started) / 1000, charts };
}

async function writeCharts(settings: StageSettings): Promise<StageOutcome["charts"]> {
  const series = lossSeries(join(settings.out, "metrics.jsonl"));
  if (series.length === 0 || (series[0]?.points.length ?? 0) === 0) return { note: "no steps, no loss curve" };
  const title = `${settings.stage} loss`;
  const written = await writeLineChart(join(settings.out, "loss"), series, { title });
  return {
    svg: written.svg,
    ...(written.png === undefined ? {} : { png: written.png }),
    ...(written.pngError === undefined ? {} : { note: `no PNG: ${written.pngError}` }),
  };
}

/** The end-of-run report: plain lines, or one JSON object with `--json`. */
export function reportStage(outcome: StageOutcome, settings: StageSettings, io: CommandIo): void {
  const { result } = outcome;
  const summary = {
    stage: settings.stage,
    steps: result.step,
    totalSteps: result.totalSteps,
    stoppedBy: result.stoppedBy,
    lastLoss: result.lastLoss,
    evaluation: result.evaluation ?? null,
    model: outcome.modelFolder,
    checkpoint: result.checkpoint ?? null,
    lossCurve: outcome.charts.svg ?? null,
    lossCurvePng: outcome.charts.png ?? null,
    parameters: outcome.parameters,
    seconds: Math.round(outcome.seconds * 10) / 10,
  };
  if (settings.json === true) {
    io.stdout(`${JSON.stringify({ event: "summary", ...summary })}\n`);
    return;
  }
  io.stdout(
    `${settings.stage}: ${result.step}/${result.totalSteps} steps in ${formatDuration(outcome.seconds * 1000)}, last loss ${result.lastLoss.toFixed(4)}\n`,
  );
  if (result.evaluation !== undefined) {
    const { loss, perplexity, bitsPerByte } = result.evaluation;
    io.stdout(
      `  held out: loss ${loss.toFixed(4)}, perplexity ${perplexity.toFixed(2)}${bitsPerByte === undefined ? "" : `, ${bitsPerByte.toFixed(4)} bits per byte`}\n`,
    );
  }
  io.stdout(`  model      ${outcome.modelFolder}\n`);
  if (result.checkpoint !== undefined) io.stdout(`  checkpoint ${result.checkpoint}\n`);
  if (outcome.charts.svg !== undefined) {
    io.stdout(
      `  loss curve ${outcome.charts.svg}${outcome.charts.png === undefined ? "" : `, ${outcome.charts.png}`}\n`,
    );
  }
  if (outcome.charts.note !== undefined) io.stdout(`  (${outcome.charts.note})\n`);
}
