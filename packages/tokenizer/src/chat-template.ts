/**
 * Chat templates rendered with `@huggingface/jinja`, set up the way transformers sets up Jinja2:
 * `trim_blocks` and `lstrip_blocks` on, `tojson` keeping non-ASCII characters with Python's `", "` / `": "`
 * separators, `raise_exception` and `strftime_now` available, and the special tokens of
 * tokenizer_config.json passed as variables. Compiled templates are cached by source. Not a Jinja engine.
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

export function renderChatTemplate(
  source: string,
  messages: readonly ChatMessage[],
  options: ChatTemplateOptions,
  specialTokens: Record<string, unknown>,
): string {
  if (!Array.isArray(messages)) throw new TypeError("[tokenizer] applyChatTemplate: messages must be an array");
  messages.forEach((message, index) => {
    if (typeof message !== "object" || message === null || typeof message.role !== "string") {
      throw new TypeError(`[tokenizer] applyChatTemplate: messages[${index}] must be an object with a string role`);
    }
  });
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
