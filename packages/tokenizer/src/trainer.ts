/**
 * Byte-level BPE training equivalent to MiniMind's `train_tokenizer.py`, which runs Hugging Face's
 * `BpeTrainer` with the ByteLevel pre-tokenizer (no prefix space), the 256-character byte alphabet and
 * special tokens first. The algorithm follows the Hugging Face trainer step by step — special tokens, then
 * the alphabet sorted by code point, then merges popped from a queue ordered by count (highest first) and
 * pair ids (lowest first), with lazily refreshed stale counts — so the same corpus gives the same vocabulary.
 * Text is streamed: only the word counts are kept. Deterministic. Not parallel, and without the trainer
 * options MiniMind does not use (limit_alphabet, subword prefixes/suffixes, max_token_length).
 */
import { BYTE_TO_CHAR } from "./byte-level.js";
import { minimindTokenizerConfig } from "./minimind.js";
import { nodeBuiltin } from "./node-builtin.js";
import { splitGpt2 } from "./pre-tokenizer.js";

export interface BpeTrainerOptions {
  /** Final vocabulary size, special tokens and the 256 byte characters included (MiniMind: 6400). */
  vocabularySize: number;
  /** Tokens given ids 0, 1, … in this order. Default MiniMind's `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`. */
  specialTokens?: readonly string[];
  /** A pair seen fewer times than this is never merged. Default 0, as in Hugging Face. */
  minFrequency?: number;
  /**
   * Start from all 256 byte characters (default, MiniMind's `initial_alphabet=ByteLevel.alphabet()`), or
   * only from the bytes the corpus contains (false, Hugging Face's default without an initial alphabet).
   */
  byteAlphabet?: boolean;
  /** Chat template for tokenizer_config.json. Default: MiniMind's. */
  chatTemplate?: string | null;
  /** tokenizer_config.json token roles; each must be one of `specialTokens`. Defaults follow MiniMind. */
  bosToken?: string | null;
  eosToken?: string | null;
  padToken?: string | null;
  unknownToken?: string | null;
}

/** The two files a trained tokenizer is made of, as JSON values ready for `new Tokenizer(…)` or saving. */
export interface TrainedTokenizer {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

const MINIMIND_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/** Pair ids packed into one number: `left * PAIR_SHIFT + right` (exact in a double). */
const PAIR_SHIFT = 2 ** 21;

interface QueueEntry {
  pair: number;
  count: number;
  positions: Set<number>;
}

/** Heap order: higher count first; on equal counts the smaller pair (left id, then right id) first. */
function before(a: QueueEntry, b: QueueEntry): boolean {
  return a.count !== b.count ? a.count > b.count : a.pair < b.pair;
}

class MergeQueue {
  private readonly entries: QueueEntry[] = [];

  get size(): number {
    return this.entries.length;
  }

  push(entry: QueueEntry): void {
    const entries = this.entries;
    entries.push(entry);
    let child = entries.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!before(entries[child] as QueueEntry, entries[parent] as QueueEntry)) break;
      [entries[child], entries[parent]] = [entries[parent] as QueueEntry, entries[child] as QueueEntry];
      child = parent;
    }
  }

  pop(): QueueEntry {
    const entries = this.entries;
    const top = entries[0] as QueueEntry;
    const last = entries.pop() as QueueEntry;
    if (entries.length > 0) {
      entries[0] = last;
      let parent = 0;
      for (;;) {
        const left = parent * 2 + 1;
        if (left >= entries.length) break;
        const right = left + 1;
        const first =
          right < entries.length && before(entries[right] as QueueEntry, entries[left] as QueueEntry) ? right : left;
        if (!before(entries[first] as QueueEntry, entries[parent] as QueueEntry)) break;
        [entries[first], entries[parent]] = [entries[parent] as QueueEntry, entries[first] as QueueEntry];
        parent = first;
      }
    }
    return top;
  }
}

/**
 * Streaming BPE trainer: `feed` texts (any number, any size), then `train()`.
 *
 * ```ts
 * const trainer = new BpeTrainer({ vocabularySize: 6400 });
 * for await (const line of lines) trainer.feed(JSON.parse(line).text);
 * const { tokenizerJson, tokenizerConfig } = trainer.train();
 * const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
 * ```
 */
export class BpeTrainer {
  private readonly wordCounts = new Map<string, number>();
  private readonly options: Required<Pick<BpeTrainerOptions, "vocabularySize" | "minFrequency">> & {
    specialTokens: readonly string[];
  };
  private readonly settings: BpeTrainerOptions;

