/**
 * `minimind experiment masks`: the seed question (causal vs prefix-LM vs per-turn bidirectional masks for SFT)
 * measured. Builds the data from the shipped corpus (experiment-data.ts), runs @minimind/train's
 * `runMaskExperiment` and writes into a run folder: table.md (quality table, timing table, the exact command),
 * results.json (configuration, data summary, every run's scores), exact-match and answer-loss charts (SVG, and
 * PNG through the plot module's renderer), and command.txt. The defaults are sized for a 2-core machine; flags
 * scale every part. Not here: the arms and the loops (@minimind/train), the charts (experiment-plot.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@minimind/tokenizer";
import {
  MASK_EXPERIMENT_ARMS,
  type MaskExperimentArm,
  maskExperimentChatTable,
  maskExperimentTable,
  runMaskExperiment,
  summarizeMaskExperiment,
} from "@minimind/train";
import { InvalidArgumentError } from "commander";
import type { CliCommand } from "../command.js";
import { loadShippedCorpus } from "../data/works.js";
import { describeFileError } from "../io.js";
import { listOf } from "../list-option.js";
import { decimal, fraction, integer, parseInteger } from "../options.js";
import { svgToPng } from "../plot/line-chart.js";
import { version } from "../version.js";
import { CORPUS_COLLECTIONS } from "./data.js";
import { buildExperimentData } from "./experiment-data.js";
import { barChartSvg } from "./experiment-plot.js";

/** Every flag with its default: the default configuration, sized for ≤ 45 minutes on 2 cores. */
export const EXPERIMENT_DEFAULTS = {
  seeds: [1, 2, 3],
  // The seed question's six; add `continued` (the consistency arm's control) with --arms.
  arms: MASK_EXPERIMENT_ARMS.filter((arm) => arm !== "continued") as MaskExperimentArm[],
  collections: ["tang"] as string[],
  maxWorks: 3000,
  heldout: 0.1,
  splitSeed: "minimind",
  trainQuestions: 600,
  heldoutQuestions: 32,
  controlTrain: 200,
  controlHeldout: 32,
  controlLines: 6,
  chats: 2,
  hiddenSize: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  modelSeed: 0,
  maxSeqLen: 96,
  pretrainSteps: 120,
  pretrainBatchSize: 16,
  pretrainLr: 2e-3,
  consistencySteps: 30,
  sftEpochs: 1,
  sftBatchSize: 16,
  sftLr: 1e-3,
  memoryTokens: 4,
  chatNewTokens: 12,
};

type ExperimentFlags = typeof EXPERIMENT_DEFAULTS & { out?: string; json?: boolean };

function seedList(text: string): number[] {
  const seeds = text.split(",").map((part) => parseInteger(part.trim(), { min: 0 }));
  if (seeds.length === 0) throw new InvalidArgumentError("give one or more seeds, e.g. 1,2,3.");
  return [...new Set(seeds)];
}

