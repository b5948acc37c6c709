/**
 * The tokenizer: Hugging Face `tokenizer.json` semantics for byte-level BPE (added tokens → normalizer →
 * GPT-2 split → byte mapping → BPE merges with a word cache), decoding, chat templates and the SFT label
 * and segment helpers. Encoding runs on integer ids end to end; strings are made only for the word cache.
 * Not a trainer (see trainer.ts) and not a general `tokenizers` port: other model types are refused.
 */
import { AddedTokenMatcher } from "./added-tokens.js";
import { MergeTable, mergeWordByHeap, mergeWordByScan, SCAN_LIMIT } from "./bpe.js";
import { BYTE_TO_CHAR, tokenToBytes, writeUtf8 } from "./byte-level.js";
import { type ChatMessage, type ChatTemplateOptions, checkChatInput, renderChatTemplate } from "./chat-template.js";
import { minimindTokenizerConfig, minimindTokenizerJson } from "./minimind.js";
import { nodeBuiltin } from "./node-builtin.js";
import { splitGpt2 } from "./pre-tokenizer.js";
import { type ChatSegments, chatSegments, sftLabels } from "./sft.js";
import {
  type AddedToken,
  readTokenizerConfig,
  readTokenizerJson,
  type TokenizerConfiguration,
  type TokenizerDefinition,
} from "./tokenizer-json.js";
import { WordCache } from "./word-cache.js";

export interface EncodeOptions {
  /**
   * Add the tokens the post-processor (or, without one, `add_bos_token`/`add_eos_token` in
   * tokenizer_config.json) asks for. Default false; MiniMind's configuration adds none either way.
   */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out added tokens marked `special` (`<|im_start|>`…); non-special ones like `<think>` stay. */
  skipSpecialTokens?: boolean;
}

/** Incremental detokenization (see {@link Tokenizer.createStreamDecoder}). */
export interface TokenStreamDecoder {
  /** The text these ids complete; bytes of a character still missing tokens are held back. */
  push(ids: readonly number[] | Int32Array): string;
  /** What is held back at the end (an unfinished character becomes U+FFFD); the decoder resets. */
  flush(): string;
}

/** A rendered and encoded conversation with its SFT labels and per-token roles (see {@link ChatSegments}). */
export interface EncodedChat extends ChatSegments {
  text: string;
  ids: number[];
}

/** The largest tokenizer.json / tokenizer_config.json read: 512 MiB (a 256,000-token vocabulary is about 20 MB). */
const MAX_TOKENIZER_FILE_BYTES = 512 * 2 ** 20;

/** Refuses options that are not an object of the one boolean flag `name` (unknown keys and types named). */
function checkFlagOptions(where: string, options: unknown, name: string): void {
  if (typeof options !== "object" || options === null || Array.isArray(options))
    throw new TypeError(`[tokenizer] ${where}: options must be an object`);
  for (const [key, value] of Object.entries(options)) {
    if (key !== name) throw new TypeError(`[tokenizer] ${where}: unknown option "${key}"; expected ${name}`);
    if (value !== undefined && typeof value !== "boolean")
      throw new TypeError(`[tokenizer] ${where}: ${name} must be true or false, got ${typeof value}`);
  }
}

export class Tokenizer {
  /** Number of ids: one more than the largest id of the vocabulary or the added tokens. */
  readonly vocabularySize: number;
  readonly config: TokenizerConfiguration;
  private readonly definition: TokenizerDefinition;
  private readonly tokenToIdMap = new Map<string, number>();
  private readonly idToTokenList: (string | undefined)[];
  private readonly idToBytes: (Uint8Array | undefined)[];
  private readonly specialIds: Uint8Array;
  private readonly table: MergeTable;
  private readonly byteToId = new Int32Array(256);
  private readonly unknownId: number;
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  private readonly normalize: ((text: string) => string) | null;
  private readonly wordCache = new WordCache();
  private utf8 = new Uint8Array(256);
  private symbols = new Int32Array(256);
  private ranks = new Int32Array(256);
  private readonly textDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
  private decodeTableCache: { bytePool: Uint8Array; byteStarts: Int32Array; byteEnds: Int32Array } | null = null;

