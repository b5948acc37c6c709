import { describe, expect, it } from "vitest";
import { AnswerText } from "./answer-text.js";

interface Whole {
  content: string;
  reasoning: string;
  calls: { name: string; arguments: string }[];
  stopped: boolean;
}

/** Feeds `chunks` one by one and joins what comes out. */
function run(chunks: readonly string[], options: { thinking?: boolean; tools?: boolean; stop?: string[] } = {}): Whole {
  const answer = new AnswerText({
    thinking: options.thinking ?? false,
    tools: options.tools ?? false,
    stop: options.stop ?? [],
    idPrefix: "call_test",
  });
  const whole: Whole = { content: "", reasoning: "", calls: [], stopped: false };
  for (const chunk of chunks) {
    const delta = answer.push(chunk);
    whole.content += delta.content;
    whole.reasoning += delta.reasoning;
    whole.calls.push(...delta.toolCalls.map((call) => call.function));
    if (answer.stopped) break;
  }
  const rest = answer.finish();
  whole.content += rest.content;
  whole.reasoning += rest.reasoning;
  whole.calls.push(...rest.toolCalls.map((call) => call.function));
  whole.stopped = answer.stopped;
  return whole;
}

/** Every way of cutting `text` in two, plus one character at a time: the result must not depend on it. */
function chunkings(text: string): string[][] {
  const cuts = Array.from({ length: text.length + 1 }, (_, at) => [text.slice(0, at), text.slice(at)]);
  return [[text], [...text], ...cuts];
}

describe("AnswerText", () => {
  it("splits an open <think> block into reasoning_content, however the text arrives", () => {
    const text = "\n月光照在床前。\n</think>\n\n疑是地上霜。";
    for (const chunks of chunkings(text)) {
      expect(run(chunks, { thinking: true })).toEqual({
        content: "疑是地上霜。",
        reasoning: "月光照在床前。\n",
        calls: [],
        stopped: false,
      });
    }
  });

  it("reads a whole <think>…</think> block at the start of an answer when thinking was not opened", () => {
    for (const chunks of chunkings("  <think>想一想</think>\n答案")) {
      expect(run(chunks)).toMatchObject({ content: "答案", reasoning: "想一想" });
    }
    // a <think> later in the text is content
    expect(run(["答：<think>x</think>"])).toMatchObject({ content: "答：<think>x</think>", reasoning: "" });
  });

  it("parses <tool_call> blocks into tool calls when tools were given, and leaves bad JSON as text", () => {
    const text = '好的。\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "北京"}}\n</tool_call>';
    for (const chunks of chunkings(text)) {
      expect(run(chunks, { tools: true })).toEqual({
        content: "好的。\n",
        reasoning: "",
        calls: [{ name: "get_weather", arguments: '{"city":"北京"}' }],
        stopped: false,
      });
    }
    expect(run([text])).toMatchObject({ content: text, calls: [] }); // no tools: plain text
    expect(run(["<tool_call>{not json}</tool_call>"], { tools: true })).toMatchObject({
      content: "<tool_call>{not json}</tool_call>",
      calls: [],
    });
    expect(run(['<tool_call>{"name": "a"'], { tools: true })).toMatchObject({
      content: '<tool_call>{"name": "a"',
      calls: [],
    });
  });

  it("cuts the text before a stop string, also one split across chunks, and reports it", () => {
    for (const chunks of chunkings("床前明月光，疑是地上霜")) {
      expect(run(chunks, { stop: ["明月", "霜霜"] })).toEqual({
        content: "床前",
        reasoning: "",
        calls: [],
        stopped: true,
      });
    }
    // a held-back prefix of a stop string that never completes is emitted at the end
    expect(run(["床前", "明"], { stop: ["明月"] })).toEqual({
      content: "床前明",
      reasoning: "",
      calls: [],
      stopped: false,
    });
    expect(run(["\n思考"], { thinking: true, stop: ["考"] })).toMatchObject({ reasoning: "思", stopped: true });
  });

  it("numbers tool call ids in order", () => {
    const answer = new AnswerText({ thinking: false, tools: true, stop: [], idPrefix: "call_x" });
    const delta = answer.push(
      '<tool_call>{"name":"a","arguments":{}}</tool_call><tool_call>{"name":"b","arguments":"{}"}</tool_call>',
    );
    expect(delta.toolCalls.map((call) => [call.id, call.function.name, call.function.arguments])).toEqual([
      ["call_x_0", "a", "{}"],
      ["call_x_1", "b", "{}"],
    ]);
  });
});
