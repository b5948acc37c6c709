import { describe, expect, it } from "vitest";
import { createMiniMindConfig, parseMiniMindConfig } from "./config.js";
import { miniMindConfigToQwen3Json } from "./qwen3-config.js";

describe("miniMindConfigToQwen3Json", () => {
  it("writes a dense config under Qwen3's names, which parses back to the same config", () => {
    const config = createMiniMindConfig({ hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4 });
    const json = miniMindConfigToQwen3Json(config, { torchDtype: "float16" });
    expect(json).toMatchObject({
      architectures: ["Qwen3ForCausalLM"],
      model_type: "qwen3",
      hidden_size: 64,
      intermediate_size: 256, // ceil(64·π/64)·64
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      head_dim: 16,
      rope_theta: 1e6, // MiniMind's, not Qwen3's default 10000
      tie_word_embeddings: true, // MiniMind's, not Qwen3's default false
      rope_scaling: null,
      attention_bias: false,
      use_sliding_window: false,
      torch_dtype: "float16",
    });
    expect(json).not.toHaveProperty("num_experts");
    expect(parseMiniMindConfig(JSON.parse(JSON.stringify(json)), "qwen3.json")).toEqual(config);
  });

  it("writes an MoE config as qwen3_moe with every layer sparse and MiniMind's router settings", () => {
    const config = createMiniMindConfig({
      hidden_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      use_moe: true,
      num_experts: 4,
      num_experts_per_tok: 2,
    });
    const json = miniMindConfigToQwen3Json(config);
    expect(json).toMatchObject({
      architectures: ["Qwen3MoeForCausalLM"],
      model_type: "qwen3_moe",
      num_experts: 4,
      num_experts_per_tok: 2,
      moe_intermediate_size: 256,
      norm_topk_prob: true, // Qwen3-MoE defaults to false
      router_aux_loss_coef: 5e-4, // Qwen3-MoE defaults to 0.001
      decoder_sparse_step: 1,
      mlp_only_layers: [],
      torch_dtype: "float32",
    });
    expect(parseMiniMindConfig(JSON.parse(JSON.stringify(json)), "qwen3_moe.json")).toEqual(config);
  });

  it("writes YaRN scaling as a rope_scaling of rope_type yarn, read back field by field", () => {
    const config = createMiniMindConfig({
      hidden_size: 64,
      num_hidden_layers: 1,
      num_attention_heads: 4,
      max_position_embeddings: 4096,
      inference_rope_scaling: true,
      rope_scaling: { factor: 4, original_max_position_embeddings: 1024 },
    });
    const json = miniMindConfigToQwen3Json(config);
    expect(json.rope_scaling).toEqual({
      rope_type: "yarn",
      factor: 4,
      original_max_position_embeddings: 1024,
      beta_fast: 32,
      beta_slow: 1,
      attention_factor: 1,
    });
    expect(parseMiniMindConfig(JSON.parse(JSON.stringify(json)), "qwen3.json")).toEqual(config);
  });
});
