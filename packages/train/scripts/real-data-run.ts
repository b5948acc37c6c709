/**
 * The real-data run of the README: pretraining then SFT of a small MiniMind on classical Chinese poetry
 * from the `chinese-poetry` npm package (MIT licence; 全唐诗, the Complete Tang Poems). Builds the corpus
 * (a few MB of JSONL), pretrains with packing and checkpoints, evaluates held-out loss / perplexity / bits per
 * byte, then fine-tunes on question–answer pairs made from the poems ("next line of X?", "author of Y?")
 * and reports held-out SFT loss before and after. Rerunning resumes from the latest checkpoints.
 * Usage: tsx scripts/real-data-run.ts <output folder> [--megabytes 3] [--pretrain-minutes 14] [--sft-minutes 5]
 *   [--threads 1]
 * Not a test; not part of the package build.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { countParameters, createMiniMindConfig, MiniMindForCausalLM } from "@minimind/model";
import { setMatmulThreads } from "@minimind/tensor/internals";
import { Tokenizer } from "@minimind/tokenizer";
import { evaluate } from "../src/evaluate.js";
import { PackedDataset } from "../src/packing.js";
import { PretrainDataset } from "../src/pretrain-dataset.js";
import { SFTDataset } from "../src/sft-dataset.js";
import { pretrain, sft, type TrainEvent } from "../src/trainer.js";

interface Poem {
  author: string;
  title: string;
  paragraphs: string[];
}

const argumentsList = process.argv.slice(2);
const output = argumentsList[0] ?? "real-data-run";
const flag = (name: string, fallback: number) => {
  const index = argumentsList.indexOf(`--${name}`);
  return index >= 0 ? Number(argumentsList[index + 1]) : fallback;
};
const megabytes = flag("megabytes", 3);
const pretrainMinutes = flag("pretrain-minutes", 14);
const sftMinutes = flag("sft-minutes", 5);
// One core by default, as the README's run; also sidesteps the matmul worker pool (which twice hung a run
// here when the machine was heavily oversubscribed: every thread parked in a futex wait).
setMatmulThreads(flag("threads", 1));
mkdirSync(output, { recursive: true });

function log(message: string): void {
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Poems from 全唐诗 in file order until `megabytes` of text. */
function loadPoems(): Poem[] {
  const require = createRequire(import.meta.url);
  const folder = join(dirname(require.resolve("chinese-poetry/package.json")), "dist", "quantangshi");
  const files = readdirSync(folder)
    .filter((name) => /^poet\.tang\.\d+\.json$/.test(name))
    .sort((a, b) => Number(a.split(".")[2]) - Number(b.split(".")[2]));
  const poems: Poem[] = [];
  let bytes = 0;
  for (const file of files) {
    for (const poem of JSON.parse(readFileSync(join(folder, file), "utf8")) as Poem[]) {
      if (poem.paragraphs.length === 0) continue;
      poems.push(poem);
      bytes += Buffer.byteLength(poem.title + poem.paragraphs.join(""));
      if (bytes >= megabytes * 1e6) return poems;
    }
  }
  return poems;
}

function writeJsonLines(file: string, records: readonly unknown[]): void {
  writeFileSync(file, `${records.map((record) => JSON.stringify(record)).join("\n")}\n`);
}

/** QA pairs from one poem: the next line of each line, and the author of the title. */
function questions(poem: Poem): { conversations: { role: string; content: string }[] }[] {
  const lines = poem.paragraphs.flatMap((paragraph) => paragraph.split(/(?<=[。！？；])/)).filter(Boolean);
  const pairs = [];
  for (const line of lines) {
    const halves = line.split("，");
    if (halves.length === 2 && halves[0] && halves[1]) {
      pairs.push({
        conversations: [
          { role: "user", content: `「${halves[0]}」的下一句是什么？` },
          { role: "assistant", content: `${halves[1]}` },
        ],
      });
    }
  }
  pairs.push({
    conversations: [
      { role: "user", content: `《${poem.title}》的作者是谁？` },
      { role: "assistant", content: poem.author },
    ],
  });
  return pairs;
}

function progress(stage: string, every: number) {
  return (event: TrainEvent) => {
    if (event.type === "step" && event.step % every === 0) {
      log(
        `${stage} step ${event.step}/${event.totalSteps} loss ${event.loss.toFixed(4)} lr ${event.learningRate.toExponential(2)} |g| ${event.gradientNorm.toFixed(3)} ${event.tokensPerSecond.toFixed(0)} tok/s`,
      );
    } else if (event.type === "evaluation") {
      log(
        `${stage} eval @${event.step}: loss ${event.loss.toFixed(4)} ppl ${event.perplexity.toFixed(1)} bpb ${event.bitsPerByte?.toFixed(4)}`,
      );
    } else if (event.type === "checkpoint") {
      log(`${stage} checkpoint ${event.directory} (${event.reason})`);
    } else if (event.type === "start") {
      log(
        `${stage} start at step ${event.step} of ${event.totalSteps}${event.resumedFrom ? ` (resumed from ${event.resumedFrom})` : ""}`,
      );
    }
  };
}

