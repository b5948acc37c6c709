/**
 * SFT rows as upstream's `SFTDataset` builds them: `{"conversations": [{role, content, reasoning_content?,
 * tools?, tool_calls?}]}` → MiniMind's chat template → ids truncated to maxSeqLen → loss only on assistant
 * spans (`<|im_start|>assistant\n` … `<|im_end|>\n`). Upstream's augmentations, seeded per (seed, epoch,
 * record) so a resumed run redraws them identically: a random system prompt for 20 % of conversations
 * without one (none for tool conversations), and `<think>\n\n</think>\n\n` (an empty thinking block)
 * removed from 80 % of renderings. Every row carries per-token roles and turn indices from the tokenizer.
 * Not here: the template itself (@minimind/tokenizer), batching (loader.ts).
 */
import type { ChatMessage, Tokenizer } from "@minimind/tokenizer";
import { type BadLine, JsonLinesIndex, type OnBadLine } from "./jsonl.js";
import { seededUniform } from "./random.js";
import {
  checkMaxSeqLen,
  type RecordSource,
  recordsFromJsonLines,
  type TrainingDataset,
  type TrainingSample,
} from "./sample.js";

/** Upstream's system prompts for the augmentation (`lm_dataset.py`). */
export const UPSTREAM_SYSTEM_PROMPTS: readonly string[] = [
  "你是一个知识丰富的AI，尽力为用户提供准确的信息。",
  "你是minimind，一个小巧但有用的语言模型。",
  "你是一个专业的AI助手，请提供有价值的回答。",
  "你是minimind，请尽力帮助用户解决问题。",
  "你是一个可靠的AI，请给出准确的回答。",
  "You are a helpful AI assistant.",
  "You are minimind, a lightweight intelligent assistant.",
  "You are a friendly chatbot. Please answer the user's questions carefully.",
  "You are a knowledgeable AI. Try your best to provide accurate information.",
  "You are minimind, a small but useful language model.",
];

const EMPTY_THINK = "<think>\n\n</think>\n\n";

export interface SFTDatasetOptions {
  readonly tokenizer: Tokenizer;
  /** Longest row in tokens (upstream default 768 for full SFT). */
  readonly maxSeqLen?: number;
  /** Seed of the augmentations (default 42, upstream's). */
  readonly seed?: number;
  /** Share of conversations without a system turn that get a random system prompt (default 0.2; 0 = off). */
  readonly addSystemRatio?: number;
  /** Share of renderings that keep an empty `<think>` block (default 0.2; 1 = never strip). */
  readonly emptyThinkRatio?: number;
  /** The system prompts to draw from (default upstream's ten). */
  readonly systemPrompts?: readonly string[];
}

export interface SFTFileOptions extends SFTDatasetOptions {
  readonly onBadLine?: OnBadLine;
  readonly report?: (badLine: BadLine) => void;
}

/** Checks an SFT record: `conversations` is a non-empty array of objects with a string role. */
export function sftRecordProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
  const conversations = (value as { conversations?: unknown }).conversations;
  if (!Array.isArray(conversations) || conversations.length === 0) {
    return 'field "conversations" must be a non-empty array of messages';
  }
  for (const [index, message] of conversations.entries()) {
    if (typeof message !== "object" || message === null) return `conversations[${index}] is not an object`;
    const { role, content } = message as { role?: unknown; content?: unknown };
    if (typeof role !== "string") return `conversations[${index}].role is ${typeof role}; expected a string`;
    if (content !== undefined && content !== null && typeof content !== "string") {
      return `conversations[${index}].content is ${typeof content}; expected a string`;
    }
  }
  return undefined;
}

function parseMaybeJson(value: unknown, what: string): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new Error(`${what} is a string that is not JSON`);
  }
}

export class SFTDataset implements TrainingDataset {
  readonly maxSeqLen: number;
  readonly seed: number;
  private readonly addSystemRatio: number;
  private readonly emptyThinkRatio: number;
  private readonly systemPrompts: readonly string[];

