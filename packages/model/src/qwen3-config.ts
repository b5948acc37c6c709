/**
 * A MiniMindConfig as a Hugging Face Qwen3 `config.json` (`model_type` "qwen3", or "qwen3_moe" for an MoE
 * model): the same architecture under Qwen3's field names, so transformers' `Qwen3ForCausalLM` /
 * `Qwen3MoeForCausalLM` (and tools built on them) load the weights unchanged — the parameter names are the
 * same in both. Mirrors upstream `scripts/convert_model.py`'s `convert_torch2transformers`. parseMiniMindConfig
 * reads the result back into the same config. Not here: the weights (their names need no mapping).
 */
import type { MiniMindConfig } from "./config.js";

/** Options of miniMindConfigToQwen3Json. */
export interface Qwen3ConfigOptions {
  /** `torch_dtype` to record (the dtype the weights are stored in); default "float32". */
  readonly torchDtype?: "float32" | "float16" | "bfloat16";
}

/**
 * The config as a Qwen3 (dense) or Qwen3-MoE `config.json` object. Qwen3 features MiniMind lacks are written
 * switched off (no attention bias, no sliding window; every MoE layer sparse), and the values Qwen3 would
 * otherwise default differently (RoPE θ, tied head, top-k normalisation, aux-loss coefficient) are explicit.
 */
export function miniMindConfigToQwen3Json(
  config: MiniMindConfig,
  options: Qwen3ConfigOptions = {},
): Record<string, unknown> {
  const moe = config.use_moe;
  const json: Record<string, unknown> = {
    architectures: [moe ? "Qwen3MoeForCausalLM" : "Qwen3ForCausalLM"],
    model_type: moe ? "qwen3_moe" : "qwen3",
    vocab_size: config.vocab_size,
    hidden_size: config.hidden_size,
    intermediate_size: config.intermediate_size,
    num_hidden_layers: config.num_hidden_layers,
    num_attention_heads: config.num_attention_heads,
    num_key_value_heads: config.num_key_value_heads,
    head_dim: config.head_dim,
    hidden_act: config.hidden_act,
    max_position_embeddings: config.max_position_embeddings,
    rms_norm_eps: config.rms_norm_eps,
    rope_theta: config.rope_theta,
    rope_scaling: config.inference_rope_scaling && config.rope_scaling !== null ? yarn(config) : null,
    tie_word_embeddings: config.tie_word_embeddings,
    attention_bias: false,
    attention_dropout: config.dropout,
    use_sliding_window: false,
    sliding_window: null,
    bos_token_id: config.bos_token_id,
    eos_token_id: Array.isArray(config.eos_token_id) ? [...config.eos_token_id] : config.eos_token_id,
    use_cache: true,
    torch_dtype: options.torchDtype ?? "float32",
  };
  if (moe) {
    Object.assign(json, {
      num_experts: config.num_experts,
      num_experts_per_tok: config.num_experts_per_tok,
      moe_intermediate_size: config.moe_intermediate_size,
      norm_topk_prob: config.norm_topk_prob,
      router_aux_loss_coef: config.router_aux_loss_coef,
      decoder_sparse_step: 1,
      mlp_only_layers: [],
      output_router_logits: false,
    });
  }
  return json;
}

function yarn(config: MiniMindConfig): Record<string, unknown> {
  const scaling = config.rope_scaling as NonNullable<MiniMindConfig["rope_scaling"]>;
  return {
    rope_type: "yarn",
    factor: scaling.factor,
    original_max_position_embeddings: scaling.original_max_position_embeddings,
    beta_fast: scaling.beta_fast,
    beta_slow: scaling.beta_slow,
    attention_factor: scaling.attention_factor,
  };
}
