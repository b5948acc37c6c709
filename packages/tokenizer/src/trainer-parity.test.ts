/**
 * The trainer against Hugging Face's own Rust `BpeTrainer`, run through its Node binding
 * (`@anush008/tokenizers`, a build of huggingface/tokenizers). The binding only trains with the default
 * trainer settings (no special tokens, no initial alphabet, vocabulary 30,000), which our trainer offers as
 * `specialTokens: []` and `byteAlphabet: false`; the merge loop is the same code path as MiniMind's settings.
 * Skipped, with a note, where the binding has no build for the platform.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BpeTrainer } from "./trainer.js";

interface NativeBinding {
  Tokenizer: new (
    model: unknown,
  ) => { setPreTokenizer(p: unknown): void; train(files: string[]): void; save(path: string): void };
  BPE: { empty(): unknown };
  byteLevelPreTokenizer(addPrefixSpace: boolean, useRegex: boolean): unknown;
}

const require = createRequire(import.meta.url);
let native: NativeBinding | null = null;
try {
  native = require("@anush008/tokenizers") as NativeBinding;
} catch (error) {
  console.warn(`[trainer-parity] Hugging Face native binding unavailable here, skipping: ${(error as Error).message}`);
}

function corpusLines(): string[] {
  const songci = join(dirname(require.resolve("chinese-poetry/package.json")), "dist", "songci", "ci.song.0.json");
  const nlpBuilds = join(dirname(fileURLToPath(import.meta.resolve("nlp-corpus"))), "..", "..", "builds");
  const poems = JSON.parse(readFileSync(songci, "utf8")) as Array<{ rhythmic: string; paragraphs: string[] }>;
  const sentences = JSON.parse(readFileSync(join(nlpBuilds, "doc-0.json"), "utf8")) as string[];
  return [
    ...poems.flatMap((poem) => [poem.rhythmic, ...poem.paragraphs]).slice(0, 2000),
    ...sentences.slice(0, 1000),
  ].map((line) => line.replace(/\n/g, " "));
}

describe.runIf(native !== null)("BpeTrainer against the Hugging Face Rust trainer", () => {
  it("learns the same vocabulary and the same merges in the same order", () => {
    const binding = native as NativeBinding;
    const lines = corpusLines();
    const directory = mkdtempSync(join(tmpdir(), "minimind-trainer-parity-"));
    const corpusFile = join(directory, "corpus.txt");
    // The binding reads files line by line, each line with its newline.
    writeFileSync(corpusFile, lines.map((line) => `${line}\n`).join(""));
    const reference = new binding.Tokenizer(binding.BPE.empty());
    reference.setPreTokenizer(binding.byteLevelPreTokenizer(false, true));
    reference.train([corpusFile]);
    reference.save(join(directory, "reference.json"));
    const expected = JSON.parse(readFileSync(join(directory, "reference.json"), "utf8")).model as {
      vocab: Record<string, number>;
      merges: Array<string | string[]>;
    };

    const trainer = new BpeTrainer({ vocabularySize: 30000, specialTokens: [], byteAlphabet: false });
    for (const line of lines) trainer.feed(`${line}\n`);
    const actual = trainer.train().tokenizerJson.model as { vocab: Record<string, number>; merges: string[][] };

    const asPairs = (merges: Array<string | string[]>) =>
      merges.map((merge) => (Array.isArray(merge) ? merge.join(" ") : merge));
    expect(actual.merges.length).toBeGreaterThan(5000);
    expect(asPairs(actual.merges)).toEqual(asPairs(expected.merges));
    expect(actual.vocab).toEqual(expected.vocab);
  }, 120_000);
});
