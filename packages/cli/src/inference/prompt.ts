/**
 * A prompt for `generate` and `eval`: plain text (a continuation) or one user message through the chat
 * template, as token ids with the attention strategy its `--mask` asks for. Mirrors @minimind/model's
 * `TextModel.stream`, but keeps the ids so the commands can count prompt and generated tokens.
 * Not here: multi-turn chat (ChatSession does that).
 */
import { prefixLM, type StrategyLike, segments, segmentVectorFromRoles } from "@minimind/attention";
import type { PromptMask, TextModel } from "@minimind/model";
import type { ChatMessage } from "@minimind/tokenizer";

export interface EncodedPrompt {
  ids: number[];
  attention?: StrategyLike;
}

/** Ids and strategy of `input` (a string continues as it is; messages go through the chat template). */
export function encodePrompt(
  textModel: TextModel,
  input: string | readonly ChatMessage[],
  options: { thinking?: boolean; mask?: PromptMask } = {},
): EncodedPrompt {
  const { ids, roles } = textModel.encodePrompt(input, { thinking: options.thinking ?? false });
  const mask = options.mask ?? "causal";
  if (mask === "causal") return { ids };
  if (mask === "prefix") return { ids, attention: prefixLM(ids.length) };
  if (mask === "segments") return { ids, attention: segments(segmentVectorFromRoles(roles)) };
  return { ids, attention: mask({ ids, roles }) };
}

export interface Completion {
  text: string;
  promptTokens: number;
  generatedTokens: number;
  seconds: number;
}

/** Generates for one prompt, passing each text chunk to `onText` as it arrives. */
export async function complete(
  textModel: TextModel,
  prompt: EncodedPrompt,
  options: Record<string, unknown>,
  onText: (text: string) => void = () => {},
): Promise<Completion> {
  const started = performance.now();
  const generated: number[] = [];
  let text = "";
  const generation = { ...options, ...(prompt.attention === undefined ? {} : { attention: prompt.attention }) };
  for await (const chunk of textModel.streamIds(prompt.ids, generation, [], generated)) {
    text += chunk;
    onText(chunk);
  }
  return {
    text,
    promptTokens: prompt.ids.length,
    generatedTokens: generated.length,
    seconds: (performance.now() - started) / 1000,
  };
}
