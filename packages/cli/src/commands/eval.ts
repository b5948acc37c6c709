/**
 * `minimind eval <file.jsonl> --model <dir>`: held-out scores of a model. On pretraining `{"text"}` JSONL:
 * loss, perplexity and bits per byte. On SFT `{"conversations"}` JSONL: the answer-token loss (loss on the
 * assistant's tokens only, with its perplexity and bits per byte) and answer exact-match of greedy answers,
 * with a few questions printed beside the expected answers. A thin layer over @minimind/train's `evaluate`
 * and inference/answers.ts.
 */
import type { PromptMask, WeightFormat } from "@minimind/model";
import { setMatmulThreads } from "@minimind/tensor/internals";
import { type Batch, batchAttention, evaluate, PretrainDataset, SFTDataset } from "@minimind/train";
import { InvalidArgumentError } from "commander";
import type { CliCommand } from "../command.js";
import { answerQuestions, type Question, questionOf } from "../inference/answers.js";
import { loadModel, WEIGHTS_HELP, weightFormat } from "../inference/model-loading.js";
import { readLines } from "../io.js";
import { integer } from "../options.js";
import { trainingMask } from "../training/batch-mask.js";

interface EvalFlags {
  model?: string;
  mask: PromptMask & string;
  maxSeqLen: number;
  batchSize: number;
  maxRows?: number;
  questions: number;
  show: number;
  maxNewTokens: number;
  threads?: number;
  weights?: WeightFormat;
  emptyThink: 0 | 1;
  json?: boolean;
}

function promptMask(text: string): PromptMask & string {
  if (text === "causal" || text === "prefix" || text === "segments") return text;
  throw new InvalidArgumentError(`"${text}" is not one of causal, prefix, segments.`);
}

