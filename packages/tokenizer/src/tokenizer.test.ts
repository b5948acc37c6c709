import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer as PeerTokenizer } from "@huggingface/tokenizers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Tokenizer } from "./tokenizer.js";

const dataDirectory = new URL("../data/", import.meta.url);
const tokenizerJson = JSON.parse(readFileSync(new URL("tokenizer.json", dataDirectory), "utf8"));
const tokenizerConfig = JSON.parse(readFileSync(new URL("tokenizer_config.json", dataDirectory), "utf8"));
const tokenizer = Tokenizer.minimind();
const peer = new PeerTokenizer(tokenizerJson, tokenizerConfig);

/** Lone surrogates replaced by U+FFFD (String.prototype.toWellFormed, which Node 20 lacks). */
const wellFormed = (text: string): string =>
  text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");

// biome-ignore lint/suspicious/noExplicitAny: the tests edit arbitrary fields of a parsed JSON file
const clone = (): Record<string, any> => structuredClone(tokenizerJson);

describe("loading", () => {
  it("Tokenizer.minimind() is MiniMind's 6400-token vocabulary with its special tokens", () => {
    expect(tokenizer.vocabularySize).toBe(6400);
    expect(tokenizer.tokenToId("<|endoftext|>")).toBe(0);
    expect(tokenizer.bosTokenId).toBe(1);
    expect(tokenizer.eosTokenId).toBe(2);
    expect(tokenizer.padTokenId).toBe(0);
    expect(tokenizer.unknownTokenId).toBe(0);
    expect(tokenizer.tokenToId("<think>")).toBe(25);
    expect(tokenizer.idToToken(256)).toBe("Ġ");
    expect(tokenizer.idToToken(99999)).toBeUndefined();
    expect(tokenizer.addedTokens).toHaveLength(36);
  });

  it("fromPretrained reads a directory and gives the same tokenizer", async () => {
    const directory = await mkdtemp(join(tmpdir(), "minimind-tokenizer-"));
    await writeFile(join(directory, "tokenizer.json"), JSON.stringify(tokenizerJson));
    await writeFile(join(directory, "tokenizer_config.json"), JSON.stringify(tokenizerConfig));
    const loaded = await Tokenizer.fromPretrained(directory);
    expect(loaded.encode("你好，世界！ Hello")).toEqual(tokenizer.encode("你好，世界！ Hello"));
    await expect(Tokenizer.fromPretrained(join(directory, "missing"))).rejects.toThrow(/cannot read .*tokenizer\.json/);
  });

  it("fromPretrained reads only regular files: a link to /dev/zero and a FIFO are refused by path, unread", async () => {
    const directory = await mkdtemp(join(tmpdir(), "minimind-tokenizer-"));
    await symlink("/dev/zero", join(directory, "tokenizer.json"));
    await expect(Tokenizer.fromPretrained(directory)).rejects.toThrow(
      `[tokenizer] fromPretrained: cannot read ${join(directory, "tokenizer.json")} (not a regular file (a folder, device, FIFO or socket))`,
    );
    const piped = await mkdtemp(join(tmpdir(), "minimind-tokenizer-"));
    execFileSync("mkfifo", [join(piped, "tokenizer.json")]);
    await expect(Tokenizer.fromPretrained(piped)).rejects.toThrow(/tokenizer\.json \(not a regular file/);
  });

  it("names the field at fault in a malformed tokenizer.json", () => {
    const noMerges = clone();
    noMerges.model.merges = "a b";
    expect(() => new Tokenizer(noMerges)).toThrow('[tokenizer] tokenizer.json: field "model.merges" must be an array');
    const badMerge = clone();
    badMerge.model.merges[3] = ["ä", "not-a-token"];
    expect(() => new Tokenizer(badMerge)).toThrow(/field "model\.merges\[3\]" uses "not-a-token"/);
    const badId = clone();
    badId.model.vocab.a = -1;
    expect(() => new Tokenizer(badId)).toThrow(/field "model\.vocab\["a"\]" must be a non-negative integer/);
    const badAdded = clone();
    badAdded.added_tokens[2].content = 7;
    expect(() => new Tokenizer(badAdded)).toThrow(/field "added_tokens\[2\]\.content" must be a non-empty string/);
    expect(() => new Tokenizer(null)).toThrow(/field "\(root\)" must be an object/);
    expect(() => new Tokenizer(tokenizerJson, { chat_template: 3 })).toThrow(
      /tokenizer_config\.json: field "chat_template" must be a string/,
    );
  });

  it("refuses unsupported model types and pipeline parts clearly", () => {
    const wordPiece = clone();
    wordPiece.model.type = "WordPiece";
    expect(() => new Tokenizer(wordPiece)).toThrow(
      'field "model.type" is the string "WordPiece"; only "BPE" (byte-level BPE) models are supported',
    );
    const metaspace = clone();
    metaspace.pre_tokenizer = { type: "Metaspace" };
    expect(() => new Tokenizer(metaspace)).toThrow(/field "pre_tokenizer\.type" is the string "Metaspace"/);
    const bert = clone();
    bert.normalizer = { type: "BertNormalizer" };
    expect(() => new Tokenizer(bert)).toThrow(/field "normalizer\.type" is the string "BertNormalizer"/);
    const dropout = clone();
    dropout.model.dropout = 0.1;
    expect(() => new Tokenizer(dropout)).toThrow(/field "model\.dropout" must be null/);
  });
});

describe("encode and decode", () => {
  it("adds no tokens by default, and MiniMind's configuration adds none when asked either", () => {
    expect(tokenizer.encode("hi")).toEqual([107, 108]);
    expect(tokenizer.encode("hi", { addSpecialTokens: true })).toEqual([107, 108]);
    expect(tokenizer.encodeBatch(["hi", "", " "])).toEqual([[107, 108], [], [256]]);
  });

  it("adds bos/eos from a TemplateProcessing post-processor or from add_bos_token/add_eos_token", () => {
    const templated = clone();
    templated.post_processor = {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: "<|im_start|>", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "<|im_end|>", type_id: 0 } },
      ],
    };
    expect(new Tokenizer(templated).encode("hi", { addSpecialTokens: true })).toEqual([1, 107, 108, 2]);
    const configured = new Tokenizer(tokenizerJson, { ...tokenizerConfig, add_bos_token: true, add_eos_token: true });
    expect(configured.encode("hi", { addSpecialTokens: true })).toEqual([1, 107, 108, 2]);
    expect(configured.encode("hi")).toEqual([107, 108]);
  });

  it("matches added tokens anywhere, special or not, and leaves look-alikes to BPE", () => {
    expect(tokenizer.encode("a<|im_end|>b<think>")).toEqual([97 + 3, 2, 98 + 3, 25]);
    expect(tokenizer.encode("<|im_start")).toEqual(peer.encode("<|im_start", { add_special_tokens: false }).ids);
    expect(tokenizer.encode("<|im_start").includes(1)).toBe(false);
  });

  it("skips only special added tokens with skipSpecialTokens", () => {
    const ids = tokenizer.encode("<|im_start|>user\n<think>hi</think><|im_end|>");
    expect(tokenizer.decode(ids)).toBe("<|im_start|>user\n<think>hi</think><|im_end|>");
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe("user\n<think>hi</think>");
    expect(tokenizer.decodeBatch([ids.slice(0, 1), []])).toEqual(["<|im_start|>", ""]);
  });

  it("decodes a partial UTF-8 character to U+FFFD and refuses ids that name no token", () => {
    const ids = tokenizer.encode("𠀀"); // a rare character: several byte tokens
    expect(ids.length).toBeGreaterThan(1);
    expect(tokenizer.decode(ids.slice(0, 1))).toBe("\ufffd");
    expect(() => tokenizer.decode([5, 6400])).toThrow("[tokenizer] decode: ids[1] = 6400 is not a token id");
    expect(() => tokenizer.decode(5 as never)).toThrow("[tokenizer] decode: ids must be an array of token ids");
    expect(() => tokenizer.decode([5], { skipSpecial: true } as never)).toThrow(
      '[tokenizer] decode: unknown option "skipSpecial"; expected skipSpecialTokens',
    );
    expect(() => tokenizer.encode("hi", { addSpecialTokens: 1 } as never)).toThrow(
      "[tokenizer] encode: addSpecialTokens must be true or false, got number",
    );
    expect(() => tokenizer.encodeBatch("hi" as never)).toThrow("[tokenizer] encodeBatch: texts must be an array");
    expect(() => tokenizer.decode([-1])).toThrow(/ids\[0\] = -1/);
    expect(() => tokenizer.decode([1.5])).toThrow(/ids\[0\] = 1.5/);
  });

  it("encodes lone surrogates as U+FFFD, so decoding gives the well-formed string", () => {
    const lone = "a\ud800b\udc00";
    const replaced = "a\ufffdb\ufffd";
    expect(tokenizer.encode(lone)).toEqual(tokenizer.encode(replaced));
    expect(tokenizer.decode(tokenizer.encode(lone))).toBe(replaced);
  });

  it("encodes control characters as their bytes, like any other character", () => {
    const text = "\u0000\u0001\u0007\u001b[0m\u007f\u0085";
    expect(tokenizer.encode(text)).toEqual(peer.encode(text, { add_special_tokens: false }).ids);
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
  });

  it("round-trips arbitrary well-formed Unicode", () => {
    const lookAlikes = fc.constantFrom(
      "<|im_start|>",
      "<|im_end",
      "|>",
      "<think>",
      "</think",
      "<|endoftext|>",
      "<",
      "|",
    );
    const pieces = fc.oneof(
      fc.string({ unit: "grapheme" }),
      fc.string({ unit: fc.constantFrom(" ", "\t", "\n", "\r", "\u3000", "\u00a0") }),
      fc.string({ unit: fc.integer({ min: 0x20000, max: 0x2a6df }).map((code) => String.fromCodePoint(code)) }),
      fc.string({ unit: fc.constantFrom("e", "\u0301", "\u0308", "a", "\u0327") }),
      fc.constantFrom("👨‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "🇨🇳", "\u200d", "\ufeff"),
      lookAlikes,
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 12 }), (parts) => {
        const text = parts.join("");
        expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
      }),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (text) => {
        expect(tokenizer.decode(tokenizer.encode(text))).toBe(wellFormed(text));
      }),
      { numRuns: 500 },
    );
  });

  it("honours add_prefix_space and normalizers as @huggingface/tokenizers does", () => {
    const variant = clone();
    variant.pre_tokenizer.add_prefix_space = true;
    variant.normalizer = { type: "Sequence", normalizers: [{ type: "NFKC" }, { type: "Lowercase" }] };
    const ours = new Tokenizer(variant, {});
    const reference = new PeerTokenizer(variant, {});
    for (const text of ["Hello World", " hello", "A<|im_end|>B c", "<think>X</think> y", "ＡＢＣ１２３ ﬁ", ""]) {
      expect(ours.encode(text)).toEqual(reference.encode(text, { add_special_tokens: false }).ids);
    }
  });

  it("gives the same ids as @huggingface/tokenizers on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 80 }), (text) => {
        expect(tokenizer.encode(text)).toEqual(peer.encode(text, { add_special_tokens: false }).ids);
      }),
      { numRuns: 1000 },
    );
    const longWord = "中".repeat(300) + "a".repeat(500); // long words take the heap path
    expect(tokenizer.encode(longWord)).toEqual(peer.encode(longWord, { add_special_tokens: false }).ids);
  });
});

