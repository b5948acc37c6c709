/**
 * The body of `POST /v1/chat/completions`, checked field by field before any work: OpenAI's fields
 * (`messages`, `stream`, `temperature`, `top_p`, `max_tokens` / `max_completion_tokens`, `stop`, `seed`, `n`,
 * `tools`, `tool_choice`, `stream_options`) and upstream MiniMind's extensions (`open_thinking`,
 * `chat_template_kwargs.enable_thinking` / `.open_thinking`). A fault is a 400 naming the field (`param`).
 * Fields the server cannot honour (n > 1, logprobs, a forced tool, image parts) are refused rather than
 * ignored; unknown fields are ignored, as OpenAI-compatible servers do. Not here: tokenizing (completions.ts).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { ChatMessage } from "@minimind/tokenizer";
import { ApiError, invalidRequest } from "./api-error.js";

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream: boolean;
  includeUsage: boolean;
  /** 0 means greedy. */
  temperature: number;
  topP: number;
  /** Undefined: the server's default. */
  maxTokens: number | undefined;
  stop: string[];
  seed: number | undefined;
  /** Tool schemas to render into the prompt; undefined when none (or tool_choice "none"). */
  tools: unknown[] | undefined;
  thinking: boolean;
}

const ROLES = new Set(["system", "user", "assistant", "tool", "developer"]);
/** OpenAI's limits: at most 4 stop sequences; temperature in [0, 2]. */
const MAX_STOP = 4;
const MAX_STOP_LENGTH = 1_000;
const MAX_MESSAGES = 10_000;
const MAX_TOOLS = 128;

function describe(value: unknown): string {
  if (value === undefined) return "missing";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = typeof value;
  }
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalNumber(
  body: Record<string, unknown>,
  name: string,
  fallback: number,
  accept: (value: number) => boolean,
  expected: string,
): number {
  const value = body[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !accept(value)) {
    throw invalidRequest(`${name} is ${describe(value)}; expected ${expected}`, name);
  }
  return value;
}

function optionalBoolean(body: Record<string, unknown>, name: string, param = name): boolean | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw invalidRequest(`${param} is ${describe(value)}; expected true or false`, param);
  return value;
}

/** A message's content as text: a string, or an array of `{type: "text", text}` parts joined. */
function contentText(content: unknown, param: string): string | null {
  if (content === undefined || content === null) return null;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) {
    throw invalidRequest(`${param} is ${describe(content)}; expected a string or an array of text parts`, param);
  }
  return content
    .map((part, index) => {
      if (!isObject(part) || part.type !== "text" || typeof part.text !== "string") {
        const kind = isObject(part) && typeof part.type === "string" ? ` of type "${part.type}"` : "";
        throw invalidRequest(
          `${param}[${index}] is a part${kind} this text-only model cannot read; expected {"type": "text", "text": "..."}`,
          `${param}[${index}]`,
        );
      }
      return part.text;
    })
    .join("");
}

function parseMessage(message: unknown, index: number): ChatMessage {
  const param = `messages[${index}]`;
  if (!isObject(message)) throw invalidRequest(`${param} is ${describe(message)}; expected an object`, param);
  const role = message.role;
  if (typeof role !== "string" || !ROLES.has(role)) {
    throw invalidRequest(
      `${param}.role is ${describe(role)}; expected one of system, developer, user, assistant, tool`,
      `${param}.role`,
    );
  }
  const content = contentText(message.content, `${param}.content`);
  const toolCalls = message.tool_calls;
  if (content === null && !(role === "assistant" && toolCalls !== undefined && toolCalls !== null)) {
    throw invalidRequest(`${param}.content is missing; expected a string`, `${param}.content`);
  }
  // "developer" is OpenAI's newer name for the system role.
  const parsed: ChatMessage = { role: role === "developer" ? "system" : role, content: content ?? "" };
  if (message.reasoning_content !== undefined && message.reasoning_content !== null) {
    if (typeof message.reasoning_content !== "string") {
      throw invalidRequest(`${param}.reasoning_content must be a string`, `${param}.reasoning_content`);
    }
    parsed.reasoning_content = message.reasoning_content;
  }
  if (toolCalls !== undefined && toolCalls !== null) {
    if (role !== "assistant" || !Array.isArray(toolCalls)) {
      throw invalidRequest(`${param}.tool_calls must be an array on an assistant message`, `${param}.tool_calls`);
    }
    parsed.tool_calls = toolCalls.map((call, callIndex) => {
      const at = `${param}.tool_calls[${callIndex}]`;
      const fn = isObject(call) ? call.function : undefined;
      if (!isObject(fn) || typeof fn.name !== "string") {
        throw invalidRequest(`${at}.function.name is missing; expected a string`, `${at}.function.name`);
      }
      if (fn.arguments !== undefined && typeof fn.arguments !== "string" && !isObject(fn.arguments)) {
        throw invalidRequest(`${at}.function.arguments must be a JSON string`, `${at}.function.arguments`);
      }
      return { type: "function", function: { name: fn.name, arguments: fn.arguments ?? "{}" } };
    });
  }
  return parsed;
}