/** The flags that reproduce a run exactly, in declaration order. */
function commandLine(flags: ExperimentFlags): string {
  const parts = ["minimind", "experiment", "masks"];
  for (const [name, value] of Object.entries(EXPERIMENT_DEFAULTS)) {
    const flag = `--${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
    const given = flags[name as keyof typeof EXPERIMENT_DEFAULTS] ?? value;
    parts.push(flag, Array.isArray(given) ? given.join(",") : String(given));
  }
  if (flags.out !== undefined) parts.push("--out", flags.out);
  return parts.join(" ");
}

function writeFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new Error(`cannot write "${path}": ${describeFileError(error)}`);
  }
}

export const experimentMasksCommand: CliCommand = {
  name: "masks",
  summary: "causal vs prefix-LM vs per-turn masks for SFT, measured (table, plots, raw JSON)",
  configure(command) {
    const d = EXPERIMENT_DEFAULTS;
    command
      .option("-o, --out <dir>", "run folder (default experiment-masks-<date>-<time>)")
      .option("--seeds <list>", "SFT seeds, comma-separated (≥ 3 for intervals)", seedList, d.seeds)
      .option("--arms <names>", `arms (${MASK_EXPERIMENT_ARMS.join(", ")})`, listOf(MASK_EXPERIMENT_ARMS), d.arms)
      .option("--collections <names>", "shipped corpus collections", listOf(CORPUS_COLLECTIONS), d.collections)
      .option("--max-works <n>", "works used (a deterministic sample)", integer({ min: 10 }), d.maxWorks)
      .option("--heldout <share>", "share of works held out", fraction, d.heldout)
      .option("--split-seed <text>", "split and sampling seed", d.splitSeed)
      .option("--train-questions <n>", "real-data QA conversations for SFT", integer({ min: 1 }), d.trainQuestions)
      .option("--heldout-questions <n>", "held-out QA scored", integer({ min: 1 }), d.heldoutQuestions)
      .option("--control-train <n>", "control-task conversations for SFT", integer({ min: 0 }), d.controlTrain)
      .option("--control-heldout <n>", "held-out control examples scored", integer({ min: 1 }), d.controlHeldout)
      .option("--control-lines <n>", "lines in a control prompt", integer({ min: 2 }), d.controlLines)
      .option("--chats <n>", "3-turn chats timed per arm and seed", integer({ min: 0 }), d.chats)
      .option("--hidden-size <n>", "model width", integer({ min: 8 }), d.hiddenSize)
      .option("--layers <n>", "transformer layers", integer({ min: 1 }), d.layers)
      .option("--heads <n>", "query heads", integer({ min: 1 }), d.heads)
      .option("--kv-heads <n>", "key/value heads", integer({ min: 1 }), d.kvHeads)
      .option("--model-seed <n>", "seed of the initial weights and of pretraining", integer({ min: 0 }), d.modelSeed)
      .option("--max-seq-len <n>", "longest row in tokens", integer({ min: 16 }), d.maxSeqLen)
      .option(
        "--pretrain-steps <n>",
        "causal pretraining steps (the shared checkpoint)",
        integer({ min: 1 }),
        d.pretrainSteps,
      )
      .option("--pretrain-batch-size <n>", "pretraining batch", integer({ min: 1 }), d.pretrainBatchSize)
      .option("--pretrain-lr <rate>", "pretraining learning rate", decimal({ min: 0 }), d.pretrainLr)
      .option(
        "--consistency-steps <n>",
        "continued-pretraining steps (consistency: hybrid mask; continued: causal)",
        integer({ min: 1 }),
        d.consistencySteps,
      )
      .option("--sft-epochs <n>", "SFT epochs", integer({ min: 1 }), d.sftEpochs)
      .option("--sft-batch-size <n>", "SFT batch", integer({ min: 1 }), d.sftBatchSize)
      .option("--sft-lr <rate>", "SFT learning rate", decimal({ min: 0 }), d.sftLr)
      .option("--memory-tokens <n>", "learned memory vectors of the memory arm", integer({ min: 1 }), d.memoryTokens)
      .option("--chat-new-tokens <n>", "tokens generated per timed chat turn", integer({ min: 1 }), d.chatNewTokens)
      .option("--json", "print results.json instead of the tables")
      .addHelpText(
        "after",
        `
From ONE causally pretrained model, SFT under each arm with the same data order and hyperparameters, for
every seed: causal (upstream), prefixLM (whole prompt bidirectional), segments (each prompt turn
bidirectional), consistency (hybrid-mask continued pretraining first, then prefixLM), mismatch (prefixLM's
weights served causally), memory (learned vectors before every sample, visible to all positions), and, with
--arms, continued (as many extra pretraining steps as consistency, causal: its control).
Scored on held-out works: real-data QA and a control task (which line holds a character named first);
3-turn chats are timed with cache reuse (causal, segments) and re-encoding (prefixLM).

The default configuration takes about 45 minutes on 2 busy cores. Scale up, e.g.:
  minimind experiment masks --hidden-size 128 --layers 4 --pretrain-steps 1000 --sft-epochs 3 --seeds 1,2,3,4,5`,
      );
  },
  async run({ options }, { io }) {
    const flags = { ...EXPERIMENT_DEFAULTS, ...(options as Partial<ExperimentFlags>) } as ExperimentFlags;
    const stamp = new Date().toISOString().replace(/[:T]/g, "-").replace(/\..*$/, "");
    const out = flags.out ?? `experiment-masks-${stamp}`;
    const command = commandLine({ ...flags, out });
    if (flags.arms.includes("mismatch") && !flags.arms.includes("prefixLM")) flags.arms.push("prefixLM");
    try {
      mkdirSync(out, { recursive: true });
    } catch (error) {
      throw new Error(`cannot create run folder "${out}": ${describeFileError(error)}`);
    }
    const log = (message: string) => {
      if (flags.json !== true) io.stderr(`${message}\n`);
    };
    log(command);
    const started = performance.now();
    const data = buildExperimentData({
      works: loadShippedCorpus(flags.collections),
      maxWorks: flags.maxWorks,
      heldOutShare: flags.heldout,
      seed: flags.splitSeed,
      trainQuestions: flags.trainQuestions,
      heldOutQuestions: flags.heldoutQuestions,
      controlTrain: flags.controlTrain,
      controlHeldOut: flags.controlHeldout,
      controlLines: flags.controlLines,
      chats: flags.chats,
    });
    if (data.summary.sharedWorks !== 0)
      throw new Error(`${data.summary.sharedWorks} works are on both sides of the split`);
    const result = await runMaskExperiment({
      tokenizer: Tokenizer.minimind(),
      data,
      arms: flags.arms,
      seeds: flags.seeds,
      model: { hiddenSize: flags.hiddenSize, layers: flags.layers, heads: flags.heads, keyValueHeads: flags.kvHeads },
      modelSeed: flags.modelSeed,
      maxSeqLen: flags.maxSeqLen,
      pretrainSteps: flags.pretrainSteps,
      pretrainBatchSize: flags.pretrainBatchSize,
      pretrainLearningRate: flags.pretrainLr,
      consistencySteps: flags.consistencySteps,
      sftEpochs: flags.sftEpochs,
      sftBatchSize: flags.sftBatchSize,
      sftLearningRate: flags.sftLr,
      memoryTokens: flags.memoryTokens,
      chatNewTokens: flags.chatNewTokens,
      onProgress: (message) => log(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${message}`),
    });
    const summary = summarizeMaskExperiment(result);
    const quality = maskExperimentTable(result);
    const chat = maskExperimentChatTable(result);
    const table = [
      `# Mask experiment (${new Date().toISOString().slice(0, 10)}, ${(result.seconds.total / 60).toFixed(1)} minutes)`,
      "",
      "```sh",
      command,
      "```",
      "",
      quality,
      "3-turn chats (wall time on this machine; not reproducible to the millisecond):",
      "",
      chat,
      "",
    ].join("\n");
    const raw = {
      createdBy: `@minimind/cli ${version} (minimind experiment masks)`,
      command,
      data: data.summary,
      summary,
      ...result,
    };
    writeFile(join(out, "table.md"), table);
    writeFile(join(out, "results.json"), `${JSON.stringify(raw, null, 2)}\n`);
    writeFile(join(out, "command.txt"), `${command}\n`);
    const charts = [
      ["exact-match", barChartSvg(summary, "exactMatch", "Exact match (held-out), mean ± 95 %")],
      ["answer-loss", barChartSvg(summary, "answerLoss", "Answer-token loss (nats), mean ± 95 %")],
    ] as const;
    for (const [name, svg] of charts) {
      writeFile(join(out, `${name}.svg`), svg);
      try {
        writeFileSync(join(out, `${name}.png`), await svgToPng(svg));
      } catch (error) {
        log(`no ${name}.png (the PNG renderer failed: ${(error as Error).message}); the SVG is written`);
      }
    }
    if (flags.json === true) {
      io.stdout(`${JSON.stringify(raw)}\n`);
      return 0;
    }
    io.stdout(
      `${table}\nWrote ${out}/table.md, results.json, exact-match.svg/.png, answer-loss.svg/.png, command.txt\n`,
    );
    return 0;
  },
};

export const experimentCommand: CliCommand = {
  name: "experiment",
  summary: "reproducible experiments (experiment masks: which attention mask for SFT)",
  subcommands: [experimentMasksCommand],
};
