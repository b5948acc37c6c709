import { describe, expect, it } from "vitest";
import { IGNORE_INDEX, type SegmentRole, sftLabels } from "./sft.js";
import { Tokenizer } from "./tokenizer.js";

const tokenizer = Tokenizer.minimind();

describe("sftLabels", () => {
  it("keeps tokens after each assistant start through the matching end, inclusive", () => {
    const start = [1, 9, 7];
    const end = [2, 7];
    //             0  1  2  3  4  5  6  7  8  9 10 11 12
    const ids = [5, 1, 9, 7, 40, 41, 2, 7, 6, 1, 9, 7, 42];
    const ignored = IGNORE_INDEX;
    expect(sftLabels(ids, start, end)).toEqual([
      ignored,
      ignored,
      ignored,
      ignored,
      40,
      41,
      2,
      7,
      ignored,
      ignored,
      ignored,
      ignored,
      42,
    ]);
    expect(sftLabels([1, 9], start, end)).toEqual([ignored, ignored]);
  });
});

describe("chatSegments", () => {
  // Each part encoded on its own, with the role and label its tokens must get.
  const parts: Array<[text: string, role: SegmentRole, turn: number, trained: boolean]> = [
    ["<|im_start|>system\n", "template", 0, false],
    ["你是minimind", "system", 0, false],
    ["<|im_end|>\n", "system", 0, false],
    ["<|im_start|>user\n", "template", 1, false],
    ["你好", "user", 1, false],
    ["<|im_end|>\n", "user", 1, false],
    ["<|im_start|>assistant\n", "template", 2, false],
    ["<think>\n\n</think>\n\n你好！", "assistant", 2, true],
    ["<|im_end|>\n", "assistant", 2, true],
    ["<|im_start|>user\n", "template", 3, false],
    ["<tool_response>\n21\n</tool_response>", "tool", 3, false],
    ["<|im_end|>\n", "tool", 3, false],
    ["<|im_start|>assistant\n", "template", 4, false],
    ["<think>\n", "assistant", 4, true],
  ];
  const ids = parts.flatMap(([text]) => tokenizer.encode(text));
  const expected = parts.flatMap(([text, role, turn, trained]) =>
    tokenizer.encode(text).map((id) => ({ role, turn, label: trained ? id : IGNORE_INDEX })),
  );

  it("the parts encode to the same ids as the whole conversation", () => {
    expect(tokenizer.encode(parts.map(([text]) => text).join(""))).toEqual(ids);
  });

  it("gives each token its turn's role, headers the template role, and MiniMind's labels", () => {
    const segments = tokenizer.chatSegments(ids);
    expect(segments.roles).toEqual(expected.map((entry) => entry.role));
    expect(segments.segments).toEqual(expected.map((entry) => entry.turn));
    expect(segments.labels).toEqual(expected.map((entry) => entry.label));
    expect(tokenizer.sftLabels(ids)).toEqual(segments.labels);
  });

  it("puts text outside turns in template segments of its own", () => {
    const outside = tokenizer.encode("plain<|im_start|>user\nhi<|im_end|>\ntail");
    const { roles, segments } = tokenizer.chatSegments(outside);
    const plain = tokenizer.encode("plain").length;
    const tail = tokenizer.encode("tail").length;
    expect(roles.slice(0, plain)).toEqual(new Array(plain).fill("template"));
    expect(roles.slice(-tail)).toEqual(new Array(tail).fill("template"));
    expect(segments[0]).toBe(0);
    expect(segments[plain]).toBe(1);
    expect(segments.at(-1)).toBe(2);
  });

  it("encodeChat renders, encodes and labels in one call", () => {
    const chat = tokenizer.encodeChat([
      { role: "user", content: "1+1=?" },
      { role: "assistant", content: "2" },
    ]);
    expect(chat.text).toBe(
      "<|im_start|>user\n1+1=?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n2<|im_end|>\n",
    );
    expect(chat.ids).toEqual(tokenizer.encode(chat.text));
    expect(chat.roles).toHaveLength(chat.ids.length);
    expect(new Set(chat.roles)).toEqual(new Set(["template", "user", "assistant"]));
    const trained = chat.labels.filter((label) => label !== IGNORE_INDEX);
    expect(tokenizer.decode(trained)).toBe("<think>\n\n</think>\n\n2<|im_end|>\n");
  });
});