  constructor(tokenizerJson: unknown, tokenizerConfig?: unknown) {
    this.definition = readTokenizerJson(tokenizerJson);
    this.config = readTokenizerConfig(tokenizerConfig ?? {});
    const { vocabulary, addedTokens } = this.definition;
    let size = 0;
    for (const id of vocabulary.values()) size = Math.max(size, id + 1);
    for (const token of addedTokens) size = Math.max(size, token.id + 1);
    this.vocabularySize = size;
    this.idToTokenList = new Array(size);
    for (const [token, id] of vocabulary) {
      this.tokenToIdMap.set(token, id);
      this.idToTokenList[id] = token;
    }
    this.specialIds = new Uint8Array(size);
    for (const token of addedTokens) {
      this.tokenToIdMap.set(token.content, token.id);
      this.idToTokenList[token.id] = token.content;
      if (token.special) this.specialIds[token.id] = 1;
    }
    this.idToBytes = this.idToTokenList.map((token) => (token === undefined ? undefined : tokenToBytes(token)));
    for (const token of addedTokens) {
      // Added tokens are written as plain text, not byte-level characters.
      this.idToBytes[token.id] = new TextEncoder().encode(token.content);
    }
    this.table = new MergeTable(
      this.definition.merges.map(([left, right]) => {
        const merged = vocabulary.get(left + right);
        if (merged === undefined) {
          throw new Error(
            `[tokenizer] tokenizer.json: field "model.merges" merges ${JSON.stringify(left)} + ${JSON.stringify(right)}, ` +
              "but their concatenation is not in model.vocab",
          );
        }
        return [vocabulary.get(left) as number, vocabulary.get(right) as number, merged] as const;
      }),
    );
    for (let byte = 0; byte < 256; byte++) this.byteToId[byte] = vocabulary.get(BYTE_TO_CHAR[byte] as string) ?? -1;
    this.unknownId =
      this.definition.unknownToken === null ? -1 : (vocabulary.get(this.definition.unknownToken) as number);
    this.rawMatcher = new AddedTokenMatcher(addedTokens.filter((token) => !token.normalized));
    this.normalizedMatcher = new AddedTokenMatcher(addedTokens.filter((token) => token.normalized));
    const forms = this.definition.normalizers;
    this.normalize =
      forms.length === 0
        ? null
        : (text) =>
            forms.reduce(
              (current, form) => (form === "Lowercase" ? current.toLowerCase() : current.normalize(form)),
              text,
            );
  }