/** "text" or "sft", from the first record of the file. */
async function recordKind(file: string): Promise<"text" | "sft"> {
  for await (const { line, number } of readLines(file, "evaluation file")) {
    if (line.trim() === "") continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new Error(`${file}:${number}: not JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    if (typeof record === "object" && record !== null && "conversations" in record) return "sft";
    if (typeof record === "object" && record !== null && "text" in record) return "text";
    throw new Error(`${file}:${number}: expected {"text": …} or {"conversations": [...]} records`);
  }
  throw new Error(`${file}: no records`);
}

export const evalCommand: CliCommand = {
  name: "eval",
  summary: "held-out loss, perplexity, bits per byte; answer exact-match on SFT question files",
  configure(command) {
    command
      .argument("<file>", 'held-out JSONL: {"text"} (pretrain-heldout.jsonl) or {"conversations"} (sft-heldout.jsonl)')
      .option("-m, --model <dir>", "model folder, or the run folder of pretrain/sft/demo (default: the shipped model)")
      .option(
        "--mask <strategy>",
        "attention of the prompt: causal, prefix or segments (as trained)",
        promptMask,
        "causal",
      )
      .option("--max-seq-len <n>", "longest row in tokens", integer({ min: 8 }), 512)
      .option("--batch-size <n>", "rows per forward pass", integer({ min: 1 }), 8)
      .option("--max-rows <n>", "evaluate the loss on the first n rows only", integer({ min: 1 }))
      .option(
        "--questions <n>",
        "SFT files: answer the first n questions for exact-match (0: none)",
        integer({ min: 0 }),
        200,
      )
      .option("--show <n>", "print n answered questions beside the expected answers", integer({ min: 0 }), 5)
      .option("--max-new-tokens <n>", "longest answer in tokens", integer({ min: 1 }), 32)
      .option("--threads <n>", "matmul threads (default: every core)", integer({ min: 1, max: 64 }))
      .option("--weights <format>", WEIGHTS_HELP, weightFormat)
      .option(
        "--empty-think <0|1>",
        "SFT files: 1 keeps the template's empty <think></think> block in the scored rows (for models trained with --empty-think 1, as the demo's)",
        integer({ min: 0, max: 1 }),
        0,
      )
      .option("--json", "print the scores as one JSON object")
      .addHelpText(
        "after",
        `
Answers are greedy; an answer matches when it equals the expected one after trimming spaces and end
punctuation. The answer-token loss is the mean cross-entropy over the assistant's tokens only, as SFT trains.

Examples:
  minimind eval minimind-data/pretrain-heldout.jsonl --model runs/demo/pretrain
  minimind eval minimind-data/sft-heldout.jsonl --model runs/demo --questions 100 --show 10`,
      );
  },
  async run({ arguments: [file], options }, { io }) {
    const flags = options as unknown as EvalFlags;
    const path = file as string;
    const kind = await recordKind(path);
    if (flags.threads !== undefined) setMatmulThreads(flags.threads);
    const { textModel, folder } = await loadModel(flags.model, undefined, flags.weights);
    const { tokenizer, model } = textModel;
    const dataset =
      kind === "text"
        ? await PretrainDataset.fromFile(path, { tokenizer, maxSeqLen: flags.maxSeqLen })
        : await SFTDataset.fromFile(path, {
            tokenizer,
            maxSeqLen: flags.maxSeqLen,
            addSystemRatio: 0,
            emptyThinkRatio: flags.emptyThink,
          });
    const mask = await trainingMask(flags.mask);
    const attention = typeof mask === "function" ? mask : (batch: Batch) => batchAttention(batch, mask);
    const scores = evaluate(model, dataset, {
      tokenizer,
      attention,
      batchSize: flags.batchSize,
      ...(flags.maxRows === undefined ? {} : { maxRows: flags.maxRows }),
    });
    const report: Record<string, unknown> = {
      file: path,
      model: folder,
      kind,
      rows: scores.rows,
      [kind === "text" ? "loss" : "answerTokenLoss"]: scores.loss,
      perplexity: scores.perplexity,
      bitsPerByte: scores.bitsPerByte ?? null,
      targets: scores.targets,
    };
    if (kind === "sft" && flags.questions > 0) {
      const questions: Question[] = [];
      for (let index = 0; index < dataset.length && questions.length < flags.questions; index++) {
        const question = questionOf(dataset.records.read(index));
        if (question !== undefined) questions.push(question);
      }
      const answered = await answerQuestions(textModel, questions, {
        maxNewTokens: flags.maxNewTokens,
        mask: flags.mask,
      });
      const matches = answered.filter((entry) => entry.match).length;
      report.questions = answered.length;
      report.exactMatch = answered.length === 0 ? null : matches / answered.length;
      report.matches = matches;
      report.answers = answered.map((entry) => ({
        question: entry.messages.at(-1)?.content ?? "",
        expected: entry.expected,
        answer: entry.answer,
        match: entry.match,
      }));
      if (flags.json !== true) {
        for (const entry of answered.slice(0, flags.show)) {
          const question = entry.messages.at(-1)?.content ?? "";
          io.stdout(
            `${entry.match ? "✓" : "✗"} ${question}\n    expected ${entry.expected}\n    answered ${entry.answer.replace(/\s+/g, " ")}\n`,
          );
        }
      }
    }
    textModel.dispose();
    if (flags.json === true) {
      io.stdout(`${JSON.stringify(report)}\n`);
      return 0;
    }
    const lossName = kind === "text" ? "loss" : "answer-token loss";
    io.stdout(
      `${path}: ${scores.rows} rows, ${scores.targets} target tokens; ${lossName} ${scores.loss.toFixed(4)}, perplexity ${scores.perplexity.toFixed(2)}` +
        (scores.bitsPerByte === undefined ? "" : `, ${scores.bitsPerByte.toFixed(4)} bits per byte`) +
        "\n",
    );
    if (report.exactMatch !== undefined) {
      io.stdout(
        `answer exact-match ${report.matches}/${report.questions} (${((report.exactMatch as number) * 100).toFixed(1)}%)\n`,
      );
    }
    return 0;
  },
};
