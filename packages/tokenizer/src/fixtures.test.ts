/** Parity with the reference fixtures (`../shared/fixtures/tokenizer`): every case must match exactly. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { ChatMessage } from "./chat-template.js";
import { Tokenizer } from "./tokenizer.js";

const fixtures = new URL("../../../../shared/fixtures/tokenizer/", import.meta.url);
const readJsonl = <T>(name: string): T[] =>
  readFileSync(new URL(name, fixtures), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);

interface EncodeCase {
  text: string;
  ids: number[];
}
interface ChatCase {
  messages: ChatMessage[];
  tools?: unknown[];
  add_generation_prompt?: boolean;
  open_thinking?: boolean;
  text: string;
  ids: number[];
  sft_labels: number[];
}

const encodeCases = readJsonl<EncodeCase>("encode.jsonl");
const chatCases = readJsonl<ChatCase>("chat.jsonl");
const tokenizer = Tokenizer.minimind();

describe("encode.jsonl", () => {
  it("has the expected number of cases", () => {
    expect(encodeCases.length).toBe(318);
  });
  it.each(encodeCases.map((entry, index) => [index, entry] as const))("case %i encodes exactly", (_index, entry) => {
    expect(tokenizer.encode(entry.text)).toEqual(entry.ids);
  });
  it.each(encodeCases.map((entry, index) => [index, entry] as const))("case %i decodes back", (_index, entry) => {
    expect(tokenizer.decode(entry.ids)).toBe(entry.text);
  });
});

describe("chat.jsonl", () => {
  it.each(chatCases.map((entry, index) => [index, entry] as const))("case %i", (_index, entry) => {
    const options = {
      ...(entry.tools === undefined ? {} : { tools: entry.tools }),
      ...(entry.add_generation_prompt === undefined ? {} : { addGenerationPrompt: entry.add_generation_prompt }),
      ...(entry.open_thinking === undefined ? {} : { openThinking: entry.open_thinking }),
    };
    const text = tokenizer.applyChatTemplate(entry.messages, options);
    expect(text).toBe(entry.text);
    expect(tokenizer.applyChatTemplate(entry.messages, { ...options, tokenize: true })).toEqual(entry.ids);
    expect(tokenizer.sftLabels(entry.ids)).toEqual(entry.sft_labels);
    const encoded = tokenizer.encodeChat(entry.messages, options);
    expect(encoded.ids).toEqual(entry.ids);
    expect(encoded.labels).toEqual(entry.sft_labels);
  });
});
