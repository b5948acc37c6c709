/**
 * Text in, text out: a model and its tokenizer loaded together (a checkpoint folder in Node; URLs,
 * ArrayBuffers or Files in a browser), `generate` / `stream` on a string (a plain continuation) or on chat
 * messages (rendered with the tokenizer's chat template, thinking on or off), with stop strings in text,
 * UTF-8-safe incremental detokenization and any attention strategy for the prompt. Async: the decoding loop
 * yields to the event loop between tokens, so an `AbortSignal` or a UI stays responsive.
 * Not here: multi-turn sessions with cache reuse (chat-session.ts), token selection (generation.ts).
 */
import { causal, prefixLM, type StrategyLike, segments, segmentVectorFromRoles } from "@minimind/attention";
import { type ChatMessage, type SegmentRole, Tokenizer } from "@minimind/tokenizer";
import { parseMiniMindConfig } from "./config.js";
import type { GenerateOptions } from "./generation.js";
import { MiniMindForCausalLM } from "./model.js";
import { nodeFileAccess } from "./node-files.js";
import type { FromPretrainedOptions } from "./pretrained.js";
import { readSafetensors } from "./safetensors.js";

/**
 * Which tokens of the prompt see each other: "causal" (MiniMind's choice), "prefix" (the whole prompt
 * bidirectional, the answer causal: prefix-LM), "segments" (each system/user/tool turn bidirectional within
 * itself, causal across turns), or a function building any strategy from the prompt's ids and per-token roles.
 */
export type PromptMask =
  | "causal"
  | "prefix"
  | "segments"
  | ((prompt: { ids: readonly number[]; roles: readonly SegmentRole[] }) => StrategyLike);

export interface TextGenerateOptions
  extends Omit<GenerateOptions, "attention" | "cache" | "stopStrings" | "decode" | "padTokenId"> {
  /** Stop when the text contains one of these; the returned text ends before it (as OpenAI's `stop`). */
  readonly stop?: readonly string[];
  /** Chat messages only: leave the `<think>` block open for the model (MiniMind's `open_thinking`). Default false. */
  readonly thinking?: boolean;
  /** The prompt's attention mask (default "causal"). */
  readonly mask?: PromptMask;
}

/** Files of a checkpoint, for browsers (or anywhere the bytes are already in hand). */
export interface TextModelFiles {
  /** config.json: its text, or the parsed object. */
  readonly config: string | object;
  /** model.safetensors. */
  readonly weights: ArrayBuffer | Uint8Array | Blob;
  /** tokenizer.json (text or object); default MiniMind's bundled tokenizer. */
  readonly tokenizer?: string | object;
  /** tokenizer_config.json (text or object), with the chat template. */
  readonly tokenizerConfig?: string | object;
}

/** The strategy for a prompt under a mask choice. */
export function promptStrategy(mask: PromptMask, ids: readonly number[], roles: readonly SegmentRole[]): StrategyLike {
  if (typeof mask === "function") return mask({ ids, roles });
  if (mask === "causal") return causal;
  if (mask === "prefix") return prefixLM(ids.length);
  if (mask === "segments") return segments(segmentVectorFromRoles(roles));
  throw new Error(`[TextModel] mask is ${JSON.stringify(mask)}; expected "causal", "prefix", "segments" or a function`);
}

/** Holds back text that could still become a stop string; ends the stream at the first one. */
export class StopStringFilter {
  private pending = "";
  stopped = false;
  private readonly longest: number;

  constructor(private readonly stops: readonly string[]) {
    for (const stop of stops) {
      if (typeof stop !== "string" || stop.length === 0)
        throw new Error("[TextModel] stop strings must be non-empty strings");
    }
    this.longest = Math.max(0, ...stops.map((stop) => stop.length));
  }

  /** The text safe to emit now. */
  push(text: string): string {
    if (this.stopped) return "";
    this.pending += text;
    let cut = -1;
    for (const stop of this.stops) {
      const at = this.pending.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      this.stopped = true;
      const emitted = this.pending.slice(0, cut);
      this.pending = "";
      return emitted;
    }
    const keep = Math.min(this.pending.length, Math.max(0, this.longest - 1));
    const emitted = this.pending.slice(0, this.pending.length - keep);
    this.pending = this.pending.slice(this.pending.length - keep);
    return emitted;
  }

  /** What is left at the end of generation (no stop string came). */
  flush(): string {
    const rest = this.stopped ? "" : this.pending;
    this.pending = "";
    return rest;
  }
}

function parseJson(value: string | object, what: string): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new Error(`[TextModel] ${what} is not valid JSON: ${(error as Error).message}`);
  }
}

export class TextModel {
  constructor(
    readonly model: MiniMindForCausalLM,
    readonly tokenizer: Tokenizer,
  ) {
    if (tokenizer.vocabularySize > model.config.vocab_size) {
      throw new Error(
        `[TextModel] the tokenizer has ${tokenizer.vocabularySize} ids but the model's vocab_size is ${model.config.vocab_size}; they do not belong together`,
      );
    }
  }

  /**
   * A checkpoint folder (Node): `config.json`, the weights (`fromPretrained`, eval mode) and `tokenizer.json` +
   * `tokenizer_config.json`. A folder without tokenizer files gets MiniMind's bundled tokenizer when the model's
   * vocabulary is MiniMind's 6,400 tokens (upstream checkpoints ship none); otherwise that is an error.
   */
  static async load(directory: string, options: FromPretrainedOptions = {}): Promise<TextModel> {
    const { fs, path } = await nodeFileAccess(
      "TextModel",
      "TextModel.load",
      "use TextModel.fromUrl or TextModel.fromFiles",
    );
    const { access } = fs;
    const { join } = path;
    const model = await MiniMindForCausalLM.fromPretrained(directory, options);
    let hasTokenizer = true;
    await access(join(directory, "tokenizer.json")).catch(() => {
      hasTokenizer = false;
    });
    if (hasTokenizer) return new TextModel(model, await Tokenizer.fromPretrained(directory));
    if (model.config.vocab_size !== 6400) {
      model.dispose();
      throw new Error(
        `[TextModel] ${join(directory, "tokenizer.json")} is missing and the model's vocab_size is ${model.config.vocab_size}, not MiniMind's 6400; put the tokenizer files beside the weights`,
      );
    }
    return new TextModel(model, Tokenizer.minimind());
  }