  constructor(
    readonly records: RecordSource,
    private readonly options: SFTDatasetOptions,
  ) {
    this.maxSeqLen = options.maxSeqLen ?? 768;
    checkMaxSeqLen(this.maxSeqLen, "SFTDataset");
    this.seed = options.seed ?? 42;
    this.addSystemRatio = options.addSystemRatio ?? 0.2;
    this.emptyThinkRatio = options.emptyThinkRatio ?? 0.2;
    this.systemPrompts = options.systemPrompts ?? UPSTREAM_SYSTEM_PROMPTS;
    for (const [name, ratio] of [
      ["addSystemRatio", this.addSystemRatio],
      ["emptyThinkRatio", this.emptyThinkRatio],
    ] as const) {
      if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`[SFTDataset] ${name} is ${ratio}; use a value in [0, 1]`);
    }
    if (this.systemPrompts.length === 0 && this.addSystemRatio > 0) {
      throw new Error("[SFTDataset] systemPrompts is empty while addSystemRatio > 0");
    }
  }

  /** A dataset over a JSONL file of `{"conversations": […]}` records, indexed in one streaming pass. */
  static async fromFile(file: string, options: SFTFileOptions): Promise<SFTDataset> {
    const index = await JsonLinesIndex.build(file, {
      onBadLine: options.onBadLine,
      report: options.report,
      validate: sftRecordProblem,
    });
    return new SFTDataset(recordsFromJsonLines(index), options);
  }

  get length(): number {
    return this.records.length;
  }

  /** No augmentation can change a row: no system prompts added and empty thinking blocks always kept. */
  get epochInvariant(): boolean {
    return this.addSystemRatio === 0 && this.emptyThinkRatio === 1;
  }

  /** The conversation of record `index` rendered as text, with the augmentations drawn for `epoch`. */
  render(index: number, epoch = 0): string {
    const where = this.records.describe(index);
    const record = this.records.read(index);
    const problem = sftRecordProblem(record);
    if (problem !== undefined) throw new Error(`[SFTDataset] ${where}: ${problem}`);
    const { conversations, tools: recordTools } = record as { conversations: ChatMessage[]; tools?: unknown };
    const uniform = seededUniform(this.seed, epoch, index);
    const drawSystem = uniform();
    const drawPrompt = uniform();
    const drawThink = uniform();
    let tools: unknown = recordTools === undefined ? undefined : parseMaybeJson(recordTools, `${where}: tools`);
    const messages: ChatMessage[] = conversations.map((message, position) => {
      const copy: ChatMessage = { ...message };
      if (message.role === "system" && message.tools) {
        tools = parseMaybeJson(message.tools, `${where}: conversations[${position}].tools`);
      }
      if (typeof message.tool_calls === "string") {
        copy.tool_calls = parseMaybeJson(
          message.tool_calls,
          `${where}: conversations[${position}].tool_calls`,
        ) as unknown[];
      }
      return copy;
    });
    const usesTools = conversations.some((message) => Boolean(message.tools)) || recordTools !== undefined;
    if (!usesTools && messages[0]?.role !== "system" && drawSystem < this.addSystemRatio) {
      const prompt = this.systemPrompts[Math.floor(drawPrompt * this.systemPrompts.length)] as string;
      messages.unshift({ role: "system", content: prompt });
    }
    let text = this.options.tokenizer.applyChatTemplate(messages, {
      tokenize: false,
      ...(Array.isArray(tools) ? { tools } : {}),
    });
    if (text.includes(EMPTY_THINK) && drawThink > this.emptyThinkRatio) text = text.split(EMPTY_THINK).join("");
    return text;
  }

  sample(index: number, epoch = 0): TrainingSample {
    const tokenizer = this.options.tokenizer;
    const ids = tokenizer.encode(this.render(index, epoch)).slice(0, this.maxSeqLen);
    const { labels, roles, segments } = tokenizer.chatSegments(ids);
    return {
      inputIds: Int32Array.from(ids),
      labels: Int32Array.from(labels),
      roles,
      segments: Int32Array.from(segments),
    };
  }
}
