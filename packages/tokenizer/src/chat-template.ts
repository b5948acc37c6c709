/**
 * Chat templates rendered with `@huggingface/jinja`, set up the way transformers sets up Jinja2:
 * `trim_blocks` and `lstrip_blocks` on, `tojson` keeping non-ASCII characters with Python's `", "` / `": "`
 * separators, `raise_exception` and `strftime_now` available, and the special tokens of
 * tokenizer_config.json passed as variables, and the conversation checked first (roles, content types, option
 * keys), so nothing renders silently as empty. Compiled templates are cached by source. Not a Jinja engine.
 */
import { Template } from "@huggingface/jinja";

/** One chat message, as in transformers: role and content, plus optional reasoning and tool calls. */
export interface ChatMessage {
  role: string;
  content?: string | null;
  reasoning_content?: string;
  tool_calls?: unknown[];
  [field: string]: unknown;
}

export interface ChatTemplateOptions {
  /** Tool (function) schemas, rendered by the template into the system turn. */
  tools?: readonly unknown[];
  /** End with the opening of an assistant turn (`<|im_start|>assistant\n…`). */
  addGenerationPrompt?: boolean;
  /** MiniMind's `open_thinking`: leave the `<think>` block open for the model to fill. */
  openThinking?: boolean;
  /** Use this template instead of the one in tokenizer_config.json. */
  chatTemplate?: string;
  /** More template variables, passed as they are (like transformers' `**kwargs`). */
  variables?: Record<string, unknown>;
}

const compiled = new Map<string, Template>();

function compile(source: string): Template {
  let template = compiled.get(source);
  if (template === undefined) {
    try {
      template = new Template(source);
    } catch (error) {
      throw new Error(`[tokenizer] chat_template does not parse: ${(error as Error).message}`);
    }
    compiled.set(source, template);
  }
  return template;
}

/** The roles ChatML templates (MiniMind's, Qwen's) render; any other role would render as nothing. */
export const CHAT_ROLES: readonly string[] = ["system", "user", "assistant", "tool"];

const chatTemplateOptionNames = new Set(["tools", "addGenerationPrompt", "openThinking", "chatTemplate", "variables"]);

function fail(message: string): never {
  throw new Error(`[tokenizer] applyChatTemplate: ${message}`);
}

/** A short JSON rendering of an untrusted value for error messages. */
function describe(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = typeof value;
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Checks a conversation and the options before rendering, so that nothing renders silently as empty: each
 * message an object with a string role and string content (absent or null only in an assistant turn, e.g.
 * one that holds tool_calls), reasoning_content a string,
 * tool_calls an array. With the tokenizer's own template (`strictRoles`) the role must be one of CHAT_ROLES;
 * a caller's `chatTemplate` may define others. Option keys and types are checked too.
 */
export function checkChatInput(
  messages: readonly ChatMessage[],
  options: ChatTemplateOptions & { tokenize?: boolean },
  strictRoles: boolean,
): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) fail("options must be an object");
  for (const name of Object.keys(options)) {
    if (!chatTemplateOptionNames.has(name) && name !== "tokenize")
      fail(`unknown option "${name}"; expected one of ${[...chatTemplateOptionNames, "tokenize"].join(", ")}`);
  }
  for (const name of ["addGenerationPrompt", "openThinking", "tokenize"] as const) {
    const value: unknown = options[name];
    if (value !== undefined && typeof value !== "boolean")
      fail(`${name} is ${describe(value)}; expected true or false`);
  }
  if (options.chatTemplate !== undefined && typeof options.chatTemplate !== "string")
    fail(`chatTemplate is ${describe(options.chatTemplate)}; expected the template's source text`);
  if (options.tools !== undefined && options.tools !== null && !Array.isArray(options.tools))
    fail(`tools is ${describe(options.tools)}; expected an array of tool schemas`);
  const variables: unknown = options.variables;
  if (variables !== undefined && (typeof variables !== "object" || variables === null || Array.isArray(variables)))
    fail(`variables is ${describe(variables)}; expected an object`);
  if (!Array.isArray(messages)) fail(`messages is ${describe(messages)}; expected an array of { role, content }`);
  messages.forEach((message: unknown, index) => {
    if (typeof message !== "object" || message === null || typeof (message as ChatMessage).role !== "string") {
      fail(`messages[${index}] must be an object with a string role`);
    }
    const { role, content, reasoning_content: reasoning, tool_calls: toolCalls } = message as ChatMessage;
    if (strictRoles && !CHAT_ROLES.includes(role))
      fail(`messages[${index}].role is ${describe(role)}; expected ${CHAT_ROLES.join(", ")}`);
    const absent = content === undefined || content === null;
    if (absent ? role !== "assistant" : typeof content !== "string")
      fail(
        `messages[${index}].content is ${describe(content)}; expected a string (only an assistant turn, e.g. one with tool_calls, may leave it out)`,
      );
    if (reasoning !== undefined && typeof reasoning !== "string")
      fail(`messages[${index}].reasoning_content is ${describe(reasoning)}; expected a string`);
    if (toolCalls !== undefined && toolCalls !== null && !Array.isArray(toolCalls))
      fail(`messages[${index}].tool_calls is ${describe(toolCalls)}; expected an array`);
  });
}

export function renderChatTemplate(
  source: string,
  messages: readonly ChatMessage[],
  options: ChatTemplateOptions,
  specialTokens: Record<string, unknown>,
): string {
  const variables: Record<string, unknown> = {
    ...specialTokens,
    ...options.variables,
    messages,
    add_generation_prompt: options.addGenerationPrompt === true,
  };
  // Like transformers, pass only what was given: templates test `tools` for truth and `open_thinking`
  // with `is defined`.
  if (options.tools !== undefined && options.tools !== null) variables.tools = options.tools;
  if (options.openThinking !== undefined) variables.open_thinking = options.openThinking;
  try {
    return compile(source).render(variables);
  } catch (error) {
    throw new Error(`[tokenizer] chat_template failed to render: ${(error as Error).message}`);
  }
}
