import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer as PeerTokenizer } from "@huggingface/tokenizers";
import { describe, expect, it } from "vitest";
import { Tokenizer } from "./tokenizer.js";
import { BpeTrainer } from "./trainer.js";

// Alphabet ids when no special tokens come first: '!'..'~' are 0..93, so 'a' (97) is 64, 'd' 67, 'e' 68,
// 'i' 72, 'o' 78, 'r' 81, 's' 82; the 256 byte characters take ids 0..255 and merges start at 256.
function trainSmall(vocabularySize: number, minFrequency: number) {
  const trainer = new BpeTrainer({ vocabularySize, minFrequency, specialTokens: [] });
  for (const word of ["roses", "are", "are", "red", "is", "is"]) trainer.feed(word);
  const { tokenizerJson } = trainer.train();
  const model = tokenizerJson.model as { vocab: Record<string, number>; merges: string[][] };
  return { vocab: model.vocab, merges: model.merges };
}

describe("BpeTrainer", () => {
  it("merges the most frequent pair first, ties to the lowest pair ids, and stops at minFrequency", () => {
    // Pair counts: re 3, ar 2, is 2, ro os se es ed 1. After r+e: a+re 2 (ar drops to 0 and is skipped
    // when its stale entry surfaces), then (a,re)=(64,256) beats (i,s)=(72,82) on ids.
    const { vocab, merges } = trainSmall(1000, 2);
    expect(merges).toEqual([
      ["r", "e"],
      ["a", "re"],
      ["i", "s"],
    ]);
    expect(Object.keys(vocab)).toHaveLength(259);
    expect([vocab.re, vocab.are, vocab.is, vocab.a, vocab.s]).toEqual([256, 257, 258, 64, 82]);
  });

  it("continues with count-1 pairs in pair-id order until the vocabulary is full", () => {
    // After `is`: e+s (68,82) is the lowest live pair, then o+s, then r+os (r+o went stale), then re+d.
    const { vocab, merges } = trainSmall(263, 0);
    expect(merges).toEqual([
      ["r", "e"],
      ["a", "re"],
      ["i", "s"],
      ["e", "s"],
      ["o", "s"],
      ["r", "os"],
      ["re", "d"],
    ]);
    expect(Object.keys(vocab)).toHaveLength(263);
    expect(vocab.red).toBe(262);
  });

  it("puts special tokens first with fixed ids and writes MiniMind-style files", () => {
    const trainer = new BpeTrainer({ vocabularySize: 270 });
    trainer.feed("hello world, hello tokenizer");
    const { tokenizerJson, tokenizerConfig } = trainer.train();
    const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    expect(tokenizer.tokenToId("<|endoftext|>")).toBe(0);
    expect(tokenizer.tokenToId("<|im_start|>")).toBe(1);
    expect(tokenizer.tokenToId("<|im_end|>")).toBe(2);
    expect(tokenizer.tokenToId("!")).toBe(3);
    expect(tokenizer.vocabularySize).toBe(270);
    expect(tokenizerConfig).toMatchObject({
      bos_token: "<|im_start|>",
      eos_token: "<|im_end|>",
      pad_token: "<|endoftext|>",
    });
    expect(tokenizer.encode("<|im_start|>hello")[0]).toBe(1);
  });

  it("checks its options", () => {
    expect(() => new BpeTrainer({ vocabularySize: 0 })).toThrow(/vocabularySize must be an integer/);
    expect(() => new BpeTrainer({ vocabularySize: 300, minFrequency: -1 })).toThrow(/minFrequency/);
    expect(() => new BpeTrainer({ vocabularySize: 300, specialTokens: [""] })).toThrow(/specialTokens\[0\]/);
    const trainer = new BpeTrainer({ vocabularySize: 300, specialTokens: ["<pad>"], bosToken: "<s>" });
    expect(() => trainer.train()).toThrow(/bosToken "<s>" must be one of specialTokens/);
  });

  it("trains on a few MB of real text; the result round-trips and matches @huggingface/tokenizers on held-out text", async () => {
    const require = createRequire(import.meta.url);
    const songci = join(dirname(require.resolve("chinese-poetry/package.json")), "dist", "songci");
    const nlpBuilds = join(dirname(fileURLToPath(import.meta.resolve("nlp-corpus"))), "..", "..", "builds");
    const poems = (file: string): string[] =>
      (JSON.parse(readFileSync(join(songci, file), "utf8")) as Array<{ rhythmic: string; paragraphs: string[] }>).map(
        (poem) => `${poem.rhythmic}\n${poem.paragraphs.join("\n")}`,
      );
    const sentences = (document: number): string[] =>
      JSON.parse(readFileSync(join(nlpBuilds, `doc-${document}.json`), "utf8"));
    async function* corpus(): AsyncGenerator<string> {
      for (const thousand of [0, 1, 2, 3, 4, 5, 6, 7]) yield* poems(`ci.song.${thousand * 1000}.json`);
      for (let document = 0; document < 12; document++) yield* sentences(document);
    }
    let bytes = 0;
    const trainer = new BpeTrainer({ vocabularySize: 3000 });
    await trainer.feedAll(
      (async function* () {
        for await (const text of corpus()) {
          bytes += Buffer.byteLength(text);
          yield text;
        }
      })(),
    );
    expect(bytes).toBeGreaterThan(2.5e6);
    const trained = trainer.train();
    const ours = new Tokenizer(trained.tokenizerJson, trained.tokenizerConfig);
    const peer = new PeerTokenizer(trained.tokenizerJson, trained.tokenizerConfig);
    expect(ours.vocabularySize).toBe(3000);

    const heldOut = [...poems("ci.song.20000.json"), ...sentences(60), "<|im_start|>user\n混合 text 123<|im_end|>"];
    for (const text of heldOut) {
      const ids = ours.encode(text);
      expect(ids).toEqual(peer.encode(text, { add_special_tokens: false }).ids);
      expect(ours.decode(ids)).toBe(text);
    }
    // Deterministic: training again on the same counts gives the same files.
    expect(JSON.stringify(trainer.train())).toBe(JSON.stringify(trained));
  }, 120_000);
});

describe("saveTrainedTokenizer", () => {
  it("writes files that Tokenizer.fromPretrained loads", async () => {
    const { mkdtemp } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { saveTrainedTokenizer } = await import("./trainer.js");
    const trainer = new BpeTrainer({ vocabularySize: 262 });
    trainer.feed("abc abc abd");
    const directory = join(await mkdtemp(join(tmpdir(), "minimind-trained-")), "nested");
    await saveTrainedTokenizer(trainer.train(), directory);
    const loaded = await Tokenizer.fromPretrained(directory);
    expect(loaded.vocabularySize).toBe(262);
    expect(loaded.decode(loaded.encode("abc abd"))).toBe("abc abd");
  });
});
