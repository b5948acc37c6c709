/**
 * Answer exact-match on SFT question–answer records (what `minimind data` writes to sft-heldout.jsonl): the
 * conversation up to its last assistant message is the prompt, that message the expected answer; the model
 * answers greedily and an answer matches when it equals the expected one after trimming spaces and end
 * punctuation. Shared by `eval` and `demo`. Not here: the answer-token loss (@minimind/train's `evaluate`).
 */
import type { PromptMask, TextModel } from "@minimind/model";
import type { ChatMessage } from "@minimind/tokenizer";
import { complete, encodePrompt } from "./prompt.js";

export interface Question {
  messages: ChatMessage[];
  expected: string;
  kind?: string;
}

export interface AnsweredQuestion extends Question {
  answer: string;
  match: boolean;
}

/** The question in an SFT record, or undefined when it has no assistant answer after a user turn. */
export function questionOf(record: unknown): Question | undefined {
  const { conversations, kind } = record as { conversations: { role: string; content?: string }[]; kind?: unknown };
  const last = conversations.map((message) => message.role).lastIndexOf("assistant");
  if (last < 1) return undefined;
  const messages = conversations.slice(0, last).map((message) => ({
    role: message.role,
    content: message.content ?? "",
  })) as ChatMessage[];
  return {
    messages,
    expected: conversations[last]?.content ?? "",
    ...(typeof kind === "string" ? { kind } : {}),
  };
}

/** Trims spaces and end punctuation, so 「疑是地上霜。」 matches 「疑是地上霜」. */
export function normalizeAnswer(text: string): string {
  return text
    .trim()
    .replace(/[\s。．.！!？?，,；;、]+$/u, "")
    .trim();
}

/** Answers each question greedily; `onAnswer` sees each result as it comes. */
export async function answerQuestions(
  textModel: TextModel,
  questions: readonly Question[],
  options: { maxNewTokens: number; mask?: PromptMask; onAnswer?: (answered: AnsweredQuestion, index: number) => void },
): Promise<AnsweredQuestion[]> {
  const answered: AnsweredQuestion[] = [];
  for (const [index, question] of questions.entries()) {
    const prompt = encodePrompt(textModel, question.messages, { mask: options.mask ?? "causal" });
    const { text } = await complete(textModel, prompt, { maxNewTokens: options.maxNewTokens, doSample: false });
    const answer = text.trim();
    const result = { ...question, answer, match: normalizeAnswer(answer) === normalizeAnswer(question.expected) };
    answered.push(result);
    options.onAnswer?.(result, index);
  }
  return answered;
}
