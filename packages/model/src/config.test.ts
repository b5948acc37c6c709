import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  countParameters,
  countParameterTensors,
  createMiniMindConfig,
  DEFAULT_ROPE_SCALING,
  defaultIntermediateSize,
  type MiniMindConfig,
  miniMindConfigToJson,
  parameterShapes,
  parseMiniMindConfig,
  validateMiniMindConfig,
} from "./config.js";

describe("createMiniMindConfig", () => {
  it("has upstream's defaults and derived values", () => {
    const config = createMiniMindConfig();
    expect(config).toMatchObject({
      model_type: "minimind",
      hidden_size: 768,
      num_hidden_layers: 8,
      use_moe: false,
      dropout: 0,
      vocab_size: 6400,
      bos_token_id: 1,
      eos_token_id: 2,
      flash_attn: true,
      num_attention_heads: 8,
      num_key_value_heads: 4,
      head_dim: 96, // 768 / 8
      hidden_act: "silu",
      intermediate_size: 2432, // ceil(768·π / 64) = ceil(37.70) = 38; 38·64
      max_position_embeddings: 32768,
      rms_norm_eps: 1e-6,
      rope_theta: 1e6,
      tie_word_embeddings: true,
      inference_rope_scaling: false,
      rope_scaling: null,
      num_experts: 4,
      num_experts_per_tok: 1,
      moe_intermediate_size: 2432,
      norm_topk_prob: true,
      router_aux_loss_coef: 5e-4,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("derives intermediate_size as ceil(hidden·π/64)·64 and head_dim as hidden/heads", () => {
    expect(defaultIntermediateSize(512)).toBe(1664); // 512π/64 = 25.13 → 26
    expect(defaultIntermediateSize(64)).toBe(256); // 64π/64 = 3.14 → 4
    expect(defaultIntermediateSize(640)).toBe(2048); // 640π/64 = 31.4 → 32
    const config = createMiniMindConfig({ hidden_size: 512, num_attention_heads: 16, num_key_value_heads: 8 });
    expect(config.intermediate_size).toBe(1664);
    expect(config.moe_intermediate_size).toBe(1664);
    expect(config.head_dim).toBe(32);
    expect(createMiniMindConfig({ intermediate_size: 1000 }).moe_intermediate_size).toBe(1000);
  });

  it("fills YaRN defaults when inference_rope_scaling is on, field by field", () => {
    expect(createMiniMindConfig({ inference_rope_scaling: true }).rope_scaling).toEqual(DEFAULT_ROPE_SCALING);
    expect(createMiniMindConfig({ inference_rope_scaling: true, rope_scaling: { factor: 4 } }).rope_scaling).toEqual({
      ...DEFAULT_ROPE_SCALING,
      factor: 4,
    });
    expect(() => createMiniMindConfig({ rope_scaling: { factor: 4 } })).toThrow(
      '[config] MiniMindConfig: "rope_scaling" is given but "inference_rope_scaling" is not true',
    );
  });

  const invalid: [string, Parameters<typeof createMiniMindConfig>[0], string][] = [
    ["a zero width", { hidden_size: 0 }, '"hidden_size" is 0; expected a positive integer'],
    ["a fractional layer count", { num_hidden_layers: 2.5 }, '"num_hidden_layers" is 2.5; expected a positive integer'],
    [
      "heads not divisible by KV heads",
      { num_key_value_heads: 3 },
      '"num_attention_heads" (8) must be a multiple of "num_key_value_heads" (3)',
    ],
    ["an odd head_dim", { head_dim: 15 }, '"head_dim" is 15; rotary embeddings need an even head_dim'],
    [
      "top-k above the expert count",
      { use_moe: true, num_experts_per_tok: 5 },
      '"num_experts_per_tok" (5) exceeds "num_experts" (4)',
    ],
    ["dropout of 1", { dropout: 1 }, '"dropout" is 1; expected a number in [0, 1)'],
    ["a zero epsilon", { rms_norm_eps: 0 }, '"rms_norm_eps" is 0; expected a positive number'],
    [
      "a negative aux coefficient",
      { router_aux_loss_coef: -1 },
      '"router_aux_loss_coef" is -1; expected a non-negative number',
    ],
    [
      "another activation",
      { hidden_act: "gelu" as "silu" },
      '"hidden_act" is "gelu"; only "silu" (SwiGLU) is supported',
    ],
    [
      "a negative eos id",
      { eos_token_id: -1 },
      '"eos_token_id" is -1; expected a non-negative token id or a non-empty list',
    ],
    ["an empty eos list", { eos_token_id: [] }, '"eos_token_id" is []'],
    [
      "a YaRN factor of zero",
      { inference_rope_scaling: true, rope_scaling: { factor: 0 } },
      '"rope_scaling.factor" is 0; expected a positive number',
    ],
    [
      "a non-YaRN scaling",
      { inference_rope_scaling: true, rope_scaling: { type: "linear" as "yarn" } },
      '"rope_scaling.type" is "linear"; only "yarn"',
    ],
  ];
  it.each(invalid)("rejects %s, naming the field", (_, options, message) => {
    expect(() => createMiniMindConfig(options, "my-config")).toThrow(`[config] my-config: ${message}`);
  });

  it("does not hold a dense model to the relations of its unused MoE fields", () => {
    expect(createMiniMindConfig({ num_experts: 2, num_experts_per_tok: 3 }).use_moe).toBe(false);
  });

  it("refuses a misspelt field instead of silently taking its default", () => {
    expect(() => createMiniMindConfig({ hiden_size: 64 } as never)).toThrow(
      /^\[config\] MiniMindConfig: unknown field "hiden_size"; expected MiniMindConfig fields \(upstream names\): hidden_size, num_hidden_layers, /,
    );
    expect(() => createMiniMindConfig({ model_type: "qwen3" } as never)).toThrow(/unknown field "model_type"/);
    expect(() => createMiniMindConfig(7 as never)).toThrow(
      "[config] MiniMindConfig: the options are 7; expected an object of MiniMindConfig fields",
    );
    // a whole config may be spread in, model_type included
    const config = createMiniMindConfig({ hidden_size: 64 });
    expect(createMiniMindConfig({ ...config, dropout: 0.1 }).dropout).toBe(0.1);
  });

  it("validates a hand-built config object", () => {
    const config = { ...createMiniMindConfig(), rope_scaling: DEFAULT_ROPE_SCALING } as MiniMindConfig;
    expect(() => validateMiniMindConfig(config)).toThrow('"rope_scaling" is set but "inference_rope_scaling" is false');
  });
});

describe("countParameters", () => {
  it("gives 63,912,192 for the upstream defaults", () => {
    expect(countParameters(createMiniMindConfig())).toBe(63_912_192);
  });

  it("matches hand counts of other shapes", () => {
    // hidden 512, 8 layers, 8 heads / 4 KV heads (head 64), intermediate 1664, vocab 6400, tied:
    // per layer q 512·512 + k,v 2·512·256 + o 512·512 = 786,432; norms 64+64+512+512 = 1,152;
    // SwiGLU 3·512·1664 = 2,555,904 → 3,343,488 · 8 = 26,747,904; + embedding 3,276,800 + final norm 512
    expect(countParameters(createMiniMindConfig({ hidden_size: 512 }))).toBe(30_025_216);
    // untied defaults add a 6400 × 768 head
    expect(countParameters(createMiniMindConfig({ tie_word_embeddings: false }))).toBe(63_912_192 + 4_915_200);
    // MoE defaults: each layer's FFN becomes a 4 × 768 router + 4 experts of 3·768·2432:
    // 1,771,200 (attention + norms) + 3,072 + 22,413,312 = 24,187,584 per layer; · 8 + 4,915,200 + 768
    expect(countParameters(createMiniMindConfig({ use_moe: true }))).toBe(198_416_640);
  });

  it("equals the total size of the parameters parameterShapes lists", () => {
    for (const options of [
      {},
      { use_moe: true, num_experts: 3, num_experts_per_tok: 2 },
      { tie_word_embeddings: false, head_dim: 64, num_key_value_heads: 2 },
      { hidden_size: 96, num_attention_heads: 6, num_key_value_heads: 3, num_hidden_layers: 3 },
    ]) {
      const config = createMiniMindConfig(options);
      let total = 0;
      for (const shape of parameterShapes(config).values()) total += shape.reduce((product, size) => product * size, 1);
      expect(countParameters(config)).toBe(total);
    }
  });

  it("rejects a config whose weights would exceed MINIMIND_CONFIG_LIMITS.parameterBytes", () => {
    // every field is within its own limit, but the embedding alone is 2^16 · 2^24 = 2^40 parameters = 4 TiB
    expect(() => createMiniMindConfig({ hidden_size: 2 ** 16, vocab_size: 2 ** 24, num_attention_heads: 64 })).toThrow(
      /^\[config\] MiniMindConfig: the config implies 1\.\d{3}e\+12 parameters \([45]\.\d TiB as float32\); at most 1\.0 TiB is accepted \(MINIMIND_CONFIG_LIMITS\.parameterBytes\)$/,
    );
  });

  it("counts parameterShapes' entries in closed form, and refuses more than MINIMIND_CONFIG_LIMITS.parameterTensors", () => {
    for (const options of [
      {},
      { tie_word_embeddings: false, num_hidden_layers: 3 },
      { use_moe: true, num_experts: 5, num_hidden_layers: 2 },
    ]) {
      const config = createMiniMindConfig(options);
      expect(countParameterTensors(config)).toBe(parameterShapes(config).size);
    }
    // 1,024 layers × (8 + 1 + 3 × 1,024 expert projections) + 2 = 3,154,946 names
    const tiny = { hidden_size: 8, num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 8 };
    expect(() =>
      createMiniMindConfig({
        ...tiny,
        num_hidden_layers: 1024,
        use_moe: true,
        num_experts: 1024,
        moe_intermediate_size: 1,
      }),
    ).toThrow(
      "[config] MiniMindConfig: the config implies 3154946 weight tensors (1024 layers × 1024 experts); at most 262144 are accepted (MINIMIND_CONFIG_LIMITS.parameterTensors)",
    );
  });

  it("lists upstream names in upstream order, with the head only when untied", () => {
    const names = [...parameterShapes(createMiniMindConfig({ num_hidden_layers: 1 })).keys()];
    expect(names).toEqual([
      "model.embed_tokens.weight",
      "model.layers.0.self_attn.q_proj.weight",
      "model.layers.0.self_attn.k_proj.weight",
      "model.layers.0.self_attn.v_proj.weight",
      "model.layers.0.self_attn.o_proj.weight",
      "model.layers.0.self_attn.q_norm.weight",
      "model.layers.0.self_attn.k_norm.weight",
      "model.layers.0.input_layernorm.weight",
      "model.layers.0.post_attention_layernorm.weight",
      "model.layers.0.mlp.gate_proj.weight",
      "model.layers.0.mlp.down_proj.weight",
      "model.layers.0.mlp.up_proj.weight",
      "model.norm.weight",
    ]);
    const untied = parameterShapes(createMiniMindConfig({ tie_word_embeddings: false }));
    expect(untied.get("lm_head.weight")).toEqual([6400, 768]);
    const moe = parameterShapes(createMiniMindConfig({ use_moe: true, num_experts: 2, num_hidden_layers: 1 }));
    expect(moe.get("model.layers.0.mlp.gate.weight")).toEqual([2, 768]);
    expect(moe.get("model.layers.0.mlp.experts.1.down_proj.weight")).toEqual([768, 2432]);
    expect(moe.has("model.layers.0.mlp.gate_proj.weight")).toBe(false);
  });
});

describe("parseMiniMindConfig", () => {
  it("reads a minimind config.json, ignoring fields it does not use", () => {
    const config = parseMiniMindConfig({
      architectures: ["MiniMindForCausalLM"],
      model_type: "minimind",
      torch_dtype: "float32",
      transformers_version: "4.57.1",
      hidden_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      rope_scaling: null,
    });
    expect(config.hidden_size).toBe(64);
    expect(config.head_dim).toBe(16);
    expect(config.intermediate_size).toBe(256);
    expect(config.vocab_size).toBe(6400);
    expect(config.rope_scaling).toBeNull();
  });

  it("treats an absent model_type as minimind, and ignores rope_scaling unless inference_rope_scaling (as upstream)", () => {
    const config = parseMiniMindConfig({ rope_scaling: { type: "yarn", factor: 4 } });
    expect(config.rope_scaling).toBeNull();
    const scaled = parseMiniMindConfig({ inference_rope_scaling: true, rope_scaling: { type: "yarn", factor: 4 } });
    expect(scaled.rope_scaling).toEqual({ ...DEFAULT_ROPE_SCALING, factor: 4 });
  });

  it("gives one KV head per query head for an explicit null, as upstream's attention does", () => {
    expect(parseMiniMindConfig({ num_key_value_heads: null }).num_key_value_heads).toBe(8);
    expect(parseMiniMindConfig({ num_attention_heads: 4, num_key_value_heads: null }).num_key_value_heads).toBe(4);
    expect(parseMiniMindConfig({}).num_key_value_heads).toBe(4);
  });

  it("names the file and the field in errors", () => {
    expect(() => parseMiniMindConfig({ hidden_size: "768" }, "ckpt/config.json")).toThrow(
      '[config] ckpt/config.json: "hidden_size" is "768"; expected a positive integer',
    );
    expect(() => parseMiniMindConfig({ use_moe: "yes" }, "ckpt/config.json")).toThrow(
      '[config] ckpt/config.json: "use_moe" is "yes"; expected true or false',
    );
    expect(() => parseMiniMindConfig({ model_type: "llama" })).toThrow(
      '[config] config.json: "model_type" is "llama"; expected "minimind", "qwen3" or "qwen3_moe"',
    );
    expect(() => parseMiniMindConfig([])).toThrow("[config] config.json: the config must be a JSON object");
  });

  it("keeps messages short and safe for hostile values", () => {
    const deep = JSON.parse(`${"[".repeat(100_000)}${"]".repeat(100_000)}`);
    expect(() => parseMiniMindConfig({ hidden_size: deep })).toThrow(
      '[config] config.json: "hidden_size" is a deeply nested array; expected a positive integer',
    );
    expect(() => parseMiniMindConfig({ hidden_act: "x".repeat(1000) })).toThrow(
      `"hidden_act" is "${"x".repeat(56)}...; only "silu"`,
    );
  });

  it("maps a qwen3 config, with Qwen3's defaults for what it leaves out", () => {
    const config = parseMiniMindConfig({
      architectures: ["Qwen3ForCausalLM"],
      model_type: "qwen3",
      hidden_size: 128,
      intermediate_size: 384,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 64,
      vocab_size: 6400,
      attention_bias: false,
      use_sliding_window: false,
      sliding_window: null,
      attention_dropout: 0.0,
      eos_token_id: [2, 0],
    });
    expect(config).toMatchObject({
      model_type: "minimind",
      use_moe: false,
      hidden_size: 128,
      intermediate_size: 384,
      head_dim: 64,
      num_key_value_heads: 2,
      rope_theta: 10000,
      tie_word_embeddings: false,
      eos_token_id: [2, 0],
      inference_rope_scaling: false,
    });
    const noKvHeads = parseMiniMindConfig({
      model_type: "qwen3",
      hidden_size: 128,
      intermediate_size: 384,
      num_hidden_layers: 1,
      num_attention_heads: 4,
      vocab_size: 100,
    });
    expect(noKvHeads.num_key_value_heads).toBe(4);
    expect(noKvHeads.head_dim).toBe(32);
  });

  it("maps qwen3 YaRN scaling, also from transformers v5 rope_parameters", () => {
    const base = {
      model_type: "qwen3",
      hidden_size: 64,
      intermediate_size: 256,
      num_hidden_layers: 1,
      num_attention_heads: 4,
      vocab_size: 100,
    };
    const v4 = parseMiniMindConfig({
      ...base,
      rope_theta: 1e6,
      rope_scaling: { rope_type: "yarn", factor: 4, original_max_position_embeddings: 32768 },
    });
    expect(v4.rope_theta).toBe(1e6);
    expect(v4.inference_rope_scaling).toBe(true);
    expect(v4.rope_scaling).toEqual({ ...DEFAULT_ROPE_SCALING, factor: 4, original_max_position_embeddings: 32768 });
    const v5 = parseMiniMindConfig({ ...base, rope_parameters: { rope_type: "default", rope_theta: 5e5 } });
    expect(v5.rope_theta).toBe(5e5);
    expect(v5.rope_scaling).toBeNull();
    expect(() => parseMiniMindConfig({ ...base, rope_scaling: { rope_type: "linear", factor: 2 } })).toThrow(
      '"rope_scaling" has type "linear"; only "yarn" is supported',
    );
  });

  it("maps a qwen3_moe config", () => {
    const config = parseMiniMindConfig({
      model_type: "qwen3_moe",
      hidden_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 1,
      vocab_size: 6400,
      num_experts: 4,
      num_experts_per_tok: 2,
      moe_intermediate_size: 128,
      decoder_sparse_step: 1,
      mlp_only_layers: [],
      tie_word_embeddings: true,
    });
    expect(config).toMatchObject({
      use_moe: true,
      num_experts: 4,
      num_experts_per_tok: 2,
      moe_intermediate_size: 128,
      intermediate_size: 128,
      norm_topk_prob: false,
      router_aux_loss_coef: 0.001,
      tie_word_embeddings: true,
    });
  });

  const unsupported: [string, Record<string, unknown>, string][] = [
    [
      "a missing architecture field",
      { model_type: "qwen3", hidden_size: 64, num_hidden_layers: 1, num_attention_heads: 4, vocab_size: 10 },
      '"intermediate_size" is missing; a qwen3 config must give it',
    ],
    [
      "attention bias",
      {
        model_type: "qwen3",
        hidden_size: 64,
        intermediate_size: 256,
        num_hidden_layers: 1,
        num_attention_heads: 4,
        vocab_size: 10,
        attention_bias: true,
      },
      '"attention_bias" is true; MiniMind projections have no bias',
    ],
    [
      "a sliding window",
      {
        model_type: "qwen3",
        hidden_size: 64,
        intermediate_size: 256,
        num_hidden_layers: 1,
        num_attention_heads: 4,
        vocab_size: 10,
        use_sliding_window: true,
      },
      '"use_sliding_window" is true',
    ],
    [
      "dense layers in an MoE stack",
      {
        model_type: "qwen3_moe",
        hidden_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        vocab_size: 10,
        num_experts: 2,
        num_experts_per_tok: 1,
        moe_intermediate_size: 32,
        mlp_only_layers: [0],
      },
      '"mlp_only_layers" is [0]',
    ],
    [
      "a sparse step",
      {
        model_type: "qwen3_moe",
        hidden_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        vocab_size: 10,
        num_experts: 2,
        num_experts_per_tok: 1,
        moe_intermediate_size: 32,
        decoder_sparse_step: 2,
      },
      '"decoder_sparse_step" is 2',
    ],
  ];
  it.each(unsupported)("rejects a Qwen3 config with %s", (_, json, message) => {
    expect(() => parseMiniMindConfig(json, "qwen/config.json")).toThrow(`[config] qwen/config.json: ${message}`);
  });

  it("either parses hostile JSON into a valid config or rejects it with a [config] error", () => {
    const field = fc.constantFrom(
      "model_type",
      "hidden_size",
      "num_hidden_layers",
      "num_attention_heads",
      "num_key_value_heads",
      "head_dim",
      "intermediate_size",
      "eos_token_id",
      "use_moe",
      "num_experts",
      "num_experts_per_tok",
      "inference_rope_scaling",
      "rope_scaling",
      "rope_parameters",
      "dropout",
      "mlp_only_layers",
    );
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.integer({ min: -2, max: 64 }),
      fc.constantFrom("minimind", "qwen3", "qwen3_moe", true, false, null),
    );
    fc.assert(
      fc.property(fc.dictionary(field, value, { maxKeys: 8 }), (json) => {
        let config: ReturnType<typeof parseMiniMindConfig>;
        try {
          config = parseMiniMindConfig(json, "fuzz/config.json");
        } catch (error) {
          expect((error as Error).message.startsWith("[config] fuzz/config.json: ")).toBe(true);
          return;
        }
        expect(() => validateMiniMindConfig(config)).not.toThrow();
        expect(Number.isSafeInteger(countParameters(config))).toBe(true);
        expect(countParameters(config)).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips through miniMindConfigToJson", () => {
    for (const config of [
      createMiniMindConfig(),
      createMiniMindConfig({ use_moe: true, num_experts_per_tok: 2, tie_word_embeddings: false, eos_token_id: [2, 3] }),
      createMiniMindConfig({
        inference_rope_scaling: true,
        rope_scaling: { factor: 8 },
        max_position_embeddings: 4096,
      }),
    ]) {
      const json = JSON.parse(JSON.stringify(miniMindConfigToJson(config)));
      expect(json.architectures).toEqual(["MiniMindForCausalLM"]);
      expect(json.model_type).toBe("minimind");
      expect(parseMiniMindConfig(json)).toEqual(config);
    }
  });
});
