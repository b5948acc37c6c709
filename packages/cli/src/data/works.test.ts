import { describe, expect, it } from "vitest";
import { loadShippedCorpus, parseJsonl, parsePlainText } from "./works.js";

describe("parseJsonl", () => {
  it("reads works, texts and conversations", () => {
    const contents = parseJsonl(
      [
        '{"title":"春晓","author":"孟浩然","lines":["春眠不觉晓，处处闻啼鸟。"]}',
        "",
        '{"text":"hello"}',
        '{"conversations":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}',
      ].join("\n"),
      "mine.jsonl",
    );
    expect(contents.works).toEqual([
      { collection: "mine.jsonl", title: "春晓", author: "孟浩然", lines: ["春眠不觉晓，处处闻啼鸟。"] },
    ]);
    expect(contents.texts).toEqual(["hello"]);
    expect(contents.conversations).toHaveLength(1);
  });

  it.each([
    ['{"text":"ok"}\n{"text": oops}', /^mine\.jsonl:2: not valid JSON/],
    ["[1,2]", /^mine\.jsonl:1: expected a JSON object/],
    ['{"txt":"a"}', /^mine\.jsonl:1: expected \{"text": …}.*got keys txt/],
    ['{"text":""}', /^mine\.jsonl:1: "text" must be a non-empty string/],
    ['{"conversations":[{"role":"bot","content":"x"}]}', /^mine\.jsonl:1: conversations\[0\]\.role is "bot"/],
    ['{"conversations":[{"role":"user","content":3}]}', /^mine\.jsonl:1: conversations\[0\]\.content must be a string/],
    ['{"title":"t","lines":[]}', /^mine\.jsonl:1: "lines" must be a non-empty array of strings/],
  ])("names file and line of a bad line: %s", (text, message) => {
    expect(() => parseJsonl(text, "mine.jsonl")).toThrow(message);
  });
});

describe("parsePlainText", () => {
  it("makes one work per blank-line-separated block", () => {
    expect(parsePlainText("a\nb\n\n\n  c  \n", "notes.txt")).toEqual([
      { collection: "notes.txt", title: "", author: "", lines: ["a", "b"] },
      { collection: "notes.txt", title: "", author: "", lines: ["c"] },
    ]);
  });
});

describe("loadShippedCorpus", () => {
  it("reads the shipped corpus and filters by collection", () => {
    const analects = loadShippedCorpus(["analects"]);
    expect(analects).toHaveLength(20);
    expect(analects[0]?.lines[0]).toContain("学而时习之");
    const tang = loadShippedCorpus(["tang"]);
    expect(tang.length).toBeGreaterThan(30_000);
    expect(tang.some((work) => work.title === "静夜思" && work.author === "李白" && work.famous === true)).toBe(true);
    expect(() => loadShippedCorpus(["yuan-qu"])).toThrow(/no collection "yuan-qu"/);
  });
});
