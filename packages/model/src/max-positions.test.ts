/**
 * The rotary context: `maxPositions(config)` is max_position_embeddings, or with YaRN in effect
 * max(max_position_embeddings, factor × original_max_position_embeddings). `forward` refuses a position
 * beyond it (by default positions, through a KV cache, or explicit positionIds), naming the position and the
 * limit, and `generate` / `stream` refuse up front when prompt + maxNewTokens would not fit.
 */
import { memory, noGrad, scope } from "@minimind/tensor";
import { afterAll, describe, expect, it } from "vitest";
import { createMiniMindConfig, maxPositions } from "./config.js";
import { MiniMindForCausalLM } from "./model.js";

const small = { hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 64 };
const config = createMiniMindConfig({ ...small, max_position_embeddings: 16 });
const model = new MiniMindForCausalLM(config, { seed: 1 }).eval();
afterAll(() => model.dispose());

const ids = (length: number): number[] => Array.from({ length }, (_, index) => (index * 7 + 3) % 64);

function logitsOf(target: MiniMindForCausalLM, inputIds: number[][]): Float32Array {
  return noGrad(() =>
    scope(() => Float32Array.from(target.forward({ inputIds, logitsToKeep: 1 }).logits.dataSync() as Float32Array)),
  );
}

describe("maxPositions", () => {
  it("is max_position_embeddings without YaRN, or when YaRN is inactive", () => {
    expect(maxPositions(config)).toBe(16);
    expect(maxPositions(createMiniMindConfig())).toBe(32768);
    const inactive = createMiniMindConfig({
      max_position_embeddings: 2048,
      inference_rope_scaling: true,
      rope_scaling: { original_max_position_embeddings: 2048, factor: 16 },
    });
    expect(maxPositions(inactive)).toBe(2048);
  });

  it("is factor × original_max_position_embeddings under active YaRN when that is larger", () => {
    // The yarn-tiny fixture's config: max_position_embeddings 4096, YaRN 16 × 2048.
    const yarn = createMiniMindConfig({ max_position_embeddings: 4096, inference_rope_scaling: true });
    expect(maxPositions(yarn)).toBe(32768);
    const wide = createMiniMindConfig({
      max_position_embeddings: 65536,
      inference_rope_scaling: true,
      rope_scaling: { factor: 4 },
    });
    expect(maxPositions(wide)).toBe(65536);
  });
});

describe("forward beyond the context", () => {
  it("runs up to the last position and refuses the next one, naming both", () => {
    expect(logitsOf(model, [ids(16)]).every(Number.isFinite)).toBe(true);
    expect(() => logitsOf(model, [ids(17)])).toThrow(
      "[MiniMindForCausalLM] past 0 + 17 new tokens reach position 16, beyond the model's context: max_position_embeddings is 16 (positions 0–15; YaRN is off: set inference_rope_scaling to extend it)",
    );
  });

  it("counts the KV cache's positions and refuses explicit positionIds past the limit", () => {
    const before = memory().tensors;
    const cache = model.createCache();
    noGrad(() => {
      scope(() => {
        model.forward({ inputIds: [ids(12)], cache });
        expect(() => model.forward({ inputIds: [ids(5)], cache })).toThrow(
          /past 12 \+ 5 new tokens reach position 16, beyond the model's context: max_position_embeddings is 16/,
        );
        expect(cache.length).toBe(12); // refused before anything was appended
        model.forward({ inputIds: [ids(4)], cache }); // positions 12–15: fine
        expect(() => model.forward({ inputIds: [ids(2)], positionIds: [[3, 16]] })).toThrow(
          /positionIds hold position 16, beyond the model's context/,
        );
      });
    });
    cache.dispose();
    expect(memory().tensors).toBe(before);
  });

  it("under active YaRN reaches factor × original_max_position_embeddings, and no further", () => {
    const yarn = new MiniMindForCausalLM(
      createMiniMindConfig({
        ...small,
        max_position_embeddings: 8,
        inference_rope_scaling: true,
        rope_scaling: { original_max_position_embeddings: 4, factor: 2.5 },
      }),
      { seed: 2 },
    ).eval();
    try {
      expect(maxPositions(yarn.config)).toBe(10);
      expect(logitsOf(yarn, [ids(10)]).every(Number.isFinite)).toBe(true);
      expect(() => logitsOf(yarn, [ids(11)])).toThrow(
        /position 10, beyond the model's context: the context is 10 positions \(0–9: YaRN, max\(max_position_embeddings 8, factor 2\.5 × original_max_position_embeddings 4\)\)/,
      );
    } finally {
      yarn.dispose();
    }
  });
});

describe("generate beyond the context", () => {
  it("generates when prompt + maxNewTokens fits exactly", async () => {
    expect((await model.generate([ids(10)], { maxNewTokens: 6, eosTokenId: [] }))[0]).toHaveLength(6);
    // Left-padded batch: the longest row counts.
    expect(
      (await model.generate([ids(10), ids(3)], { maxNewTokens: 6, eosTokenId: [] })).map((row) => row.length),
    ).toEqual([6, 6]);
  });

  it("refuses up front, before any step, saying how much fits", async () => {
    const before = memory().tensors;
    await expect(model.generate([ids(3), ids(10)], { maxNewTokens: 7 })).rejects.toThrow(
      "[generate] the longest prompt (10 tokens) + maxNewTokens (7) = 17 positions, more than the model's context: max_position_embeddings is 16 (positions 0–15; YaRN is off: set inference_rope_scaling to extend it); lower maxNewTokens to at most 6 or shorten the prompt",
    );
    expect(() => model.stream([ids(16)], { maxNewTokens: 1 })).toThrow(/shorten the prompt to at most 15 tokens/);
    expect(memory().tensors).toBe(before);
  });
});