  /** Reads `tokenizer.json` and, when present, `tokenizer_config.json` from a directory (Node.js only). */
  static async fromPretrained(directory: string): Promise<Tokenizer> {
    const { readFile, stat } = nodeBuiltin<typeof import("node:fs/promises")>("node:fs/promises", "fromPretrained");
    const { join } = nodeBuiltin<typeof import("node:path")>("node:path", "fromPretrained");
    const read = async (name: string, required: boolean): Promise<unknown> => {
      let text: string;
      try {
        // Only a regular file of sane size is read: never a device (/dev/zero), a FIFO (which would block) or a folder.
        const found = await stat(join(directory, name));
        if (!found.isFile() || found.size > MAX_TOKENIZER_FILE_BYTES) {
          throw new Error(
            found.isFile()
              ? `${found.size} bytes; at most ${MAX_TOKENIZER_FILE_BYTES} are read`
              : "not a regular file (a folder, device, FIFO or socket)",
          );
        }
        text = await readFile(join(directory, name), "utf8");
      } catch (error) {
        if (!required && (error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw new Error(
          `[tokenizer] fromPretrained: cannot read ${join(directory, name)} (${(error as Error).message}); ` +
            "pass a directory that holds tokenizer.json",
        );
      }
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new Error(`[tokenizer] ${join(directory, name)} is not valid JSON: ${(error as Error).message}`);
      }
    };
    return new Tokenizer(await read("tokenizer.json", true), await read("tokenizer_config.json", false));
  }

  /**
   * MiniMind's own tokenizer (6,400 byte-level BPE tokens and its chat template), shipped inside this
   * package; no file or network access. Each call builds a new instance.
   */
  static minimind(): Tokenizer {
    return new Tokenizer(minimindTokenizerJson, minimindTokenizerConfig);
  }

  /** Token string → id (added tokens included), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.tokenToIdMap.get(token);
  }

  /** Id → token string as stored in the vocabulary (byte-level characters, e.g. `Ġthe`), or undefined. */
  idToToken(id: number): string | undefined {
    return this.idToTokenList[id];
  }

  /** The added tokens, in the order of tokenizer.json. */
  get addedTokens(): readonly Readonly<AddedToken>[] {
    return this.definition.addedTokens;
  }

  /** Id of a token named in tokenizer_config.json (`bos_token`…), or undefined when unset or unknown. */
  private configuredId(token: string | null): number | undefined {
    return token === null ? undefined : this.tokenToIdMap.get(token);
  }

  get bosTokenId(): number | undefined {
    return this.configuredId(this.config.bosToken);
  }
  get eosTokenId(): number | undefined {
    return this.configuredId(this.config.eosToken);
  }
  get padTokenId(): number | undefined {
    return this.configuredId(this.config.padToken);
  }
  get unknownTokenId(): number | undefined {
    return this.configuredId(this.config.unknownToken);
  }

  /** Text → token ids. No tokens are added unless `addSpecialTokens` is set (see {@link EncodeOptions}). */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new TypeError(`[tokenizer] encode: text must be a string, got ${typeof text}`);
    checkFlagOptions("encode", options, "addSpecialTokens");
    const ids: number[] = [];
    if (options.addSpecialTokens) ids.push(...this.prefixIds());
    let position = 0;
    for (const match of this.rawMatcher.find(text, 0, text.length)) {
      if (match.start > position) this.encodeUnmatched(text.slice(position, match.start), ids);
      ids.push(match.token.id);
      position = match.end;
    }
    if (position < text.length) this.encodeUnmatched(position === 0 ? text : text.slice(position), ids);
    if (options.addSpecialTokens) ids.push(...this.suffixIds());
    return ids;
  }

