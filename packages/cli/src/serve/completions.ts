/**
 * One chat completion: the checked request rendered with the model's chat template (tools and thinking
 * included), its length checked against the context, a generation slot taken, then the answer generated and
 * handed to a sink token by token — a whole `chat.completion` object, or `chat.completion.chunk` events for
 * SSE. Reasoning, tool calls and stop strings come from answer-text.ts. The request's AbortSignal (the client
 * went away, or shutdown) stops generation at the next token and frees the slot.
 * Not here: HTTP parsing, routing and SSE framing (http.ts).
 */
import { randomUUID } from "node:crypto";
import { maxPositions, type TextModel } from "@minimind/model";
import { type AnswerDelta, AnswerText, type ToolCall } from "./answer-text.js";
import { ApiError, invalidRequest } from "./api-error.js";
import type { ChatRequest } from "./request.js";
import type { Slots } from "./slots.js";

export interface CompletionSettings {
  textModel: TextModel;
  /** The id clients name in `model` (GET /v1/models lists it). */
  modelId: string;
  /** The most tokens one completion may ask for, and the default when the request names none. */
  maxTokens: number;
  slots: Slots;
}

export type FinishReason = "stop" | "length" | "tool_calls";

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** Where a completion goes: a whole JSON answer or a stream of chunks. */
export interface CompletionSink {
  /** Called once a slot is taken and generation starts (a stream sends its headers and first chunk here). */
  start(meta: { id: string; created: number; model: string }): void;
  delta(delta: AnswerDelta): void;
  finish(reason: FinishReason, usage: Usage): void;
}

/** The prompt's token ids and the completion length, or a 400 when it does not fit the model's context. */
export function preparePrompt(
  settings: CompletionSettings,
  request: ChatRequest,
): { ids: number[]; maxTokens: number } {
  const { textModel } = settings;
  let ids: number[];
  try {
    ids = textModel.tokenizer.encodeChat(request.messages, {
      addGenerationPrompt: true,
      openThinking: request.thinking,
      ...(request.tools === undefined ? {} : { tools: request.tools }),
    }).ids;
  } catch (error) {
    throw invalidRequest((error as Error).message.replace(/^\[tokenizer\] applyChatTemplate: /, ""), "messages");
  }
  const context = maxPositions(textModel.model.config);
  if (request.maxTokens !== undefined && request.maxTokens > settings.maxTokens) {
    throw invalidRequest(
      `max_tokens is ${request.maxTokens}; this server allows at most ${settings.maxTokens} (--max-tokens)`,
      "max_tokens",
    );
  }
  const room = context - ids.length;
  const maxTokens = request.maxTokens ?? Math.min(settings.maxTokens, room);
  if (maxTokens < 1 || ids.length + maxTokens > context) {
    throw invalidRequest(
      `this model's maximum context length is ${context} tokens; the messages take ${ids.length} and the completion asks for ${Math.max(maxTokens, 1)}; shorten the messages or lower max_tokens`,
      "messages",
      "context_length_exceeded",
    );
  }
  return { ids, maxTokens };
}

/**
 * Generates the answer to `request` into `sink`. Throws an ApiError before `sink.start` (queue full, shutting
 * down); once started, a failure is thrown as it is, and an abort throws the signal's reason. Resolves to
 * the token counts.
 */
