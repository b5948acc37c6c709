import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { compactMerges, expandMerges } from "./embedded-merges.js";

const file = JSON.parse(readFileSync(new URL("../data/tokenizer.json", import.meta.url), "utf8")) as {
  model: { merges: [string, string][] };
};

describe("embedded merges", () => {
  it("round-trips MiniMind's tokenizer.json to the very same object, and packs smaller", () => {
    const compact = compactMerges(file) as { model: { merges: unknown } };
    expect(typeof compact.model.merges).toBe("string");
    expect(expandMerges(compact)).toEqual(file);
    expect(file.model.merges.length).toBe(6108);
    const size = (value: unknown) => gzipSync(JSON.stringify(value)).length;
    expect(size(compact)).toBeLessThan(size(file) - 5000);
  });

  it("leaves a file with merge pairs as it is, and keeps an empty merge list empty", () => {
    expect(expandMerges(file)).toBe(file);
    const empty = { model: { vocab: { a: 0 }, merges: [] } };
    expect(expandMerges(compactMerges(empty))).toEqual(empty);
  });

  it("names the merge it cannot compact or expand", () => {
    const vocab = { a: 0, b: 1 };
    expect(() => compactMerges({ model: { vocab, merges: [["a", "c"]] } })).toThrow(
      '[tokenizer] compactMerges: merge 0 part "c" is not in the vocabulary',
    );
    expect(() => compactMerges({ model: { vocab, merges: ["a b"] } })).toThrow('merge 0 is in the "a b" string form');
    expect(() => expandMerges({ model: { vocab, merges: "0,1,1,5" } })).toThrow(
      "[tokenizer] expandMerges: merge 1 names an id outside the vocabulary",
    );
    expect(() => compactMerges({ vocab })).toThrow("[tokenizer] compactMerges: the tokenizer JSON has no model.vocab");
  });
});