  constructor(options: BpeTrainerOptions) {
    const { vocabularySize } = options;
    const specialTokens = options.specialTokens ?? MINIMIND_SPECIAL_TOKENS;
    if (!Number.isInteger(vocabularySize) || vocabularySize < 1 || vocabularySize >= PAIR_SHIFT) {
      throw new RangeError(
        `[tokenizer] BpeTrainer: vocabularySize must be an integer from 1 to ${PAIR_SHIFT - 1}, got ${vocabularySize}`,
      );
    }
    const minFrequency = options.minFrequency ?? 0;
    if (!Number.isInteger(minFrequency) || minFrequency < 0) {
      throw new RangeError(`[tokenizer] BpeTrainer: minFrequency must be a non-negative integer, got ${minFrequency}`);
    }
    specialTokens.forEach((token, index) => {
      if (typeof token !== "string" || token === "") {
        throw new TypeError(`[tokenizer] BpeTrainer: specialTokens[${index}] must be a non-empty string`);
      }
    });
    this.options = { vocabularySize, minFrequency, specialTokens };
    this.settings = options;
  }

  /** Counts the words of one text (GPT-2 split, as the ByteLevel pre-tokenizer without prefix space). */
  feed(text: string): void {
    if (typeof text !== "string")
      throw new TypeError(`[tokenizer] BpeTrainer.feed: expected a string, got ${typeof text}`);
    const counts = this.wordCounts;
    splitGpt2(text, 0, text.length, (start, end) => {
      const word = text.slice(start, end);
      counts.set(word, (counts.get(word) ?? 0) + 1);
    });
  }

  /** Feeds every text of a (possibly asynchronous) stream. */
  async feedAll(texts: Iterable<string> | AsyncIterable<string>): Promise<void> {
    for await (const text of texts) this.feed(text);
  }

  /** Number of distinct words seen so far. */
  get distinctWords(): number {
    return this.wordCounts.size;
  }

  /** Learns the merges and returns tokenizer.json and tokenizer_config.json. The trainer can keep feeding. */
  train(): TrainedTokenizer {
    const { vocabularySize, minFrequency, specialTokens } = this.options;
    const tokenToId = new Map<string, number>();
    const idToToken: string[] = [];
    const add = (token: string): number => {
      let id = tokenToId.get(token);
      if (id === undefined) {
        id = idToToken.length;
        idToToken.push(token);
        tokenToId.set(token, id);
      }
      return id;
    };
    // 1. Special tokens, 2. the byte alphabet sorted by code point (every byte: the initial alphabet).
    for (const token of specialTokens) add(token);
    const encoder = new TextEncoder();
    const wordBytes: Uint8Array[] = [];
    const counts: number[] = [];
    const seen = new Uint8Array(256).fill(this.settings.byteAlphabet === false ? 0 : 1);
    for (const [word, count] of this.wordCounts) {
      const bytes = encoder.encode(word);
      for (const byte of bytes) seen[byte] = 1;
      wordBytes.push(bytes);
      counts.push(count);
    }
    const alphabet = BYTE_TO_CHAR.filter((_character, byte) => seen[byte] === 1).sort(
      (a, b) => (a.codePointAt(0) as number) - (b.codePointAt(0) as number),
    );
    for (const character of alphabet) add(character);
    const byteToId = new Int32Array(256);
    for (let byte = 0; byte < 256; byte++) byteToId[byte] = tokenToId.get(BYTE_TO_CHAR[byte] as string) ?? -1;

    // 3. Words as symbol ids.
    const words = wordBytes.map((bytes) => Array.from(bytes, (byte) => byteToId[byte] as number));

    // 4. Pair counts and where each pair occurs.
    const pairCounts = new Map<number, number>();
    let whereToUpdate = new Map<number, Set<number>>();
    words.forEach((symbols, wordIndex) => {
      for (let index = 0; index + 1 < symbols.length; index++) {
        const pair = (symbols[index] as number) * PAIR_SHIFT + (symbols[index + 1] as number);
        pairCounts.set(pair, (pairCounts.get(pair) ?? 0) + (counts[wordIndex] as number));
        let positions = whereToUpdate.get(pair);
        if (positions === undefined) {
          positions = new Set();
          whereToUpdate.set(pair, positions);
        }
        positions.add(wordIndex);
      }
    });
    const queue = new MergeQueue();
    const flush = () => {
      for (const [pair, positions] of whereToUpdate) {
        const count = pairCounts.get(pair) as number;
        if (count > 0) queue.push({ pair, count, positions });
      }
      whereToUpdate = new Map();
    };
    flush();

    // 5. Merges.
    const merges: Array<{ left: number; right: number }> = [];
    while (tokenToId.size < vocabularySize && queue.size > 0) {
      const top = queue.pop();
      const current = pairCounts.get(top.pair) as number;
      if (top.count !== current) {
        top.count = current;
        queue.push(top);
        continue;
      }
      if (top.count < 1 || minFrequency > top.count) break;
      const left = Math.floor(top.pair / PAIR_SHIFT);
      const right = top.pair % PAIR_SHIFT;
      const merged = add((idToToken[left] as string) + (idToToken[right] as string));
      merges.push({ left, right });
      for (const wordIndex of top.positions) {
        const symbols = words[wordIndex] as number[];
        const count = counts[wordIndex] as number;
        const change = (first: number, second: number, delta: number) => {
          const pair = first * PAIR_SHIFT + second;
          pairCounts.set(pair, (pairCounts.get(pair) ?? 0) + delta * count);
          if (delta > 0) {
            let positions = whereToUpdate.get(pair);
            if (positions === undefined) {
              positions = new Set();
              whereToUpdate.set(pair, positions);
            }
            positions.add(wordIndex);
          }
        };
        // Left to right, non-overlapping, as Hugging Face's Word::merge.
        for (let index = 0; index < symbols.length; index++) {
          if (symbols[index] !== left || index + 1 >= symbols.length || symbols[index + 1] !== right) continue;
          if (index > 0) {
            const previous = symbols[index - 1] as number;
            change(previous, left, -1);
            change(previous, merged, 1);
          }
          symbols.splice(index, 2, merged);
          if (index < symbols.length - 1) {
            const following = symbols[index + 1] as number;
            change(right, following, -1);
            change(merged, following, 1);
          }
        }
      }
      flush();
    }
    return this.files(idToToken, merges);
  }

