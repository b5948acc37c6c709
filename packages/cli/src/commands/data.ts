/**
 * `minimind data`: builds pretraining `{"text"}` and SFT `{"conversations"}` JSONL, each with a held-out
 * file, from the shipped corpus or the user's own JSONL/text files, and a manifest.json saying what was
 * built and how. The work is done by data/build.ts (exported for reuse); this file parses flags, reads
 * inputs and writes files (each written to a temporary name and renamed, so a failed run leaves no
 * half-written file).
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CliCommand } from "../command.js";
import { UsageError } from "../command.js";
import { buildDatasets, toJsonl } from "../data/build.js";
import { QUESTION_KINDS, type QuestionKind } from "../data/questions.js";
import { type InputContents, loadShippedCorpus, readInputFile } from "../data/works.js";
import { describeFileError } from "../io.js";
import { listOf } from "../list-option.js";
import { fraction, integer } from "../options.js";
import { version } from "../version.js";

export const CORPUS_COLLECTIONS = ["tang", "song-ci", "shijing", "analects"] as const;

interface DataOptions {
  out: string;
  collections?: string[];
  kinds?: QuestionKind[];
  heldout: number;
  seed: string;
  maxWorks?: number;
  famous?: boolean;
  maxCharacters: number;
  keepHeldoutText?: boolean;
  json?: boolean;
}

/** The files `minimind data` writes, by role. */
export const DATA_FILES = {
  pretrain: "pretrain.jsonl",
  pretrainHeldOut: "pretrain-heldout.jsonl",
  sft: "sft.jsonl",
  sftHeldOut: "sft-heldout.jsonl",
  manifest: "manifest.json",
} as const;

function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, path);
  } catch (error) {
    throw new Error(`cannot write "${path}": ${describeFileError(error)}`);
  }
}