async function main(): Promise<void> {
  const tokenizer = Tokenizer.minimind();
  const pretrainFile = join(output, "pretrain.jsonl");
  const heldOutFile = join(output, "pretrain-held-out.jsonl");
  const sftFile = join(output, "sft.jsonl");
  const sftHeldOutFile = join(output, "sft-held-out.jsonl");
  if (!existsSync(sftHeldOutFile)) {
    const poems = loadPoems();
    const texts = poems.map((poem) => ({ text: `${poem.title}\n${poem.paragraphs.join("\n")}` }));
    // Every 50th poem is held out of pretraining; its QA pairs are the held-out SFT set.
    writeJsonLines(
      pretrainFile,
      texts.filter((_, index) => index % 50 !== 0),
    );
    writeJsonLines(
      heldOutFile,
      texts.filter((_, index) => index % 50 === 0),
    );
    writeJsonLines(sftFile, poems.filter((_, index) => index % 50 !== 0).flatMap(questions));
    writeJsonLines(
      sftHeldOutFile,
      poems
        .filter((_, index) => index % 50 === 0)
        .flatMap(questions)
        .slice(0, 400),
    );
    log(
      `corpus: ${poems.length} poems, ${(texts.reduce((sum, text) => sum + Buffer.byteLength(text.text), 0) / 1e6).toFixed(2)} MB`,
    );
  }
  const maxSeqLen = 128;
  const config = createMiniMindConfig({
    hidden_size: 128,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 1024,
  });
  log(`model: ${(countParameters(config) / 1e6).toFixed(2)}M parameters`);
  const model = new MiniMindForCausalLM(config, { seed: 42 });
  const documents = await PretrainDataset.fromFile(pretrainFile, { tokenizer, maxSeqLen, onBadLine: "skip" });
  const packed = new PackedDataset(documents, { maxSeqLen });
  const heldOut = await PretrainDataset.fromFile(heldOutFile, { tokenizer, maxSeqLen });
  const heldOutRows = 256;
  const before = evaluate(model, heldOut, { tokenizer, maxRows: heldOutRows, batchSize: 16 });
  log(`pretrain held-out before: loss ${before.loss.toFixed(4)} (ln 6400 = ${Math.log(6400).toFixed(4)})`);
  // A step budget from the time budget (about 1.2 s a step at batch 8 × 128 on this machine) rather than a
  // clock, so the run is reproducible and resumable.
  const batchSize = 8;
  const pretrainSteps = Math.max(1, Math.round((pretrainMinutes * 60) / 1.2));
  const pretrainResult = await pretrain({
    model,
    dataset: packed,
    epochs: 1,
    batchSize,
    accumulationSteps: 1,
    learningRate: 2e-3,
    warmupSteps: 20,
    maxSteps: pretrainSteps,
    outputDirectory: join(output, "pretrain"),
    checkpointEvery: 100,
    keepLast: 2,
    resume: "latest",
    evaluation: { dataset: heldOut, every: 100, maxRows: heldOutRows, batchSize: 16, tokenizer },
    onEvent: progress("pretrain", 20),
  });
  log(`pretrain stopped: ${pretrainResult.stoppedBy} at step ${pretrainResult.step}`);
  if (pretrainResult.stoppedBy === "signal") return;
  await model.savePretrained(join(output, "pretrained-model"));

  const sftDataset = await SFTDataset.fromFile(sftFile, { tokenizer, maxSeqLen: 64 });
  const sftHeldOut = await SFTDataset.fromFile(sftHeldOutFile, {
    tokenizer,
    maxSeqLen: 64,
    addSystemRatio: 0,
    emptyThinkRatio: 0,
  });
  const sftBefore = evaluate(model, sftHeldOut, { tokenizer, batchSize: 16 });
  log(`sft held-out before: loss ${sftBefore.loss.toFixed(4)}`);
  const sftSteps = Math.max(1, Math.round((sftMinutes * 60) / 0.5));
  const sftResult = await sft({
    model,
    dataset: sftDataset,
    epochs: 1,
    batchSize: 16,
    learningRate: 5e-4,
    maxSteps: sftSteps,
    outputDirectory: join(output, "sft"),
    checkpointEvery: 100,
    keepLast: 2,
    resume: "latest",
    evaluation: { dataset: sftHeldOut, every: 50, batchSize: 16, tokenizer },
    onEvent: progress("sft", 20),
  });
  log(`sft stopped: ${sftResult.stoppedBy} at step ${sftResult.step}`);
  try {
    for (const question of ["「床前明月光」的下一句是什么？", "「白日依山尽」的下一句是什么？"]) {
      const prompt = tokenizer.applyChatTemplate([{ role: "user", content: question }], {
        tokenize: true,
        addGenerationPrompt: true,
      });
      const answer = await model.generate([prompt], { maxNewTokens: 16 });
      log(`sample: ${question} → ${tokenizer.decode(answer[0] as number[], { skipSpecialTokens: true })}`);
    }
  } catch (error) {
    log(`sample generation failed: ${(error as Error).message}`);
  }
  writeFileSync(
    join(output, "summary.json"),
    `${JSON.stringify({ pretrainBefore: before, pretrain: pretrainResult, sftBefore, sft: sftResult }, null, 2)}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