function parseTools(body: Record<string, unknown>): unknown[] | undefined {
  const tools = body.tools;
  const choice = body.tool_choice;
  if (choice !== undefined && choice !== null && choice !== "auto" && choice !== "none") {
    throw invalidRequest(
      `tool_choice ${describe(choice)} is not supported; this server lets the model choose ("auto") or gives it no tools ("none")`,
      "tool_choice",
      "unsupported_value",
    );
  }
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools) || tools.length > MAX_TOOLS) {
    throw invalidRequest(`tools must be an array of at most ${MAX_TOOLS} function definitions`, "tools");
  }
  tools.forEach((tool, index) => {
    const fn = isObject(tool) ? tool.function : undefined;
    if (!isObject(tool) || tool.type !== "function" || !isObject(fn) || typeof fn.name !== "string" || fn.name === "") {
      throw invalidRequest(
        `tools[${index}] must be {"type": "function", "function": {"name": ..., "parameters": ...}}`,
        `tools[${index}]`,
      );
    }
  });
  if (choice === "none" || tools.length === 0) return undefined;
  return tools;
}

function parseStop(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = typeof value === "string" ? [value] : value;
  if (
    !Array.isArray(list) ||
    list.length > MAX_STOP ||
    !list.every((item) => typeof item === "string" && item.length > 0 && item.length <= MAX_STOP_LENGTH)
  ) {
    throw invalidRequest(
      `stop is ${describe(value)}; expected a non-empty string or an array of at most ${MAX_STOP} of them`,
      "stop",
    );
  }
  return list as string[];
}

function parseThinking(body: Record<string, unknown>): boolean {
  const direct = optionalBoolean(body, "open_thinking");
  const kwargs = body.chat_template_kwargs;
  if (kwargs === undefined || kwargs === null) return direct ?? false;
  if (!isObject(kwargs)) {
    throw invalidRequest(`chat_template_kwargs is ${describe(kwargs)}; expected an object`, "chat_template_kwargs");
  }
  const enable = optionalBoolean(kwargs, "enable_thinking", "chat_template_kwargs.enable_thinking");
  const open = optionalBoolean(kwargs, "open_thinking", "chat_template_kwargs.open_thinking");
  return direct === true || enable === true || open === true;
}

/** Checks a parsed JSON body; throws an ApiError (400) naming the first field at fault. */
export function parseChatRequest(body: unknown): ChatRequest {
  if (!isObject(body)) throw invalidRequest("the request body must be a JSON object");
  const model = body.model;
  if (typeof model !== "string" || model === "") {
    throw invalidRequest(
      `model is ${describe(model)}; expected the model's id (GET /v1/models)`,
      "model",
      "missing_required_parameter",
    );
  }
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw invalidRequest(
      `messages is ${describe(messages)}; expected a non-empty array of {role, content}`,
      "messages",
      messages === undefined ? "missing_required_parameter" : "invalid_value",
    );
  }
  if (messages.length > MAX_MESSAGES)
    throw invalidRequest(`messages has more than ${MAX_MESSAGES} entries`, "messages");
  const parsedMessages = messages.map(parseMessage);
  const n = optionalNumber(body, "n", 1, (value) => Number.isInteger(value) && value >= 1, "a positive integer");
  if (n !== 1) throw invalidRequest(`n is ${n}; this server returns one choice (n: 1)`, "n", "unsupported_value");
  if (body.logprobs === true) {
    throw invalidRequest("logprobs are not supported by this server", "logprobs", "unsupported_value");
  }
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && !isObject(streamOptions)) {
    throw invalidRequest(`stream_options is ${describe(streamOptions)}; expected an object`, "stream_options");
  }
  const maxTokensName =
    body.max_completion_tokens !== undefined && body.max_completion_tokens !== null
      ? "max_completion_tokens"
      : "max_tokens";
  const maxTokens = optionalNumber(
    body,
    maxTokensName,
    Number.NaN,
    (value) => Number.isSafeInteger(value) && value >= 1,
    "a positive integer",
  );
  const seed = optionalNumber(body, "seed", Number.NaN, Number.isSafeInteger, "an integer");
  return {
    model,
    messages: parsedMessages,
    stream: optionalBoolean(body, "stream") ?? false,
    includeUsage: isObject(streamOptions) && streamOptions.include_usage === true,
    temperature: optionalNumber(body, "temperature", 1, (value) => value >= 0 && value <= 2, "a number from 0 to 2"),
    topP: optionalNumber(body, "top_p", 1, (value) => value > 0 && value <= 1, "a number above 0, at most 1"),
    maxTokens: Number.isNaN(maxTokens) ? undefined : maxTokens,
    stop: parseStop(body.stop),
    seed: Number.isNaN(seed) ? undefined : Math.abs(seed) % 2 ** 32,
    tools: parseTools(body),
    thinking: parseThinking(body),
  };
}

/** 401 unless the Authorization header carries the key (`Bearer <key>`); no key configured lets all in. */
export function checkApiKey(header: string | undefined, apiKey: string | undefined): void {
  if (apiKey === undefined) return;
  const given = header?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
  // compare digests in constant time, so the answer's timing does not leak how much of the key matched
  const digest = (text: string) => createHash("sha256").update(text).digest();
  if (given !== undefined && timingSafeEqual(digest(given), digest(apiKey))) return;
  throw new ApiError(
    401,
    given === undefined
      ? "missing API key: send it as the header Authorization: Bearer <key>"
      : "incorrect API key provided",
    "authentication_error",
    null,
    "invalid_api_key",
    { "WWW-Authenticate": 'Bearer realm="minimind"' },
  );
}