  /** From bytes in hand (browsers: `await file.arrayBuffer()`, `File`/`Blob`s): config, weights, tokenizer. */
  static async fromFiles(files: TextModelFiles): Promise<TextModel> {
    const config = parseMiniMindConfig(parseJson(files.config, "config.json"), "config.json");
    const weights = files.weights;
    const bytes =
      weights instanceof Uint8Array
        ? weights
        : new Uint8Array(weights instanceof ArrayBuffer ? weights : await (weights as Blob).arrayBuffer());
    const { tensors } = readSafetensors(bytes, { source: "model.safetensors" });
    const model = MiniMindForCausalLM.fromStateDict(config, tensors, "model.safetensors").eval();
    const tokenizer =
      files.tokenizer === undefined
        ? Tokenizer.minimind()
        : new Tokenizer(
            parseJson(files.tokenizer, "tokenizer.json"),
            files.tokenizerConfig === undefined ? undefined : parseJson(files.tokenizerConfig, "tokenizer_config.json"),
          );
    return new TextModel(model, tokenizer);
  }

  /**
   * From a URL prefix (browsers, or Node's fetch): `config.json`, `model.safetensors`, and `tokenizer.json` /
   * `tokenizer_config.json` when the server has them (else MiniMind's bundled tokenizer).
   */
  static async fromUrl(base: string | URL, init?: RequestInit): Promise<TextModel> {
    const root = new URL(base.toString().endsWith("/") ? base.toString() : `${base}/`);
    const get = async (name: string, required: boolean): Promise<Response | undefined> => {
      const url = new URL(name, root);
      const response = await fetch(url, init);
      if (response.ok) return response;
      if (!required && response.status === 404) return undefined;
      throw new Error(`[TextModel] GET ${url} answered ${response.status} ${response.statusText}`);
    };
    const [config, weights, tokenizer, tokenizerConfig] = await Promise.all([
      get("config.json", true).then((response) => (response as Response).text()),
      get("model.safetensors", true).then((response) => (response as Response).arrayBuffer()),
      get("tokenizer.json", false).then((response) => response?.text()),
      get("tokenizer_config.json", false).then((response) => response?.text()),
    ]);
    return TextModel.fromFiles({
      config,
      weights,
      ...(tokenizer === undefined ? {} : { tokenizer }),
      ...(tokenizerConfig === undefined ? {} : { tokenizerConfig }),
    });
  }

  /** Token ids and per-token roles of a prompt: a string as it is, messages through the chat template. */
  encodePrompt(
    input: string | readonly ChatMessage[],
    options: { thinking?: boolean } = {},
  ): { ids: number[]; roles: SegmentRole[] } {
    if (typeof input === "string") {
      const ids = this.tokenizer.encode(input);
      if (ids.length === 0) throw new Error("[TextModel] the prompt is empty");
      return { ids, roles: ids.map(() => "user") };
    }
    if (!Array.isArray(input) || input.length === 0)
      throw new Error("[TextModel] input must be a string or a non-empty array of chat messages");
    const encoded = this.tokenizer.encodeChat(input, {
      addGenerationPrompt: true,
      openThinking: options.thinking ?? false,
    });
    return { ids: encoded.ids, roles: encoded.roles };
  }

  /** The generated text (special tokens left out, cut before a stop string). */
  async generate(input: string | readonly ChatMessage[], options: TextGenerateOptions = {}): Promise<string> {
    let text = "";
    for await (const chunk of this.stream(input, options)) text += chunk;
    return text;
  }

  /** The generated text in chunks as tokens arrive; a character split across tokens arrives whole. */
  async *stream(
    input: string | readonly ChatMessage[],
    options: TextGenerateOptions = {},
  ): AsyncGenerator<string, void> {
    const { stop = [], thinking, mask = "causal", ...generation } = options;
    const prompt = this.encodePrompt(input, { thinking: thinking ?? false });
    const attention = promptStrategy(mask, prompt.ids, prompt.roles);
    yield* this.streamIds(prompt.ids, { ...generation, attention }, stop);
  }

  /**
   * Streams the text of generated ids (the shared loop of `stream` and chat sessions); the ids themselves are
   * appended to `generated` when given.
   */
  async *streamIds(
    ids: readonly number[],
    options: GenerateOptions,
    stop: readonly string[],
    generated?: number[],
  ): AsyncGenerator<string, void> {
    const filter = new StopStringFilter(stop);
    const decoder = this.tokenizer.createStreamDecoder({ skipSpecialTokens: true });
    const steps = this.model.stream([ids], options);
    try {
      for await (const [tokens = []] of steps) {
        generated?.push(...tokens);
        const text = filter.push(decoder.push(tokens));
        if (text.length > 0) yield text;
        if (filter.stopped) return; // leaving the loop releases the stream
      }
      const rest = filter.push(decoder.flush()) + filter.flush();
      if (rest.length > 0) yield rest;
    } finally {
      await steps.return(undefined);
    }
  }

  /** Releases the model's weights. */
  dispose(): void {
    this.model.dispose();
  }
}
