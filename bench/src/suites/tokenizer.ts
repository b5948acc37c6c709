/**
 * Tokenizer throughput: @minimind/tokenizer against @huggingface/tokenizers (tokenizers.js) loading the
 * same MiniMind tokenizer.json, on real text — Song-dynasty ci poems from `chinese-poetry` (simplified
 * Chinese) and English sentences from `nlp-corpus`. Reports MB/s (UTF-8 bytes) and tokens/s for encode and
 * decode, each the median of 7 timed runs after one warm-up run, for both libraries in the same process.
 * `encode` keeps each library's word cache across runs (steady state); `encode-cold` gives every run a
 * fresh instance, so nothing is cached. Not a correctness test: parity is checked once up front and the
 * suite refuses to time different outputs.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer as PeerTokenizer } from "@huggingface/tokenizers";
import { Tokenizer } from "@minimind/tokenizer";
import { type BenchResult, medianMs, type Suite } from "../suite.js";

const PEER = "@huggingface/tokenizers 0.2.0";
const RUNS = 7;

const require = createRequire(import.meta.url);

function packageDirectory(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

/** About 1 MB of simplified-Chinese ci poems: title, then one line per verse. */
function chinesePoetry(): string {
  const directory = join(packageDirectory("chinese-poetry"), "dist", "songci");
  const poems: string[] = [];
  for (const file of ["ci.song.0.json", "ci.song.1000.json", "ci.song.2000.json", "ci.song.3000.json"]) {
    const entries = JSON.parse(readFileSync(join(directory, file), "utf8")) as Array<{
      rhythmic: string;
      paragraphs: string[];
    }>;
    for (const entry of entries) poems.push(`${entry.rhythmic}\n${entry.paragraphs.join("\n")}`);
  }
  return poems.join("\n\n");
}

/** About 1 MB of English sentences (film reviews, UN documents, news). */
function englishSentences(): string {
  // nlp-corpus exports only its entry module; its data files sit two folders above it.
  const entry = fileURLToPath(import.meta.resolve("nlp-corpus"));
  const builds = join(dirname(entry), "..", "..", "builds");
  const sentences: string[] = [];
  for (let document = 0; document < 12; document++) {
    sentences.push(...(JSON.parse(readFileSync(join(builds, `doc-${document}.json`), "utf8")) as string[]));
  }
  return sentences.join("\n");
}

function minimindFiles(): { tokenizerJson: unknown; tokenizerConfig: unknown } {
  const directory = join(packageDirectory("@minimind/tokenizer"), "data");
  return {
    tokenizerJson: JSON.parse(readFileSync(join(directory, "tokenizer.json"), "utf8")),
    tokenizerConfig: JSON.parse(readFileSync(join(directory, "tokenizer_config.json"), "utf8")),
  };
}

function result(caseName: string, metric: string, unit: string, value: number, peerValue: number): BenchResult {
  return { suite: "tokenizer", case: caseName, metric, unit, value, peer: PEER, peerValue, ratio: value / peerValue };
}

export const tokenizerSuite: Suite = {
  name: "tokenizer",
  description: `MiniMind byte-level BPE encode/decode vs ${PEER}, median of ${RUNS} runs`,
  async *run({ log }) {
    const { tokenizerJson, tokenizerConfig } = minimindFiles();
    const ours = Tokenizer.minimind();
    const peer = new PeerTokenizer(tokenizerJson as object, tokenizerConfig as object);
    const corpora = [
      { name: "chinese-poetry songci", text: chinesePoetry() },
      { name: "nlp-corpus english", text: englishSentences() },
    ];
    for (const { name, text } of corpora) {
      const megabytes = Buffer.byteLength(text, "utf8") / 1e6;
      const ids = ours.encode(text);
      const peerIds = peer.encode(text, { add_special_tokens: false }).ids;
      if (ids.length !== peerIds.length || ids.some((id, index) => id !== peerIds[index])) {
        throw new Error(`[bench tokenizer] ${name}: our ids differ from ${PEER}; refusing to time different work`);
      }
      if (ours.decode(ids) !== text) throw new Error(`[bench tokenizer] ${name}: decode(encode(text)) !== text`);
      log(`${name}: ${megabytes.toFixed(2)} MB, ${ids.length} tokens`);

      const encodeMs = await medianMs(() => ours.encode(text), RUNS);
      const peerEncodeMs = await medianMs(() => peer.encode(text, { add_special_tokens: false }), RUNS);
      yield result(name, "encode", "MB/s", megabytes / (encodeMs / 1000), megabytes / (peerEncodeMs / 1000));
      yield result(name, "encode", "tokens/s", ids.length / (encodeMs / 1000), ids.length / (peerEncodeMs / 1000));

      // One fresh instance per call (the warm-up included), built before timing.
      const freshOurs = Array.from({ length: RUNS + 1 }, () => Tokenizer.minimind());
      const freshPeers = Array.from(
        { length: RUNS + 1 },
        () => new PeerTokenizer(tokenizerJson as object, tokenizerConfig as object),
      );
      let nextOurs = 0;
      let nextPeer = 0;
      const coldMs = await medianMs(() => (freshOurs[nextOurs++] as Tokenizer).encode(text), RUNS);
      const peerColdMs = await medianMs(
        () => (freshPeers[nextPeer++] as PeerTokenizer).encode(text, { add_special_tokens: false }),
        RUNS,
      );
      freshOurs.length = 0;
      freshPeers.length = 0;
      yield result(name, "encode-cold", "MB/s", megabytes / (coldMs / 1000), megabytes / (peerColdMs / 1000));

      const decodeMs = await medianMs(() => ours.decode(ids), RUNS);
      const peerDecodeMs = await medianMs(() => peer.decode(peerIds), RUNS);
      yield result(name, "decode", "MB/s", megabytes / (decodeMs / 1000), megabytes / (peerDecodeMs / 1000));
      yield result(name, "decode", "tokens/s", ids.length / (decodeMs / 1000), ids.length / (peerDecodeMs / 1000));
    }
  },
};
