/**
 * `minimind demo`: the whole pipeline on embedded defaults, in about ten minutes on two cores — a small
 * real-text dataset from the shipped corpus (the `data` builders, held-out split by work), MiniMind's
 * tokenizer, pretraining then SFT of a small model (each stage's step count measured to fit its share of
 * the time), then held-out questions answered beside the expected answers, and the run folder's path last.
 * `--minutes N` scales every share. Composes the same pieces as `data`, `pretrain`, `sft` and `eval`; it
 * adds no training code of its own.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { TextModel } from "@minimind/model";
import { setMatmulThreads } from "@minimind/tensor/internals";
import type { CliCommand } from "../command.js";
import { buildDatasets, toJsonl } from "../data/build.js";
import { loadShippedCorpus } from "../data/works.js";
import { answerQuestions, type Question, questionOf } from "../inference/answers.js";
import { describeFileError } from "../io.js";
import { decimal, integer } from "../options.js";
import { formatDuration } from "../terminal/progress.js";
import { reportStage, runStage, type StageSettings } from "../training/run.js";

interface DemoFlags {
  minutes: number;
  out?: string;
  questions: number;
  threads?: number;
}

/** Shares of the time budget: data and loading, pretraining, SFT, answers. */
const SHARES = { pretrain: 0.58, sft: 0.24 };

/** Works from the shipped corpus per minute of budget (Tang poems, the most regular verse). */
const WORKS_PER_MINUTE = 400;

const MODEL = { hiddenSize: 128, layers: 4, heads: 4, kvHeads: 2 };

function timestamp(): string {
  return new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
}