  private files(idToToken: string[], merges: Array<{ left: number; right: number }>): TrainedTokenizer {
    const vocab: Record<string, number> = {};
    idToToken.forEach((token, id) => {
      vocab[token] = id;
    });
    // A pair merged twice (possible when two merges spell the same token) keeps its last rank, as the
    // Hugging Face trainer's pair → rank map does.
    const lastRank = new Map<number, number>();
    merges.forEach(({ left, right }, rank) => {
      lastRank.set(left * PAIR_SHIFT + right, rank);
    });
    const mergeList = merges
      .filter(({ left, right }, rank) => lastRank.get(left * PAIR_SHIFT + right) === rank)
      .map(({ left, right }) => [idToToken[left] as string, idToToken[right] as string]);
    const { specialTokens } = this.options;
    const tokenizerJson = {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: specialTokens.map((content) => ({
        id: vocab[content],
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: null,
      pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: mergeList,
      },
    };
    const role = (field: keyof BpeTrainerOptions, fallback: string): string | null => {
      const value =
        this.settings[field] === undefined
          ? specialTokens.includes(fallback)
            ? fallback
            : null
          : this.settings[field];
      if (value !== null && (typeof value !== "string" || !specialTokens.includes(value))) {
        throw new Error(`[tokenizer] BpeTrainer: ${field} ${JSON.stringify(value)} must be one of specialTokens`);
      }
      return value as string | null;
    };
    const defaultTemplate = (minimindTokenizerConfig as { chat_template?: string }).chat_template ?? null;
    const addedTokensDecoder: Record<string, unknown> = {};
    for (const content of specialTokens) {
      addedTokensDecoder[String(vocab[content])] = {
        content,
        lstrip: false,
        normalized: false,
        rstrip: false,
        single_word: false,
        special: true,
      };
    }
    const tokenizerConfig = {
      add_bos_token: false,
      add_eos_token: false,
      add_prefix_space: false,
      added_tokens_decoder: addedTokensDecoder,
      additional_special_tokens: [],
      bos_token: role("bosToken", "<|im_start|>"),
      clean_up_tokenization_spaces: false,
      eos_token: role("eosToken", "<|im_end|>"),
      legacy: true,
      model_max_length: 32768,
      pad_token: role("padToken", "<|endoftext|>"),
      sp_model_kwargs: {},
      spaces_between_special_tokens: false,
      tokenizer_class: "PreTrainedTokenizerFast",
      unk_token: role("unknownToken", "<|endoftext|>"),
      chat_template: this.settings.chatTemplate === undefined ? defaultTemplate : this.settings.chatTemplate,
    };
    return { tokenizerJson, tokenizerConfig };
  }
}

/** Writes `tokenizer.json` and `tokenizer_config.json` into a directory (created if needed; Node.js only). */
export async function saveTrainedTokenizer(trained: TrainedTokenizer, directory: string): Promise<void> {
  const { mkdir, writeFile } = nodeBuiltin<typeof import("node:fs/promises")>(
    "node:fs/promises",
    "saveTrainedTokenizer",
  );
  const { join } = nodeBuiltin<typeof import("node:path")>("node:path", "saveTrainedTokenizer");
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, "tokenizer.json"), `${JSON.stringify(trained.tokenizerJson, null, 2)}\n`);
  await writeFile(join(directory, "tokenizer_config.json"), `${JSON.stringify(trained.tokenizerConfig, null, 4)}\n`);
}