export async function runCompletion(
  settings: CompletionSettings,
  request: ChatRequest,
  signal: AbortSignal,
  sink: CompletionSink,
): Promise<Usage> {
  if (request.model !== settings.modelId) {
    throw new ApiError(
      404,
      `the model "${request.model}" does not exist; this server serves "${settings.modelId}"`,
      "invalid_request_error",
      "model",
      "model_not_found",
    );
  }
  const { ids, maxTokens } = preparePrompt(settings, request);
  const release = await settings.slots.acquire(signal);
  try {
    const id = `chatcmpl-${randomUUID().replaceAll("-", "")}`;
    sink.start({ id, created: Math.floor(Date.now() / 1000), model: settings.modelId });
    const answer = new AnswerText({
      thinking: request.thinking,
      tools: request.tools !== undefined,
      stop: request.stop,
      idPrefix: `call_${id.slice(-12)}`,
    });
    const greedy = request.temperature === 0;
    const options = {
      maxNewTokens: maxTokens,
      doSample: !greedy,
      ...(greedy ? {} : { temperature: request.temperature, topP: request.topP }),
      ...(request.seed === undefined ? {} : { seed: request.seed }),
      signal,
    };
    const generated: number[] = [];
    let toolCalls = 0;
    const emit = (delta: AnswerDelta) => {
      toolCalls += delta.toolCalls.length;
      if (delta.content !== "" || delta.reasoning !== "" || delta.toolCalls.length > 0) sink.delta(delta);
    };
    for await (const text of settings.textModel.streamIds(ids, options, [], generated)) {
      emit(answer.push(text));
      if (answer.stopped) break; // leaving the loop ends the model's stream and frees its cache
    }
    signal.throwIfAborted();
    emit(answer.finish());
    const eos = settings.textModel.model.config.eos_token_id;
    const eosIds = Array.isArray(eos) ? eos : [eos];
    const endedByModel = answer.stopped || eosIds.includes(generated.at(-1) as number);
    const reason: FinishReason =
      toolCalls > 0 ? "tool_calls" : !endedByModel && generated.length >= maxTokens ? "length" : "stop";
    const usage = {
      prompt_tokens: ids.length,
      completion_tokens: generated.length,
      total_tokens: ids.length + generated.length,
    };
    sink.finish(reason, usage);
    return usage;
  } finally {
    release();
  }
}

/** The OpenAI `chat.completion` object, assembled from the deltas. */
export class WholeAnswer implements CompletionSink {
  private meta = { id: "", created: 0, model: "" };
  private content = "";
  private reasoning = "";
  private readonly toolCalls: ToolCall[] = [];
  result: Record<string, unknown> | undefined;

  start(meta: { id: string; created: number; model: string }): void {
    this.meta = meta;
  }

  delta(delta: AnswerDelta): void {
    this.content += delta.content;
    this.reasoning += delta.reasoning;
    this.toolCalls.push(...delta.toolCalls);
  }

  finish(reason: FinishReason, usage: Usage): void {
    const message: Record<string, unknown> = { role: "assistant", content: this.content.trim() };
    if (this.reasoning !== "") message.reasoning_content = this.reasoning.trim();
    if (this.toolCalls.length > 0) message.tool_calls = this.toolCalls;
    this.result = {
      ...this.meta,
      object: "chat.completion",
      choices: [{ index: 0, message, logprobs: null, finish_reason: reason }],
      usage,
    };
  }
}

/** `chat.completion.chunk` objects, one per delta, as OpenAI streams them. */
export class ChunkStream implements CompletionSink {
  private meta = { id: "", created: 0, model: "" };
  private toolIndex = 0;

  constructor(
    private readonly send: (chunk: Record<string, unknown>) => void,
    private readonly includeUsage: boolean,
  ) {}

  private chunk(delta: Record<string, unknown>, reason: FinishReason | null): Record<string, unknown> {
    return {
      ...this.meta,
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta, logprobs: null, finish_reason: reason }],
    };
  }

  start(meta: { id: string; created: number; model: string }): void {
    this.meta = meta;
    this.send(this.chunk({ role: "assistant", content: "" }, null));
  }

  delta(delta: AnswerDelta): void {
    if (delta.reasoning !== "") this.send(this.chunk({ reasoning_content: delta.reasoning }, null));
    if (delta.content !== "") this.send(this.chunk({ content: delta.content }, null));
    if (delta.toolCalls.length > 0) {
      const toolCalls = delta.toolCalls.map((call) => ({ index: this.toolIndex++, ...call }));
      this.send(this.chunk({ tool_calls: toolCalls }, null));
    }
  }

  finish(reason: FinishReason, usage: Usage): void {
    this.send(this.chunk({}, reason));
    if (this.includeUsage) this.send({ ...this.meta, object: "chat.completion.chunk", choices: [], usage });
  }
}
