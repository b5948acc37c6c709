/**
 * The flags the training commands share and the step from parsed flags to a `runStage` call, so
 * `commands/pretrain.ts`, `sft.ts` and `lora.ts` only state their defaults and help. Defaults are upstream's
 * (`trainer/train_*.py`) scaled to a 2-core CPU: a smaller model, shorter rows, batch 16, one epoch.
 * Not here: the run itself (run.ts).
 */
import type { Command as CommanderCommand } from "commander";
import { type CommandIo, UsageError } from "../command.js";
import { decimal, integer } from "../options.js";
import { trainingMask } from "./batch-mask.js";
import { reportStage, runStage, type StageName, type StageSettings } from "./run.js";
import { declareSettings, resolveSettings, type SettingSpec } from "./settings.js";

export interface StageDefaults {
  learningRate: number;
  batchSize: number;
  maxSeqLen: number;
  epochs: number;
  accumulation: number;
}

/** The setting table of a stage (its defaults filled in). */
export function stageSpecs(stage: StageName, defaults: StageDefaults): SettingSpec[] {
  const specs: SettingSpec[] = [
    {
      flag: "out",
      placeholder: "dir",
      description: "run folder (checkpoints, metrics, loss curves, model/); required",
    },
    ...(stage === "pretrain"
      ? [
          {
            flag: "hidden-size",
            placeholder: "n",
            parse: integer({ min: 8 }),
            default: 256,
            description: "hidden size",
          },
          { flag: "layers", placeholder: "n", parse: integer({ min: 1 }), default: 4, description: "decoder layers" },
          { flag: "heads", placeholder: "n", parse: integer({ min: 1 }), default: 4, description: "query heads" },
          {
            flag: "kv-heads",
            placeholder: "n",
            parse: integer({ min: 1 }),
            default: 2,
            description: "key/value heads",
          },
          { flag: "no-pack", description: "one text per row instead of packing texts end to end" },
        ]
      : [
          {
            flag: "from",
            placeholder: "dir",
            description: "the model to fine-tune: a model folder or a pretrain/sft run folder (required)",
          },
          {
            flag: "empty-think",
            placeholder: "share",
            parse: decimal({ min: 0, max: 1 }),
            default: 0.2,
            description:
              "share of rows that keep the template's empty <think></think> block, as prompts with thinking off have it (upstream 0.2)",
          },
          {
            flag: "mask",
            placeholder: "strategy",
            default: "causal",
            description: "attention mask while training: causal, prefix, segments, or a strategy module path",
          },
        ]),
    ...(stage === "lora"
      ? [{ flag: "rank", placeholder: "r", parse: integer({ min: 1 }), default: 16, description: "LoRA rank" }]
      : []),
    {
      flag: "max-seq-len",
      placeholder: "n",
      parse: integer({ min: 8 }),
      default: defaults.maxSeqLen,
      description: "longest row in tokens",
    },
    {
      flag: "epochs",
      placeholder: "n",
      parse: integer({ min: 1 }),
      default: defaults.epochs,
      description: "passes over the data",
    },
    {
      flag: "batch-size",
      placeholder: "n",
      parse: integer({ min: 1 }),
      default: defaults.batchSize,
      description: "rows per batch",
    },
    {
      flag: "accumulation",
      placeholder: "n",
      parse: integer({ min: 1 }),
      default: defaults.accumulation,
      description: "batches per optimizer step",
    },
    {
      flag: "learning-rate",
      placeholder: "lr",
      parse: decimal({ min: 0 }),
      default: defaults.learningRate,
      description: "peak learning rate (cosine to a tenth)",
    },
    {
      flag: "warmup",
      placeholder: "steps",
      parse: integer({ min: 0 }),
      default: 0,
      description: "linear warmup steps",
    },
    {
      flag: "max-steps",
      placeholder: "n",
      parse: integer({ min: 1 }),
      description: "stop after n optimizer steps (the schedule ends there)",
    },
    {
      flag: "minutes",
      placeholder: "m",
      parse: decimal({ min: 0.1 }),
      description: "train for about m minutes: the step count is measured up front (--max-steps wins)",
    },
    {
      flag: "eval",
      placeholder: "file",
      description: "held-out JSONL of the same kind, evaluated at the end (and every --eval-every steps)",
    },
    { flag: "eval-every", placeholder: "n", parse: integer({ min: 1 }), description: "evaluate every n steps" },
    {
      flag: "eval-rows",
      placeholder: "n",
      parse: integer({ min: 1 }),
      default: 256,
      description: "held-out rows evaluated",
    },
    {
      flag: "checkpoint-every",
      placeholder: "n",
      parse: integer({ min: 1 }),
      default: 100,
      description: "checkpoint every n steps (also at the end and on Ctrl-C)",
    },
    { flag: "keep-last", placeholder: "n", parse: integer({ min: 1 }), default: 2, description: "checkpoints kept" },
    {
      flag: "seed",
      placeholder: "n",
      parse: integer({ min: 0 }),
      default: 42,
      description: "seed of the initial weights, data order and augmentations",
    },
    {
      flag: "threads",
      placeholder: "n",
      parse: integer({ min: 1, max: 64 }),
      description: "matmul threads (default: every core)",
    },
  ];
  return specs;
}

/** Declares the data argument, the stage's flags, `--resume` and `--json`. */
export function configureStage(command: CommanderCommand, specs: readonly SettingSpec[], dataHelp: string): void {
  command.argument("<data>", dataHelp);
  declareSettings(command, specs);
  command
    .option("--resume [checkpoint]", "continue the latest checkpoint under --out (or the given checkpoint folder)")
    .option("--json", "print progress events and the summary as JSON lines on stdout");
}

/** Parses, trains, reports; returns the exit code. */
export async function runStageCommand(
  stage: StageName,
  data: string,
  options: Record<string, unknown>,
  specs: readonly SettingSpec[],
  io: CommandIo,
): Promise<number> {
  const values = resolveSettings(options, specs);
  if (typeof values.out !== "string") throw new UsageError("--out <dir> is required (the run folder)");
  if (stage !== "pretrain" && typeof values.from !== "string") {
    throw new UsageError(`--from <dir> is required: the model to fine-tune (e.g. the run folder of minimind pretrain)`);
  }
  const settings = {
    ...values,
    stage,
    data,
    mask: await trainingMask(typeof values.mask === "string" ? values.mask : "causal"),
    pack: options.pack !== false && values.noPack !== true,
    ...(options.resume === undefined ? {} : { resume: options.resume as boolean | string }),
    json: options.json === true,
  } as StageSettings;
  const outcome = await runStage(settings, io);
  reportStage(outcome, settings, io);
  return 0;
}