export const demoCommand: CliCommand = {
  name: "demo",
  summary: "build data, pretrain and SFT a small model, answer held-out questions — about 10 minutes on 2 cores",
  configure(command) {
    command
      .option("--minutes <m>", "the time budget; every stage scales with it", decimal({ min: 0.5 }), 10)
      .option("-o, --out <dir>", "run folder (default: ./minimind-demo-<date>-<time>)")
      .option("--questions <n>", "held-out questions answered at the end", integer({ min: 1, max: 200 }), 8)
      .option("--threads <n>", "matmul threads (default: every core)", integer({ min: 1, max: 64 }))
      .addHelpText(
        "after",
        `
Steps: data (Tang poems from the shipped corpus, 5 % of the works held out: their questions are never
trained on), pretraining of a ${MODEL.hiddenSize}-wide ${MODEL.layers}-layer model on the poems, SFT on questions about them
(next line, previous line, author, first line), then greedy answers to held-out questions beside the
expected ones and the held-out scores. The run folder keeps the data, both stages' checkpoints, metrics.jsonl,
loss curves (SVG, PNG) and the final model: chat with it by "minimind chat --model <run folder>".

Examples:
  minimind demo
  minimind demo --minutes 30 --out runs/demo`,
      );
  },
  async run({ options }, { io }) {
    const flags = options as unknown as DemoFlags;
    const started = performance.now();
    const out = resolve(flags.out ?? `minimind-demo-${timestamp()}`);
    if (flags.threads !== undefined) setMatmulThreads(flags.threads);
    const budget = flags.minutes * 60;
    const say = (text: string) => io.stdout(`${text}\n`);
    say(`minimind demo: ${flags.minutes} minutes, run folder ${out}`);

    // 1. Data: the data command's builders on a deterministic sample of the shipped corpus.
    const dataFolder = join(out, "data");
    try {
      mkdirSync(dataFolder, { recursive: true });
    } catch (error) {
      throw new Error(`cannot create the run folder "${out}": ${describeFileError(error)}`);
    }
    const datasets = buildDatasets({
      works: loadShippedCorpus(["tang"]),
      maxWorks: Math.round(WORKS_PER_MINUTE * flags.minutes),
      heldOutShare: 0.05,
      seed: "minimind",
      maxCharacters: 256,
      kinds: ["next-line", "previous-line", "author"],
    });
    const files = {
      pretrain: join(dataFolder, "pretrain.jsonl"),
      pretrainHeldOut: join(dataFolder, "pretrain-heldout.jsonl"),
      sft: join(dataFolder, "sft.jsonl"),
      sftHeldOut: join(dataFolder, "sft-heldout.jsonl"),
    };
    writeFileSync(files.pretrain, toJsonl(datasets.pretrain.train));
    writeFileSync(files.pretrainHeldOut, toJsonl(datasets.pretrain.heldOut));
    writeFileSync(files.sft, toJsonl(datasets.sft.train));
    writeFileSync(files.sftHeldOut, toJsonl(datasets.sft.heldOut));
    writeFileSync(join(dataFolder, "manifest.json"), `${JSON.stringify(datasets.summary, null, 2)}\n`);
    const { summary } = datasets;
    say(
      `data: ${summary.works.train} poems for training, ${summary.works.heldOut} held out; ${summary.sft.train} questions to learn from, ${summary.sft.heldOut} held out`,
    );

    // 2–3. Pretraining, then SFT from its model, each given its share of the time.
    const common = {
      ...MODEL,
      seed: 42,
      epochs: 100,
      accumulation: 1,
      keepLast: 1,
      evalRows: 64,
      evaluations: 4,
      checkpointEvery: 50,
      mask: "causal" as const,
      ...(flags.threads === undefined ? {} : { threads: flags.threads }),
    };
    const elapsed = () => (performance.now() - started) / 1000;
    const pretrainSettings: StageSettings = {
      ...common,
      stage: "pretrain",
      data: files.pretrain,
      eval: files.pretrainHeldOut,
      out: join(out, "pretrain"),
      maxSeqLen: 128,
      batchSize: 8,
      learningRate: 2e-3,
      warmup: 10,
      pack: true,
      minutes: Math.max(0.2, (budget * SHARES.pretrain - elapsed()) / 60),
    };
    reportStage(await runStage(pretrainSettings, io), pretrainSettings, io);
    const sftSettings: StageSettings = {
      ...common,
      stage: "sft",
      data: files.sft,
      eval: files.sftHeldOut,
      from: join(out, "pretrain"),
      out: join(out, "sft"),
      maxSeqLen: 64,
      batchSize: 16,
      learningRate: 1e-3,
      warmup: 5,
      // Answers are asked with thinking off, whose prompt ends in an empty <think></think>: train on that form.
      emptyThink: 1,
      minutes: Math.max(0.2, (budget * (SHARES.pretrain + SHARES.sft) - elapsed()) / 60),
    };
    reportStage(await runStage(sftSettings, io), sftSettings, io);

    // 4. Held-out questions, answered greedily beside the expected answers.
    const textModel = await TextModel.load(join(out, "sft", "model"));
    // Spread over the held-out works: every k-th question, not the first poem's lines one after another.
    const all = datasets.sft.heldOut.map(questionOf).filter((question) => question !== undefined);
    const stride = Math.max(1, Math.floor(all.length / flags.questions));
    const questions: Question[] = all.filter((_, index) => index % stride === 0).slice(0, flags.questions);
    say("\nheld-out questions (never trained on):");
    const answered = await answerQuestions(textModel, questions, {
      maxNewTokens: 24,
      onAnswer: (entry) => {
        const question = entry.messages.at(-1)?.content ?? "";
        const answer = entry.answer.replace(/\s+/g, " ");
        say(`${entry.match ? "✓" : "✗"} ${question}\n    expected ${entry.expected}\n    answered ${answer}`);
      },
    });
    textModel.dispose();
    const matches = answered.filter((entry) => entry.match).length;
    writeFileSync(join(out, "answers.json"), `${JSON.stringify(answered, null, 2)}\n`);
    say(`\n${matches}/${answered.length} exact matches; took ${formatDuration(elapsed() * 1000)}`);
    say(`chat with it: minimind chat --model ${out}`);
    say(`score it:     minimind eval ${files.sftHeldOut} --model ${out} --empty-think 1`);
    say(`run folder: ${out}`);
    return 0;
  },
};
