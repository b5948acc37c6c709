/**
 * `prefixEmbeddings` (learned memory tokens and the like) on the dense-tiny PyTorch fixture: vectors equal to
 * token embeddings give exactly the logits of those tokens placed in the sequence, gradients reach them, the
 * strategy and cache count their positions, and misuse is refused.
 */
import { causal, prefixLM } from "@minimind/attention";
import { backward, gatherRows, noGrad, scope, type Tensor, tensor } from "@minimind/tensor";
import { afterAll, describe, expect, it } from "vitest";
import { configOf, maxAbsoluteDifference, readTensors } from "./__fixtures__/parity.js";
import { MiniMindForCausalLM } from "./model.js";

const config = configOf("dense-tiny");
const model = MiniMindForCausalLM.fromStateDict(
  config,
  readTensors("dense-tiny", "model.safetensors"),
  "dense-tiny",
).eval();
afterAll(() => model.dispose());

const memory = [17, 905, 3];
const tokens = [1, 320, 275, 2401, 5];
const embeddingOf = (ids: number[]): Tensor =>
  gatherRows(
    model.namedParameters().get("model.embed_tokens.weight") as Tensor,
    tensor(Int32Array.from(ids), { dtype: "int32" }),
  );
const read = (value: Tensor) => Float32Array.from(value.dataSync() as Float32Array);

describe("prefixEmbeddings", () => {
  for (const [name, attention] of [
    ["causal", causal],
    ["memory visible to every position: prefixLM(3)", prefixLM(3)],
  ] as const) {
    it(`equal the tokens they embed, placed first (${name})`, () => {
      noGrad(() =>
        scope(() => {
          const strategy = attention;
          const withPrefix = read(
            model.forward({ inputIds: [tokens], prefixEmbeddings: embeddingOf(memory), attention: strategy }).logits,
          );
          const whole = model.forward({ inputIds: [[...memory, ...tokens]], attention: strategy }).logits;
          const expected = read(whole.slice([0, memory.length, 0]));
          expect(withPrefix.length).toBe(tokens.length * config.vocab_size);
          expect(maxAbsoluteDifference(withPrefix, expected)).toBeLessThan(1e-5);
        }),
      );
    });
  }

  it("broadcast over the batch, gradients reach them, and the cache counts their positions", () => {
    scope(() => {
      const learned = tensor(read(embeddingOf(memory)), { shape: [memory.length, config.hidden_size] }).requireGrad();
      const { loss } = model.forward({
        inputIds: [tokens, tokens],
        labels: [tokens, tokens],
        prefixEmbeddings: learned,
      });
      backward(loss as Tensor);
      const gradient = read(learned.grad as Tensor);
      expect(gradient.some((value) => value !== 0)).toBe(true);
    });
    const cache = model.createCache();
    noGrad(() =>
      scope(() => {
        model.forward({ inputIds: [tokens], prefixEmbeddings: embeddingOf(memory), cache });
        expect(cache.length).toBe(memory.length + tokens.length);
        expect(() => model.forward({ inputIds: [[7]], prefixEmbeddings: embeddingOf(memory), cache })).toThrow(
          /prefixEmbeddings go at the start of a sequence/,
        );
        expect(() =>
          model.forward({ inputIds: [tokens], prefixEmbeddings: tensor(new Float32Array(6), { shape: [2, 3] }) }),
        ).toThrow(/prefixEmbeddings is a float32 tensor \[2, 3\]; expected float32 \[P, 64\]/);
      }),
    );
    cache.dispose();
  });
});
