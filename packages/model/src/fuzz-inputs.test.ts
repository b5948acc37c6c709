/**
 * Fuzzing what callers pass in (fast-check, fixed seeds, 5,500 cases): `generate` prompts and options drawn
 * from valid and hostile values per key, and, through @minimind/tokenizer's public API, text to encode, ids to
 * decode and chat messages to render. Every case runs under the watchdog (1 s, 200 MB, no raw engine error)
 * and is held to an expectation computed here, not by the code under test: options valid by the documented
 * schema must generate (row count, lengths within maxNewTokens, ids in the vocabulary) and invalid ones must be
 * refused naming a bad key; well-formed text must round-trip through encode/decode; a conversation renders
 * exactly when its roles and contents are of the documented kinds, and then holds every user message.
 * Not here: weight files and config.json (fuzz-files.test.ts).
 */
import { type ChatMessage, Tokenizer } from "@minimind/tokenizer";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { fuzzCase, printTallies, totalCases } from "./__fixtures__/fuzz-tally.js";
import { createMiniMindConfig } from "./config.js";
import { MiniMindForCausalLM } from "./model.js";

const vocabulary = 32;
const model = new MiniMindForCausalLM(
  createMiniMindConfig({
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    vocab_size: vocabulary,
    max_position_embeddings: 48,
    eos_token_id: 2,
  }),
  { seed: 5 },
);
const tokenizer = Tokenizer.minimind();
afterAll(() => {
  model.dispose();
  printTallies("fuzz-inputs");
});

/** One option's candidate values, each marked valid or not by the documented schema. */
type Candidates = readonly (readonly [value: unknown, valid: boolean])[];
const decode = (ids: readonly number[]) => ids.join(",");
const optionCandidates: Readonly<Record<string, Candidates>> = {
  maxNewTokens: [
    [0, true],
    [3, true],
    [8, true],
    [-1, false],
    [1.5, false],
    ["3", false],
    [1e7, false],
    [null, false],
  ],
  doSample: [
    [true, true],
    [false, true],
    ["yes", false],
    [1, false],
  ],
  temperature: [
    [0, true],
    [0.7, true],
    [1e-6, true],
    [-1, false],
    [Number.NaN, false],
    [Number.POSITIVE_INFINITY, false],
    ["1", false],
  ],
  topK: [
    [0, true],
    [1, true],
    [5, true],
    [100, true],
    [-1, false],
    [2.5, false],
    ["5", false],
  ],
  topP: [
    [1, true],
    [0.5, true],
    [1e-9, true],
    [0, false],
    [1.5, false],
    [Number.NaN, false],
    ["0.5", false],
  ],
  repetitionPenalty: [
    [1, true],
    [1.3, true],
    [0.5, true],
    [0, false],
    [-1, false],
    [Number.POSITIVE_INFINITY, false],
  ],
  eosTokenId: [
    [2, true],
    [[], true],
    [[1, 3], true],
    [-1, false],
    [vocabulary, false],
    [1.5, false],
    ["2", false],
    [[null], false],
  ],
  seed: [
    [0, true],
    [7, true],
    [-3, true],
    [1.5, false],
    ["1", false],
    [Number.NaN, false],
  ],
  padTokenId: [
    [0, true],
    [vocabulary - 1, true],
    [vocabulary, false],
    [-1, false],
  ],
  signal: [
    [new AbortController().signal, true],
    [{}, false],
    ["x", false],
  ],
  attention: [
    [5, false],
    ["causal", false],
  ],
  cache: [
    [{}, false],
    [[], false],
  ],
  maxTokens: [[4, false]],
  top_p: [[0.9, false]],
};
/** stopStrings and decode go together: these pairs, each valid or not as a whole. */
const stopCandidates: Candidates = [
  [{ stopStrings: ["3,"], decode }, true],
  [{ stopStrings: [] }, true],
  [{ stopStrings: ["x"] }, false], // no decode
  [{ stopStrings: "x", decode }, false],
  [{ stopStrings: [""], decode }, false],
  [{ stopStrings: [1], decode }, false],
  [{ decode: "f" }, false],
];
const promptCandidates: Candidates = [
  [[[1, 2, 3]], true],
  [[[1], [2, 3, 4]], true],
  [[[5]], true],
  [[], false],
  [[[]], false],
  [[[-1]], false],
  [[[vocabulary]], false],
  [[[1.5]], false],
  [[["a"]], false],
  ["abc", false],
  [[[1, 2], null], false],
];

const pick = (candidates: Candidates) => fc.constantFrom(...candidates);
const generateCase = fc.record({
  prompts: fc.oneof(
    { weight: 3, arbitrary: pick(promptCandidates.filter(([, valid]) => valid)) },
    { weight: 2, arbitrary: pick(promptCandidates) },
  ),
  // each chosen key: [prefer a valid value (7 in 10), which candidate]
  options: fc.dictionary(
    fc.constantFrom(...Object.keys(optionCandidates)),
    fc.tuple(fc.integer({ min: 0, max: 9 }), fc.nat()),
    { maxKeys: 4 },
  ),
  stop: fc.option(pick(stopCandidates), { nil: undefined }),
});