describe("createStreamDecoder: incremental, UTF-8-safe detokenization", () => {
  const texts = ["😀 龘", "学而时习之，不亦说乎？🌸🌸 end", "naïve café — 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "<|im_start|>user\n你好<|im_end|>"];

  it("emits no U+FFFD for characters split across tokens, and the chunks join to decode(ids)", () => {
    for (const text of texts) {
      const ids = tokenizer.encode(text);
      // byte-level BPE splits these characters over several tokens: the plain per-token decode breaks them
      if (text.startsWith("😀")) expect(ids.map((id) => tokenizer.decode([id])).join("")).toContain("\ufffd");
      const decoder = tokenizer.createStreamDecoder();
      const chunks = ids.map((id) => decoder.push([id]));
      chunks.push(decoder.flush());
      for (const chunk of chunks) expect(chunk).not.toContain("\ufffd");
      expect(chunks.join("")).toBe(tokenizer.decode(ids));
      expect(chunks.join("")).toBe(text);
    }
  });

  it("any split of the ids gives the same text, special tokens skipped on request (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...texts),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1 }),
        (text, sizes) => {
          const ids = tokenizer.encode(text);
          const decoder = tokenizer.createStreamDecoder({ skipSpecialTokens: true });
          let text_ = "";
          let at = 0;
          for (let index = 0; at < ids.length; index++) {
            const size = sizes[index % sizes.length] as number;
            text_ += decoder.push(ids.slice(at, at + size));
            at += size;
          }
          text_ += decoder.flush();
          expect(text_).toBe(tokenizer.decode(ids, { skipSpecialTokens: true }));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("an unfinished character at the end becomes U+FFFD on flush, as decode does; bad ids are named", () => {
    const ids = tokenizer.encode("😀");
    const decoder = tokenizer.createStreamDecoder();
    expect(decoder.push(ids.slice(0, -1))).toBe("");
    expect(decoder.flush()).toBe(tokenizer.decode(ids.slice(0, -1)));
    expect(() => decoder.push([3, 6400])).toThrow(
      "[tokenizer] createStreamDecoder push: ids[1] = 6400 is not a token id",
    );
  });
});
