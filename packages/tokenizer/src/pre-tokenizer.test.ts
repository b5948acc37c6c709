import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { splitGpt2 } from "./pre-tokenizer.js";

const pieces = (text: string): string[] => {
  const out: string[] = [];
  splitGpt2(text, 0, text.length, (start, end) => out.push(text.slice(start, end)));
  return out;
};

// Independent reference: the GPT-2 pattern as a JS regex, with `\s` spelled out as Unicode White_Space
// (JS's own `\s` also matches U+FEFF, which the Rust engines behind Hugging Face tokenizers do not).
const S = "\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const GPT2 = new RegExp(
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${S}\\p{L}\\p{N}]+|[${S}]+(?![^${S}])|[${S}]+`,
  "gu",
);
const byRegex = (text: string): string[] => Array.from(text.matchAll(GPT2), (match) => match[0]);

describe("splitGpt2", () => {
  it("splits words, contractions, numbers and punctuation", () => {
    expect(pieces("Hello  World")).toEqual(["Hello", " ", " World"]);
    expect(pieces("don't I'LL we've it'S")).toEqual(["don", "'t", " I", "'", "LL", " we", "'ve", " it", "'", "S"]);
    expect(pieces("3.14 and 1,000")).toEqual(["3", ".", "14", " and", " 1", ",", "000"]);
    expect(pieces("x=[1];")).toEqual(["x", "=[", "1", "];"]);
  });

  it("keeps all but the last space of a run before a word, and whole runs at the end", () => {
    expect(pieces("a   b")).toEqual(["a", "  ", " b"]);
    expect(pieces("a\n\nb")).toEqual(["a", "\n", "\n", "b"]);
    expect(pieces("a \t\n ")).toEqual(["a", " \t\n "]);
    expect(pieces("\t\tx")).toEqual(["\t", "\t", "x"]);
  });

  it("treats combining marks, U+FEFF and control characters as punctuation-like", () => {
    expect(pieces("e\u0301x")).toEqual(["e", "\u0301", "x"]);
    expect(pieces("a\ufeffb")).toEqual(["a", "\ufeff", "b"]);
    expect(pieces("\u0000nul \u0007")).toEqual(["\u0000", "nul", " \u0007"]);
  });

  it("reads astral letters as letters and lone surrogates as punctuation-like", () => {
    expect(pieces("𠀀𠀁 ok")).toEqual(["𠀀𠀁", " ok"]);
    expect(pieces("a\ud800b")).toEqual(["a", "\ud800", "b"]);
    expect(pieces("😀😀 x")).toEqual(["😀😀", " x"]);
  });

  it("tiles the input exactly (empty input gives no piece)", () => {
    expect(pieces("")).toEqual([]);
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        expect(pieces(text).join("")).toBe(text);
      }),
    );
  });

  it("agrees with the regex on arbitrary well-formed text", () => {
    const alphabet = fc.constantFrom(..."aZé\u0301 \t\n\r\u3000\u00a0\ufeff'sStrevlmd1٣,.!中文𠀀😀\u200d\u0085-_");
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 40 }), (characters) => {
        const text = characters.join("");
        expect(pieces(text)).toEqual(byRegex(text));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (text) => {
        expect(pieces(text)).toEqual(byRegex(text));
      }),
      { numRuns: 1000 },
    );
  });
});
