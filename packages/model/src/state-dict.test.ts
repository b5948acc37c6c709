import { describe, expect, it } from "vitest";
import { createMiniMindConfig, parameterShapes } from "./config.js";
import type { SafetensorsTensor } from "./safetensors.js";
import { assertStateDictMatchesConfig, checkStateDict, type StateDict, stateDictToFloat32 } from "./state-dict.js";

const config = createMiniMindConfig({
  hidden_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  vocab_size: 10,
  intermediate_size: 16,
});

function zeros(shape: readonly number[]): SafetensorsTensor {
  return { dtype: "F32", shape, data: new Float32Array(shape.reduce((product, size) => product * size, 1)) };
}

function complete(): StateDict {
  return new Map([...parameterShapes(config)].map(([name, shape]) => [name, zeros(shape)]));
}

describe("checkStateDict", () => {
  it("finds nothing wrong with a complete state dict", () => {
    expect(checkStateDict(complete(), config)).toEqual({
      missing: [],
      unexpected: [],
      mismatched: [],
      wrongDtype: [],
      ignored: [],
    });
    expect(() => assertStateDictMatchesConfig(complete(), config)).not.toThrow();
  });

  it("lists missing, unexpected, mis-shaped and non-float tensors by name", () => {
    const stateDict = complete();
    stateDict.delete("model.norm.weight");
    stateDict.delete("model.layers.0.mlp.up_proj.weight");
    stateDict.set("model.layers.1.input_layernorm.weight", zeros([8]));
    stateDict.set("model.layers.0.self_attn.k_proj.weight", zeros([8, 8])); // one KV head of 4: [4, 8]
    stateDict.set("model.layers.0.self_attn.q_norm.weight", { dtype: "I32", shape: [4], data: new Int32Array(4) });
    const report = checkStateDict(stateDict, config);
    expect(report.missing).toEqual(["model.layers.0.mlp.up_proj.weight", "model.norm.weight"]);
    expect(report.unexpected).toEqual(["model.layers.1.input_layernorm.weight"]);
    expect(report.mismatched).toEqual([
      { name: "model.layers.0.self_attn.k_proj.weight", shape: [8, 8], expected: [4, 8] },
    ]);
    expect(report.wrongDtype).toEqual([{ name: "model.layers.0.self_attn.q_norm.weight", dtype: "I32" }]);
    expect(() => assertStateDictMatchesConfig(stateDict, config, "ckpt/model.safetensors")).toThrow(
      "[state-dict] ckpt/model.safetensors does not fit the config (hidden 8, 1 layers): " +
        "missing 2: model.layers.0.mlp.up_proj.weight, model.norm.weight; " +
        "unexpected 1: model.layers.1.input_layernorm.weight; " +
        "mis-shaped 1: model.layers.0.self_attn.k_proj.weight is [8, 8], expected [4, 8]; " +
        "not a float weight (F32/F16/BF16) 1: model.layers.0.self_attn.q_norm.weight is I32. " +
        "Check that config.json belongs to these weights.",
    );
  });

  it("omits the tied head, tolerates a copy of it, and requires it when untied", () => {
    const withHead = complete();
    withHead.set("lm_head.weight", zeros([10, 8]));
    expect(checkStateDict(withHead, config).ignored).toEqual(["lm_head.weight"]);
    expect(() => assertStateDictMatchesConfig(withHead, config)).not.toThrow();
    withHead.set("lm_head.weight", zeros([10, 4]));
    expect(checkStateDict(withHead, config).mismatched).toEqual([
      { name: "lm_head.weight", shape: [10, 4], expected: [10, 8] },
    ]);
    const untied = createMiniMindConfig({ ...config, tie_word_embeddings: false });
    expect(checkStateDict(complete(), untied).missing).toEqual(["lm_head.weight"]);
  });

  it("shortens long lists in the error", () => {
    // the defaults have 1 + 8 · 11 + 1 = 90 tensors; the first 20 are named
    const message = (() => {
      try {
        assertStateDictMatchesConfig(new Map(), createMiniMindConfig());
      } catch (error) {
        return (error as Error).message;
      }
      return "";
    })();
    expect(message).toContain("missing 90: model.embed_tokens.weight, ");
    expect(message).toContain(", … (70 more)");
  });
});

describe("stateDictToFloat32", () => {
  it("widens F16/BF16 exactly, keeps F32, drops a tied head, and orders by the config", () => {
    const stateDict = complete();
    stateDict.set("model.norm.weight", { dtype: "BF16", shape: [8], data: new Uint16Array(8).fill(0x3fc0) }); // 1.5
    stateDict.set("model.layers.0.input_layernorm.weight", {
      dtype: "F16",
      shape: [8],
      data: new Uint16Array(8).fill(0xc100), // -2.5
    });
    stateDict.set("lm_head.weight", zeros([10, 8]));
    const reversed = new Map([...stateDict].reverse());
    const converted = stateDictToFloat32(reversed, config);
    expect([...converted.keys()]).toEqual([...parameterShapes(config).keys()]);
    expect(converted.get("model.norm.weight")?.data).toEqual(new Float32Array(8).fill(1.5));
    expect(converted.get("model.layers.0.input_layernorm.weight")?.data).toEqual(new Float32Array(8).fill(-2.5));
    expect([...converted.values()].every((tensor) => tensor.dtype === "F32")).toBe(true);
  });

  it("refuses a state dict that does not fit", () => {
    expect(() => stateDictToFloat32(new Map(), config, "x.safetensors")).toThrow("[state-dict] x.safetensors");
  });
});