export const dataCommand: CliCommand = {
  name: "data",
  summary: "build pretraining and SFT JSONL (with a held-out split) from the shipped corpus or your files",
  configure(command) {
    command
      .argument("[files...]", "your own .jsonl or text files (.gz/.br too); default: the shipped corpus")
      .option("-o, --out <dir>", "output folder", "minimind-data")
      .option(
        "--collections <names>",
        `shipped corpus collections, comma-separated (${CORPUS_COLLECTIONS.join(", ")}; default all)`,
        listOf(CORPUS_COLLECTIONS),
      )
      .option("--kinds <names>", `question kinds (${QUESTION_KINDS.join(", ")}; default all)`, listOf(QUESTION_KINDS))
      .option("--heldout <share>", "share of works held out, in [0, 1)", fraction, 0.05)
      .option("--seed <text>", "split and sampling seed", "minimind")
      .option("--max-works <n>", "keep at most n works (a deterministic sample)", integer({ min: 1 }))
      .option("--famous", "keep only the works marked famous (the shipped corpus: 唐诗三百首 and 宋词三百首)")
      .option("--max-characters <n>", "cut pretraining texts longer than this at line ends", integer({ min: 16 }), 512)
      .option("--keep-heldout-text", "keep held-out works' text in pretraining (only their questions are held out)")
      .option("--json", "print the summary as JSON")
      .addHelpText(
        "after",
        `
Writes, into the output folder: ${Object.values(DATA_FILES).join(", ")}.
A work (poem, chapter, or block of your text) is held out when the SHA-256 of (seed, title, author) falls
below the share, so every question about it is on the same side: no work is in both.

Input files: .jsonl lines are {"title", "author", "lines": [...]} works (the shipped corpus format, which get
questions), {"text"} pretraining texts, or {"conversations": [...]} SFT samples (passed through); any other
file is plain text, one work per blank-line-separated block.

Question kinds (SFT): next-line 「床前看月光」的下一句是什么？→ 疑是地上霜; previous-line; author
《静夜思》的作者是谁？→ 李白; first-line 李白的《静夜思》第一句是什么？→ the first line.

Examples:
  minimind data                                   # the whole shipped corpus into ./minimind-data
  minimind data --collections tang --max-works 2000 --out small
  minimind data --collections tang --famous --kinds next-line --out famous   # 唐诗三百首's next lines
  minimind data my-poems.jsonl notes.txt --heldout 0.1 --out mine`,
      );
  },
  async run({ arguments: [files], options }, { io }) {
    const parsed = options as unknown as DataOptions;
    const inputs = files as string[];
    if (inputs.length > 0 && parsed.collections !== undefined) {
      throw new UsageError("--collections selects from the shipped corpus; it does not apply to input files");
    }
    const contents: InputContents = { works: [], texts: [], conversations: [] };
    if (inputs.length === 0) contents.works = loadShippedCorpus(parsed.collections);
    for (const file of inputs) {
      const read = readInputFile(file);
      contents.works.push(...read.works);
      contents.texts.push(...read.texts);
      contents.conversations.push(...read.conversations);
    }
    if (contents.works.length + contents.texts.length + contents.conversations.length === 0) {
      throw new Error(`no works, texts or conversations in ${inputs.join(", ")}`);
    }
    if (parsed.famous === true) {
      // Only works: the texts and conversations of input files carry no famous mark.
      contents.works = contents.works.filter((work) => work.famous === true);
      contents.texts = [];
      contents.conversations = [];
      if (contents.works.length === 0) {
        const where = inputs.length === 0 ? "the selected collections" : inputs.join(", ");
        throw new Error(`--famous: no work in ${where} is marked "famous": true`);
      }
    }

    const datasets = buildDatasets({
      works: contents.works,
      texts: contents.texts,
      conversations: contents.conversations,
      heldOutShare: parsed.heldout,
      seed: parsed.seed,
      ...(parsed.kinds === undefined ? {} : { kinds: parsed.kinds }),
      ...(parsed.maxWorks === undefined ? {} : { maxWorks: parsed.maxWorks }),
      maxCharacters: parsed.maxCharacters,
      keepHeldOutText: parsed.keepHeldoutText === true,
    });

    try {
      mkdirSync(parsed.out, { recursive: true });
    } catch (error) {
      throw new Error(`cannot create output folder "${parsed.out}": ${describeFileError(error)}`);
    }
    const paths = Object.fromEntries(
      Object.entries(DATA_FILES).map(([role, name]) => [role, join(parsed.out, name)]),
    ) as Record<keyof typeof DATA_FILES, string>;
    writeAtomically(paths.pretrain, toJsonl(datasets.pretrain.train));
    writeAtomically(paths.pretrainHeldOut, toJsonl(datasets.pretrain.heldOut));
    writeAtomically(paths.sft, toJsonl(datasets.sft.train));
    writeAtomically(paths.sftHeldOut, toJsonl(datasets.sft.heldOut));
    const manifest = {
      createdBy: `@minimind/cli ${version} (minimind data)`,
      inputs: inputs.length === 0 ? ["shipped corpus (data/corpus/poetry.jsonl.br)"] : inputs,
      collections: parsed.collections ?? null,
      kinds: parsed.kinds ?? QUESTION_KINDS,
      maxWorks: parsed.maxWorks ?? null,
      famous: parsed.famous === true,
      maxCharacters: parsed.maxCharacters,
      splitRule: "held out when sha256(seed, 'split', title, author) / 2^32 < heldOutShare (the text when untitled)",
      files: paths,
      ...datasets.summary,
    };
    writeAtomically(paths.manifest, `${JSON.stringify(manifest, null, 2)}\n`);

    if (parsed.json === true) {
      io.stdout(`${JSON.stringify(manifest)}\n`);
      return 0;
    }
    const { summary } = datasets;
    const number = (value: number) => value.toLocaleString("en-US");
    const rows = [
      ["pretrain", paths.pretrain, summary.pretrain.train],
      ["", paths.pretrainHeldOut, summary.pretrain.heldOut],
      ["sft", paths.sft, summary.sft.train],
      ["", paths.sftHeldOut, summary.sft.heldOut],
    ] as const;
    const width = Math.max(...rows.map(([, path]) => path.length));
    io.stdout(
      `${number(summary.works.train + summary.works.heldOut)} works: ${number(summary.works.train)} for training, ${number(summary.works.heldOut)} held out (${summary.heldOutShare})\n`,
    );
    for (const [label, path, count] of rows) {
      io.stdout(`  ${label.padEnd(8)} ${path.padEnd(width)}  ${number(count).padStart(9)} records\n`);
    }
    const kinds = Object.entries(summary.questionsByKind).map(
      ([kind, counts]) => `${kind} ${number(counts.train)}/${number(counts.heldOut)}`,
    );
    if (kinds.length > 0) io.stdout(`  questions (train/held out): ${kinds.join(", ")}\n`);
    io.stdout(`  manifest ${paths.manifest}\n`);
    return 0;
  },
};
