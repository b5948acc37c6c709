/**
 * A multi-turn chat over a `TextModel` that keeps its KV cache between turns wherever the attention strategy
 * allows: each turn renders the whole conversation with the chat template, keeps the longest prefix of tokens
 * the cache already holds (re-rendered history can tokenize differently from what was generated), asks the
 * cache whether the new strategy lets those tokens stand (`canAppend`: per-turn `segments` and causal do, a
 * prefix-LM over the whole history does not) and otherwise recomputes from scratch. Thinking on/off maps to the
 * template's `open_thinking`; `<think>…</think>` in a reply is kept as the message's `reasoning_content`.
 * Not here: the decoding loop (decoding.ts) or text streaming (text-model.ts).
 */
import type { KeyValueCache } from "@minimind/attention";
import type { ChatMessage } from "@minimind/tokenizer";
import { type PromptMask, promptStrategy, type TextGenerateOptions, type TextModel } from "./text-model.js";

export interface ChatSessionOptions extends Omit<TextGenerateOptions, "thinking"> {
  /** A system prompt, first in the conversation. */
  readonly system?: string;
  /** Thinking on or off for the next turns (MiniMind's `open_thinking`); change it with `session.thinking`. */
  readonly thinking?: boolean;
}

/** What the last turn cost: prompt tokens reused from the cache, computed anew, and generated. */
export interface TurnStatistics {
  readonly reusedTokens: number;
  readonly newPromptTokens: number;
  readonly generatedTokens: number;
  /** False when the strategy forbade reusing the cache, so the history was recomputed. */
  readonly cacheReused: boolean;
}

function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const limit = Math.min(a.length, b.length);
  let index = 0;
  while (index < limit && a[index] === b[index]) index++;
  return index;
}

/** Splits a reply generated after an open `<think>` into reasoning and answer. */
function splitThinking(text: string, thinking: boolean): { content: string; reasoning?: string } {
  const close = text.indexOf("</think>");
  if (!thinking || close === -1) return { content: text.trim() };
  const reasoning = text
    .slice(0, close)
    .replace(/^<think>/, "")
    .trim();
  return { content: text.slice(close + "</think>".length).trim(), reasoning };
}

export class ChatSession {
  readonly messages: ChatMessage[] = [];
  thinking: boolean;
  private readonly cache: KeyValueCache;
  /** The token ids the cache holds, in order. */
  private cached: number[] = [];
  private statistics: TurnStatistics | undefined;
  private readonly defaults: Omit<ChatSessionOptions, "system" | "thinking">;

  constructor(
    private readonly textModel: TextModel,
    options: ChatSessionOptions = {},
  ) {
    const { system, thinking, ...defaults } = options;
    this.thinking = thinking ?? false;
    this.defaults = defaults;
    if (system !== undefined) this.messages.push({ role: "system", content: system });
    this.cache = textModel.model.createCache();
  }

  /** Statistics of the last turn (undefined before the first). */
  get lastTurn(): TurnStatistics | undefined {
    return this.statistics;
  }

  /** Tokens the cache holds now. */
  get cachedTokens(): number {
    return this.cache.length;
  }

  /**
   * Sends a user message and streams the reply's text; when the stream ends the reply is in `messages`. Stopping
   * early (break, an abort) keeps the partial reply.
   */
  async *send(text: string, options: Omit<TextGenerateOptions, "thinking"> = {}): AsyncGenerator<string, void> {
    if (typeof text !== "string") throw new Error("[ChatSession] send takes the user's message as a string");
    const {
      stop = [],
      mask = "causal",
      ...generation
    } = { ...this.defaults, ...options } as TextGenerateOptions & {
      mask?: PromptMask;
    };
    this.messages.push({ role: "user", content: text });
    const { ids, roles } = this.textModel.encodePrompt(this.messages, { thinking: this.thinking });
    const attention = promptStrategy(mask, ids, roles);
    // Keep what the cache holds of this prompt (at least one token must be new, to get logits).
    let reused = Math.min(commonPrefixLength(this.cached, ids), ids.length - 1);
    this.cache.truncate(reused);
    const heads = this.textModel.model.config.num_attention_heads;
    const cacheReused = reused === 0 || this.cache.canAppend(attention, ids.length - reused, { heads });
    if (!cacheReused) {
      this.cache.reset();
      reused = 0;
    }
    let reply = "";
    const generated: number[] = [];
    try {
      const options = { ...generation, attention, cache: this.cache };
      const chunks = this.textModel.streamIds(ids.slice(reused), options, stop, generated);
      for await (const chunk of chunks) {
        reply += chunk;
        yield chunk;
      }
    } finally {
      // the cache now holds the prompt and the generated tokens but the last; remember which ids those are
      this.cached = [...ids, ...generated].slice(0, this.cache.length);
      this.statistics = {
        reusedTokens: reused,
        newPromptTokens: ids.length - reused,
        generatedTokens: generated.length,
        cacheReused,
      };
      const { content, reasoning } = splitThinking(reply, this.thinking);
      this.messages.push({
        role: "assistant",
        content,
        ...(reasoning === undefined ? {} : { reasoning_content: reasoning }),
      });
    }
  }

  /** Forgets the conversation (the system prompt stays) and empties the cache. */
  reset(): void {
    const system = this.messages[0]?.role === "system" ? this.messages[0] : undefined;
    this.messages.length = 0;
    if (system !== undefined) this.messages.push(system);
    this.cache.reset();
    this.cached = [];
    this.statistics = undefined;
  }

  /** Releases the cache; the session is unusable afterwards. */
  dispose(): void {
    this.cache.dispose();
  }
}