  /** {@link encode} for each text. */
  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): number[][] {
    if (!Array.isArray(texts)) throw new TypeError("[tokenizer] encodeBatch: texts must be an array of strings");
    return texts.map((text) => this.encode(text, options));
  }

  private prefixIds(): number[] {
    const processor = this.definition.postProcessor;
    if (processor !== null) return processor.prefix;
    const bos = this.bosTokenId;
    return this.config.addBosToken && bos !== undefined ? [bos] : [];
  }

  private suffixIds(): number[] {
    const processor = this.definition.postProcessor;
    if (processor !== null) return processor.suffix;
    const eos = this.eosTokenId;
    return this.config.addEosToken && eos !== undefined ? [eos] : [];
  }

  /** Text with no raw added tokens: normalize, match normalized added tokens, then split and merge. */
  private encodeUnmatched(text: string, ids: number[]): void {
    const normalized = this.normalize === null ? text : this.normalize(text);
    let position = 0;
    for (const match of this.normalizedMatcher.find(normalized, 0, normalized.length)) {
      if (match.start > position) this.encodeOrdinary(normalized.slice(position, match.start), ids);
      ids.push(match.token.id);
      position = match.end;
    }
    if (position < normalized.length)
      this.encodeOrdinary(position === 0 ? normalized : normalized.slice(position), ids);
  }

  private encodeOrdinary(segment: string, ids: number[]): void {
    const text = this.definition.addPrefixSpace && !segment.startsWith(" ") ? ` ${segment}` : segment;
    if (!this.definition.useRegex) {
      this.encodeWord(text, 0, text.length, ids);
      return;
    }
    splitGpt2(text, 0, text.length, (start, end) => this.encodeWord(text, start, end, ids));
  }

  private encodeWord(text: string, start: number, end: number, ids: number[]): void {
    let word = this.wordCache.get(text, start, end);
    if (word === undefined) {
      word = this.mergeWord(text, start, end);
      this.wordCache.set(text, start, end, word);
    }
    for (let index = 0; index < word.length; index++) ids.push(word[index] as number);
  }

  private mergeWord(text: string, start: number, end: number): number[] {
    const maxBytes = (end - start) * 3;
    if (this.utf8.length < maxBytes) {
      this.utf8 = new Uint8Array(maxBytes * 2);
      this.symbols = new Int32Array(maxBytes * 2);
      this.ranks = new Int32Array(maxBytes * 2);
    }
    const byteCount = writeUtf8(text, start, end, this.utf8);
    const symbols = this.symbols;
    let length = 0;
    for (let index = 0; index < byteCount; index++) {
      const id = this.byteToId[this.utf8[index] as number] as number;
      if (id >= 0) {
        symbols[length++] = id;
      } else if (
        this.unknownId >= 0 &&
        !(this.definition.fuseUnknown && length > 0 && symbols[length - 1] === this.unknownId)
      ) {
        symbols[length++] = this.unknownId;
      }
      // With no unk token a byte missing from the vocabulary is dropped, as Hugging Face does.
    }
    if (this.definition.ignoreMerges) {
      let byteLevel = "";
      for (let index = 0; index < byteCount; index++) byteLevel += BYTE_TO_CHAR[this.utf8[index] as number];
      const whole = this.definition.vocabulary.get(byteLevel);
      if (whole !== undefined) return [whole];
    }
    const count =
      length <= SCAN_LIMIT
        ? mergeWordByScan(this.table, symbols, length, this.ranks)
        : mergeWordByHeap(this.table, symbols, length);
    // A small plain array: cheaper to allocate and to read back than a typed array.
    const word = new Array<number>(count);
    for (let index = 0; index < count; index++) word[index] = symbols[index] as number;
    return word;
  }

  /** Token ids → text. Invalid UTF-8 (e.g. half of a character) becomes U+FFFD, as in Hugging Face. */
  decode(ids: readonly number[] | Int32Array, options: DecodeOptions = {}): string {
    checkFlagOptions("decode", options, "skipSpecialTokens");
    return this.textDecoder.decode(this.bytesOf(ids, options.skipSpecialTokens === true, "decode"));
  }

  /**
   * Incremental detokenization for streaming: `push(ids)` returns the text those ids complete, holding back
   * the bytes of a character split across tokens (so an emoji or CJK character made of several byte-level
   * tokens never shows as U+FFFD halfway); `flush()` returns what is left at the end. The chunks joined equal
   * `decode(allIds)` exactly (both are the WHATWG UTF-8 decoder, in streaming mode here).
   */
  createStreamDecoder(options: DecodeOptions = {}): TokenStreamDecoder {
    checkFlagOptions("createStreamDecoder", options, "skipSpecialTokens");
    const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
    const skip = options.skipSpecialTokens === true;
    return {
      push: (ids) => decoder.decode(this.bytesOf(ids, skip, "createStreamDecoder push"), { stream: true }),
      flush: () => decoder.decode(),
    };
  }

  /** The UTF-8 bytes of token ids, checked (every id must name a token), special tokens skipped on request. */
  private bytesOf(ids: readonly number[] | Int32Array, skip: boolean, where: string): Uint8Array {
    if (!Array.isArray(ids) && !(ids instanceof Int32Array))
      throw new TypeError(`[tokenizer] ${where}: ids must be an array of token ids (or an Int32Array)`);
    const { bytePool, byteStarts, byteEnds } = this.decodeTable();
    let total = 0;
    for (let index = 0; index < ids.length; index++) {
      const id = ids[index] as number;
      if (!(id >= 0 && id < this.vocabularySize && Number.isInteger(id)) || byteStarts[id] === -1) {
        throw new RangeError(
          `[tokenizer] ${where}: ids[${index}] = ${id} is not a token id (ids are integers 0..${this.vocabularySize - 1} that name a token)`,
        );
      }
      if (skip && this.specialIds[id] === 1) continue;
      total += (byteEnds[id] as number) - (byteStarts[id] as number);
    }
    const joined = new Uint8Array(total);
    let offset = 0;
    for (let index = 0; index < ids.length; index++) {
      const id = ids[index] as number;
      if (skip && this.specialIds[id] === 1) continue;
      const end = byteEnds[id] as number;
      for (let position = byteStarts[id] as number; position < end; position++)
        joined[offset++] = bytePool[position] as number;
    }
    return joined;
  }

  /** Every token's bytes in one pool, so decoding copies bytes without per-token arrays. */
  private decodeTable(): { bytePool: Uint8Array; byteStarts: Int32Array; byteEnds: Int32Array } {
    if (this.decodeTableCache === null) {
      const byteStarts = new Int32Array(this.vocabularySize).fill(-1);
      const byteEnds = new Int32Array(this.vocabularySize);
      let total = 0;
      for (const bytes of this.idToBytes) total += bytes?.length ?? 0;
      const bytePool = new Uint8Array(total);
      let offset = 0;
      this.idToBytes.forEach((bytes, id) => {
        if (bytes === undefined) return;
        bytePool.set(bytes, offset);
        byteStarts[id] = offset;
        offset += bytes.length;
        byteEnds[id] = offset;
      });
      this.decodeTableCache = { bytePool, byteStarts, byteEnds };
    }
    return this.decodeTableCache;
  }

  /** {@link decode} for each sequence. */
  decodeBatch(batch: ReadonlyArray<readonly number[]>, options: DecodeOptions = {}): string[] {
    if (!Array.isArray(batch)) throw new TypeError("[tokenizer] decodeBatch: batch must be an array of id arrays");
    return batch.map((ids) => this.decode(ids, options));
  }

  /**
   * Renders a conversation with the chat template of tokenizer_config.json (or `options.chatTemplate`),
   * as transformers does. Returns the text, or its token ids with `tokenize: true`.
   */
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions & { tokenize?: false }): string;
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions & { tokenize: true }): number[];
  applyChatTemplate(
    messages: readonly ChatMessage[],
    options: ChatTemplateOptions & { tokenize?: boolean } = {},
  ): string | number[] {
    checkChatInput(messages, options, options?.chatTemplate === undefined);
    const template = options.chatTemplate ?? this.config.chatTemplate;
    if (template === null) {
      throw new Error(
        "[tokenizer] applyChatTemplate: tokenizer_config.json has no chat_template; pass options.chatTemplate",
      );
    }
    const text = renderChatTemplate(template, messages, options, {
      bos_token: this.config.bosToken ?? "",
      eos_token: this.config.eosToken ?? "",
      pad_token: this.config.padToken ?? "",
      unk_token: this.config.unknownToken ?? "",
      additional_special_tokens: this.config.additionalSpecialTokens,
    });
    return options.tokenize ? this.encode(text) : text;
  }

  /**
   * MiniMind's SFT labels for a token sequence: tokens from after each `<|im_start|>assistant\n` through
   * the matching `<|im_end|>\n` keep their id, all others are -100 (see README).
   */
  sftLabels(ids: readonly number[]): number[] {
    return sftLabels(ids, this.assistantStartIds(), this.turnEndIds());
  }

  /** Per-token chat roles and turn segments of a ChatML token sequence, with the SFT labels (see README). */
  chatSegments(ids: readonly number[]): ChatSegments {
    const bos = this.bosTokenId;
    const eos = this.eosTokenId;
    if (bos === undefined || eos === undefined) {
      throw new Error("[tokenizer] chatSegments: tokenizer_config.json must name bos_token and eos_token (ChatML)");
    }
    return chatSegments(ids, {
      turnStart: bos,
      turnEndIds: this.turnEndIds(),
      assistantStartIds: this.assistantStartIds(),
      decode: (part) => this.decode(part),
    });
  }

  /** Renders, encodes and labels a conversation in one call: what an SFT data loader needs. */
  encodeChat(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): EncodedChat {
    const text = this.applyChatTemplate(messages, { ...options, tokenize: false });
    const ids = this.encode(text);
    return { text, ids, ...this.chatSegments(ids) };
  }

  private assistantStartIds(): number[] {
    return this.encode(`${this.requireConfigured("bos_token", this.config.bosToken)}assistant\n`);
  }

  private turnEndIds(): number[] {
    return this.encode(`${this.requireConfigured("eos_token", this.config.eosToken)}\n`);
  }

  private requireConfigured(field: string, value: string | null): string {
    if (value === null) throw new Error(`[tokenizer] tokenizer_config.json must set ${field} for SFT labels`);
    return value;
  }
}