describe("generate", () => {
  it("prompts and options: generates exactly when valid by the schema, else names a bad key (1,500 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(generateCase, async ({ prompts: [prompts, promptsValid], options: chosen, stop }) => {
        const options: Record<string, unknown> = {};
        const invalidKeys: string[] = [];
        for (const [key, [preference, choice]] of Object.entries(chosen)) {
          const all = optionCandidates[key] as Candidates;
          const validOnes = all.filter(([, valid]) => valid);
          const candidates = preference < 7 && validOnes.length > 0 ? validOnes : all;
          const [value, valid] = candidates[choice % candidates.length] as readonly [unknown, boolean];
          options[key] = value;
          if (!valid) invalidKeys.push(key);
        }
        if (stop !== undefined) {
          Object.assign(options, stop[0]);
          if (!stop[1]) invalidKeys.push("stopStrings", "decode");
        }
        const valid = promptsValid && invalidKeys.length === 0;
        const outcome = await fuzzCase("generate", () => model.generate(prompts as number[][], options));
        if (valid) {
          expect(outcome.kind).toBe("result");
          const rows = (outcome.kind === "result" ? outcome.value : []) as number[][];
          expect(rows).toHaveLength((prompts as unknown[]).length);
          for (const row of rows) {
            expect(row.length).toBeLessThanOrEqual((options.maxNewTokens as number | undefined) ?? 32);
            for (const id of row) expect(Number.isInteger(id) && id >= 0 && id < vocabulary).toBe(true);
          }
        } else {
          expect(outcome.kind).toBe("clean");
          const message = outcome.kind === "clean" ? outcome.message : "";
          const named = [...invalidKeys, ...(promptsValid ? [] : ["prompt", "inputIds"])];
          expect(
            named.some((key) => message.includes(key)),
            message,
          ).toBe(true);
        }
      }),
      { numRuns: 1_500, seed: 18_101 },
    );
  });
});

/** A UTF-16 surrogate without its partner: such text cannot round-trip through UTF-8. */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Text with what breaks tokenizers: any code point, lone surrogates, special-token text, long runs. */
const hostileText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc
    .array(
      fc.constantFrom(
        "\ud800",
        "\udfff",
        "<|im_start|>",
        "<|im_end|>",
        "<think>",
        "\u0000",
        "\r\n",
        "  ",
        "😀",
        "龘",
        "a",
      ),
      { maxLength: 12 },
    )
    .map((parts) => parts.join("")),
  fc.nat({ max: 400 }).map((length) => "ab ".repeat(length)),
);

describe("tokenizer", () => {
  it("encode: ids in the vocabulary, and well-formed text round-trips through decode (1,500 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 9, arbitrary: hostileText }, { weight: 1, arbitrary: fc.anything() }),
        async (text) => {
          const outcome = await fuzzCase("tokenizer encode", () => {
            const ids = tokenizer.encode(text as string);
            for (const id of ids) expect(Number.isInteger(id) && id >= 0 && id < tokenizer.vocabularySize).toBe(true);
            if (typeof text === "string" && !loneSurrogate.test(text)) expect(tokenizer.decode(ids)).toBe(text);
            return ids;
          });
          expect(outcome.kind).toBe(typeof text === "string" ? "result" : "clean");
        },
      ),
      { numRuns: 1_500, seed: 18_102 },
    );
  });

  it("decode: a string exactly when every id names a token, else a clean refusal (1,000 cases)", async () => {
    const id = fc.oneof(
      { weight: 6, arbitrary: fc.nat({ max: 6_399 }) },
      { weight: 1, arbitrary: fc.constantFrom(-1, 6_400, 1e9, 1.5, Number.NaN, "5", null, 2 ** 53) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 9, arbitrary: fc.array(id, { maxLength: 30 }) }, { weight: 1, arbitrary: fc.anything() }),
        async (ids) => {
          const valid =
            Array.isArray(ids) &&
            ids.every(
              (value) =>
                typeof value === "number" && Number.isInteger(value) && value >= 0 && value < tokenizer.vocabularySize,
            );
          const outcome = await fuzzCase("tokenizer decode", () => tokenizer.decode(ids as number[]));
          expect(outcome.kind).toBe(valid ? "result" : "clean");
          if (outcome.kind === "result") expect(typeof outcome.value).toBe("string");
        },
      ),
      { numRuns: 1_000, seed: 18_103 },
    );
  });

  it("chat messages: rendered exactly when roles and contents are of the documented kinds (1,500 cases)", async () => {
    const roles = ["system", "user", "assistant", "tool"];
    const message = fc.record(
      {
        role: fc.oneof(
          { weight: 8, arbitrary: fc.constantFrom(...roles) },
          { weight: 1, arbitrary: fc.constantFrom("robot", "", "USER", 1, null) },
        ),
        content: fc.oneof(
          { weight: 8, arbitrary: hostileText },
          { weight: 1, arbitrary: fc.constantFrom(null, 42, [{ type: "text", text: "hi" }], {}, true) },
        ),
      },
      { requiredKeys: ["role"] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 19, arbitrary: fc.array(message, { maxLength: 5 }) },
          { weight: 1, arbitrary: fc.anything() },
        ),
        fc.boolean(),
        async (messages, addGenerationPrompt) => {
          const valid =
            Array.isArray(messages) &&
            messages.every(
              (each) =>
                typeof each === "object" &&
                each !== null &&
                roles.includes(each.role as string) &&
                (typeof each.content === "string" ||
                  (each.role === "assistant" && (each.content === undefined || each.content === null))),
            );
          const outcome = await fuzzCase("chat template", () =>
            tokenizer.applyChatTemplate(messages as ChatMessage[], { addGenerationPrompt }),
          );
          expect(outcome.kind, outcome.kind === "clean" ? outcome.message : "").toBe(valid ? "result" : "clean");
          if (outcome.kind === "result") {
            for (const each of messages as ChatMessage[]) {
              if (each.role === "user")
                expect(outcome.value as string).toContain(`<|im_start|>user\n${each.content ?? ""}<|im_end|>`);
            }
          }
        },
      ),
      { numRuns: 1_500, seed: 18_104 },
    );
  });
});

describe("counts", () => {
  it("ran at least 5,500 cases in this file", () => {
    expect(totalCases()).toBeGreaterThanOrEqual(5_500);
  });
});
