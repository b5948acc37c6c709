/**
 * MiniMindConfig: the model's hyper-parameters under upstream field names (`model/model_minimind.py`,
 * MiniMindConfig), with upstream defaults and derived values, validation, and `config.json` parsing for
 * `model_type` "minimind" and the Qwen3 exports "qwen3" / "qwen3_moe" (same weight names). Also the parameter
 * names and shapes a config implies, and its parameter count. This is plain data: no tensors, no model.
 */
import { describeValue } from "./describe-value.js";

/** YaRN RoPE scaling, used at inference when `inference_rope_scaling` is set (upstream field names). */
export interface RopeScaling {
  readonly type: "yarn";
  readonly factor: number;
  readonly original_max_position_embeddings: number;
  readonly beta_fast: number;
  readonly beta_slow: number;
  readonly attention_factor: number;
}

/** A complete, validated MiniMind configuration. Field names and meanings are upstream's. */
export interface MiniMindConfig {
  readonly model_type: "minimind";
  readonly hidden_size: number;
  readonly num_hidden_layers: number;
  readonly use_moe: boolean;
  readonly dropout: number;
  readonly vocab_size: number;
  readonly bos_token_id: number;
  /** One end-of-sequence id, or several (Hugging Face configs allow a list). */
  readonly eos_token_id: number | readonly number[];
  readonly flash_attn: boolean;
  readonly num_attention_heads: number;
  readonly num_key_value_heads: number;
  /** Per-head width; `hidden_size / num_attention_heads` (integer division) when absent. */
  readonly head_dim: number;
  readonly hidden_act: "silu";
  /** SwiGLU width; `ceil(hidden_size · π / 64) · 64` when absent. */
  readonly intermediate_size: number;
  readonly max_position_embeddings: number;
  readonly rms_norm_eps: number;
  readonly rope_theta: number;
  readonly tie_word_embeddings: boolean;
  readonly inference_rope_scaling: boolean;
  /** The YaRN parameters when `inference_rope_scaling`, else null. */
  readonly rope_scaling: RopeScaling | null;
  readonly num_experts: number;
  readonly num_experts_per_tok: number;
  /** Expert width; `intermediate_size` when absent. */
  readonly moe_intermediate_size: number;
  readonly norm_topk_prob: boolean;
  readonly router_aux_loss_coef: number;
}

/** The fields one may set when creating a config; everything else takes the upstream default. */
export type MiniMindConfigOptions = Partial<Omit<MiniMindConfig, "model_type" | "rope_scaling">> & {
  readonly rope_scaling?: Partial<RopeScaling> | null;
};

/** Upstream's YaRN parameters (used whenever `inference_rope_scaling` is on and the file gives none). */
export const DEFAULT_ROPE_SCALING: RopeScaling = Object.freeze({
  type: "yarn",
  factor: 16,
  original_max_position_embeddings: 2048,
  beta_fast: 32,
  beta_slow: 1,
  attention_factor: 1.0,
});

/** Upstream's SwiGLU width rule: `ceil(hidden_size · π / 64) · 64`. */
export function defaultIntermediateSize(hiddenSize: number): number {
  return Math.ceil((hiddenSize * Math.PI) / 64) * 64;
}

/**
 * How many positions (0 … n − 1) the model may rotate: `max_position_embeddings` (the length of upstream's
 * rotary tables), or, when YaRN is in effect (`inference_rope_scaling` with `max_position_embeddings` above
 * `rope_scaling.original_max_position_embeddings`, upstream's condition for the scaled frequencies), the
 * larger of that and `factor × original_max_position_embeddings`, the context YaRN is built to reach. Beyond
 * it RoPE would extrapolate, so `forward` and `generate` refuse.
 */
export function maxPositions(config: MiniMindConfig): number {
  const scaling = config.inference_rope_scaling ? config.rope_scaling : null;
  if (scaling === null || config.max_position_embeddings <= scaling.original_max_position_embeddings) {
    return config.max_position_embeddings;
  }
  const extended = Math.floor(scaling.factor * scaling.original_max_position_embeddings);
  return Math.max(config.max_position_embeddings, extended);
}

/** Why the limit is `maxPositions(config)`, for error messages. */
export function describeMaxPositions(config: MiniMindConfig): string {
  const limit = maxPositions(config);
  const scaling = config.inference_rope_scaling ? config.rope_scaling : null;
  if (scaling === null) {
    return `max_position_embeddings is ${limit} (positions 0–${limit - 1}; YaRN is off: set inference_rope_scaling to extend it)`;
  }
  if (config.max_position_embeddings <= scaling.original_max_position_embeddings) {
    return `max_position_embeddings is ${limit} (positions 0–${limit - 1}; YaRN is on but inactive, since max_position_embeddings does not exceed rope_scaling.original_max_position_embeddings ${scaling.original_max_position_embeddings})`;
  }
  return `the context is ${limit} positions (0–${limit - 1}: YaRN, max(max_position_embeddings ${config.max_position_embeddings}, factor ${scaling.factor} × original_max_position_embeddings ${scaling.original_max_position_embeddings}))`;
}

function fail(source: string, message: string): never {
  throw new Error(`[config] ${source}: ${message}`);
}

/**
 * Upper bounds on the size fields, far above any released model (Qwen3-235B: 94 layers, hidden 4096, 151,936
 * tokens, 262,144 positions) yet low enough that a hostile `config.json` is refused before anything is
 * allocated: the parameter names, shapes and rotary tables a config implies all grow with these numbers.
 * `parameterBytes` bounds the float32 weights (4 bytes a parameter) the config implies: 1 TiB, and
 * `parameterTensors` the number of named weights (DeepSeek-V3 has about 47,000), since a name map is built
 * for them. Loading (`fromPretrained`) also checks the weights against the machine's memory.
 */
export const MINIMIND_CONFIG_LIMITS = Object.freeze({
  hidden_size: 65_536,
  num_hidden_layers: 1_024,
  num_attention_heads: 1_024,
  num_key_value_heads: 1_024,
  head_dim: 4_096,
  intermediate_size: 1_048_576,
  moe_intermediate_size: 1_048_576,
  vocab_size: 16_777_216,
  max_position_embeddings: 16_777_216,
  num_experts: 1_024,
  num_experts_per_tok: 1_024,
  parameterBytes: 2 ** 40,
  parameterTensors: 262_144,
});

/** "3.4 GiB": a byte count for error messages. */
export function describeBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Builds a complete config from upstream defaults (hidden 768, 8 layers, 8 heads / 4 KV heads, vocab 6400,
 * RoPE θ 1e6, tied embeddings, …) and the given fields, then validates it. `source` names the origin in errors.
 */
export function createMiniMindConfig(options: MiniMindConfigOptions = {}, source = "MiniMindConfig"): MiniMindConfig {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    fail(source, `the options are ${describeValue(options)}; expected an object of MiniMindConfig fields`);
  }
  const hiddenSize = options.hidden_size ?? 768;
  const numAttentionHeads = options.num_attention_heads ?? 8;
  // Derive only from numbers: arithmetic on a hostile value (say a deeply nested array) would run its
  // toString; validation below then names the field at fault.
  const numeric = typeof hiddenSize === "number" && typeof numAttentionHeads === "number";
  const intermediateSize = options.intermediate_size ?? (numeric ? defaultIntermediateSize(hiddenSize) : Number.NaN);
  const inferenceRopeScaling = options.inference_rope_scaling ?? false;
  if (inferenceRopeScaling !== true && options.rope_scaling !== undefined && options.rope_scaling !== null) {
    fail(source, `"rope_scaling" is given but "inference_rope_scaling" is not true; set both or neither`);
  }
  const config: MiniMindConfig = {
    model_type: "minimind",
    hidden_size: hiddenSize,
    num_hidden_layers: options.num_hidden_layers ?? 8,
    use_moe: options.use_moe ?? false,
    dropout: options.dropout ?? 0.0,
    vocab_size: options.vocab_size ?? 6400,
    bos_token_id: options.bos_token_id ?? 1,
    eos_token_id: Array.isArray(options.eos_token_id)
      ? Object.freeze([...options.eos_token_id])
      : (options.eos_token_id ?? 2),
    flash_attn: options.flash_attn ?? true,
    num_attention_heads: numAttentionHeads,
    num_key_value_heads: options.num_key_value_heads ?? 4,
    head_dim: options.head_dim ?? (numeric ? Math.floor(hiddenSize / numAttentionHeads) : Number.NaN),
    hidden_act: options.hidden_act ?? "silu",
    intermediate_size: intermediateSize,
    max_position_embeddings: options.max_position_embeddings ?? 32768,
    rms_norm_eps: options.rms_norm_eps ?? 1e-6,
    rope_theta: options.rope_theta ?? 1e6,
    tie_word_embeddings: options.tie_word_embeddings ?? true,
    inference_rope_scaling: inferenceRopeScaling,
    rope_scaling: inferenceRopeScaling
      ? Object.freeze({ ...DEFAULT_ROPE_SCALING, ...(options.rope_scaling ?? {}) })
      : null,
    num_experts: options.num_experts ?? 4,
    num_experts_per_tok: options.num_experts_per_tok ?? 1,
    moe_intermediate_size: options.moe_intermediate_size ?? intermediateSize,
    norm_topk_prob: options.norm_topk_prob ?? true,
    router_aux_loss_coef: options.router_aux_loss_coef ?? 5e-4,
  };
  // A misspelt field would otherwise silently take its default; a whole config (model_type "minimind") may be spread in.
  for (const name of Object.keys(options)) {
    const spreadConfig = name === "model_type" && (options as { model_type?: unknown }).model_type === "minimind";
    if (!(name in config) || (name === "model_type" && !spreadConfig)) {
      fail(
        source,
        `unknown field "${name}"; expected MiniMindConfig fields (upstream names): ${Object.keys(config)
          .filter((field) => field !== "model_type")
          .join(", ")}`,
      );
    }
  }
  validateMiniMindConfig(config, source);
  return Object.freeze(config);
}

/**
 * Checks every field's type and range and the relations between fields (heads divisible by KV heads,
 * top-k within the expert count, …). Throws an Error naming `source` and the field at fault.
 */
export function validateMiniMindConfig(config: MiniMindConfig, source = "MiniMindConfig"): void {
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    fail(source, `the config is ${describeValue(config)}; expected an object (see createMiniMindConfig)`);
  }
  const positiveIntegers = [
    "hidden_size",
    "num_hidden_layers",
    "vocab_size",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "intermediate_size",
    "max_position_embeddings",
    "num_experts",
    "num_experts_per_tok",
    "moe_intermediate_size",
  ] as const;
  for (const field of positiveIntegers) {
    const value: unknown = config[field];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
      fail(source, `"${field}" is ${describeValue(value)}; expected a positive integer`);
    }
    const limit = MINIMIND_CONFIG_LIMITS[field];
    if (value > limit) {
      fail(source, `"${field}" is ${value}; at most ${limit} is accepted (MINIMIND_CONFIG_LIMITS.${field})`);
    }
  }
  for (const field of [
    "use_moe",
    "flash_attn",
    "tie_word_embeddings",
    "inference_rope_scaling",
    "norm_topk_prob",
  ] as const) {
    if (typeof config[field] !== "boolean") {
      fail(source, `"${field}" is ${describeValue(config[field])}; expected true or false`);
    }
  }
  const tokenIds = Array.isArray(config.eos_token_id) ? config.eos_token_id : [config.eos_token_id];
  for (const [field, values] of [
    ["bos_token_id", [config.bos_token_id]],
    ["eos_token_id", tokenIds],
  ] as const) {
    if (
      values.length === 0 ||
      !values.every((id: unknown) => typeof id === "number" && Number.isSafeInteger(id) && id >= 0)
    ) {
      fail(
        source,
        `"${field}" is ${describeValue(field === "bos_token_id" ? config.bos_token_id : config.eos_token_id)}; expected a non-negative token id${field === "eos_token_id" ? " or a non-empty list of them" : ""}`,
      );
    }
    const outside = values.find((id: number) => id >= config.vocab_size);
    if (outside !== undefined) {
      fail(source, `"${field}" holds ${outside}; token ids must be below "vocab_size" (${config.vocab_size})`);
    }
  }
  if (typeof config.dropout !== "number" || !(config.dropout >= 0 && config.dropout < 1)) {
    fail(source, `"dropout" is ${describeValue(config.dropout)}; expected a number in [0, 1)`);
  }
  for (const field of ["rms_norm_eps", "rope_theta"] as const) {
    const value: unknown = config[field];
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      fail(source, `"${field}" is ${describeValue(value)}; expected a positive number`);
    }
  }
  if (
    typeof config.router_aux_loss_coef !== "number" ||
    !Number.isFinite(config.router_aux_loss_coef) ||
    config.router_aux_loss_coef < 0
  ) {
    fail(
      source,
      `"router_aux_loss_coef" is ${describeValue(config.router_aux_loss_coef)}; expected a non-negative number`,
    );
  }
  if (config.hidden_act !== "silu") {
    fail(source, `"hidden_act" is ${describeValue(config.hidden_act)}; only "silu" (SwiGLU) is supported`);
  }
  if (config.num_attention_heads % config.num_key_value_heads !== 0) {
    fail(
      source,
      `"num_attention_heads" (${config.num_attention_heads}) must be a multiple of "num_key_value_heads" (${config.num_key_value_heads}) for grouped-query attention`,
    );
  }
  if (config.head_dim % 2 !== 0) {
    fail(source, `"head_dim" is ${config.head_dim}; rotary embeddings need an even head_dim`);
  }
  if (config.use_moe && config.num_experts_per_tok > config.num_experts) {
    fail(source, `"num_experts_per_tok" (${config.num_experts_per_tok}) exceeds "num_experts" (${config.num_experts})`);
  }
  const parameters = countParameters(config);
  const parameterBytes = 4 * parameters;
  if (parameterBytes > MINIMIND_CONFIG_LIMITS.parameterBytes) {
    fail(
      source,
      `the config implies ${parameters.toExponential(3)} parameters (${describeBytes(parameterBytes)} as float32); at most ${describeBytes(MINIMIND_CONFIG_LIMITS.parameterBytes)} is accepted (MINIMIND_CONFIG_LIMITS.parameterBytes)`,
    );
  }
  const tensors = countParameterTensors(config);
  if (tensors > MINIMIND_CONFIG_LIMITS.parameterTensors) {
    fail(
      source,
      `the config implies ${tensors} weight tensors (${config.num_hidden_layers} layers${config.use_moe ? ` × ${config.num_experts} experts` : ""}); at most ${MINIMIND_CONFIG_LIMITS.parameterTensors} are accepted (MINIMIND_CONFIG_LIMITS.parameterTensors)`,
    );
  }
  if (config.inference_rope_scaling) validateRopeScaling(config.rope_scaling, source);
  else if (config.rope_scaling !== null) {
    fail(source, `"rope_scaling" is set but "inference_rope_scaling" is false; set both or neither`);
  }
}

function validateRopeScaling(scaling: RopeScaling | null, source: string): void {
  if (scaling === null || typeof scaling !== "object") {
    fail(source, `"rope_scaling" must be an object when "inference_rope_scaling" is true`);
  }
  if (scaling.type !== "yarn") {
    fail(source, `"rope_scaling.type" is ${describeValue(scaling.type)}; only "yarn" is supported`);
  }
  const positive = ["factor", "beta_fast", "beta_slow", "attention_factor"] as const;
  for (const field of positive) {
    const value: unknown = scaling[field];
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      fail(source, `"rope_scaling.${field}" is ${describeValue(value)}; expected a positive number`);
    }
  }
  const original: unknown = scaling.original_max_position_embeddings;
  if (typeof original !== "number" || !Number.isSafeInteger(original) || original <= 0) {
    fail(
      source,
      `"rope_scaling.original_max_position_embeddings" is ${describeValue(original)}; expected a positive integer`,
    );
  }
  // YaRN's context, factor × original, sizes the rotary tables like max_position_embeddings does.
  const limit = MINIMIND_CONFIG_LIMITS.max_position_embeddings;
  if (scaling.factor * original > limit) {
    fail(
      source,
      `"rope_scaling" reaches factor ${scaling.factor} × original_max_position_embeddings ${original} = ${scaling.factor * original} positions; at most ${limit} is accepted (MINIMIND_CONFIG_LIMITS.max_position_embeddings)`,
    );
  }
}

/** Fields of a `config.json` that map one-to-one onto MiniMindConfig fields in every supported model_type. */
const sharedFields = [
  "hidden_size",
  "num_hidden_layers",
  "vocab_size",
  "bos_token_id",
  "eos_token_id",
  "num_attention_heads",
  "num_key_value_heads",
  "head_dim",
  "hidden_act",
  "intermediate_size",
  "max_position_embeddings",
  "rms_norm_eps",
  "rope_theta",
  "tie_word_embeddings",
] as const;

const moeFields = [
  "num_experts",
  "num_experts_per_tok",
  "moe_intermediate_size",
  "norm_topk_prob",
  "router_aux_loss_coef",
] as const;

/**
 * Parses a `config.json` object (already JSON-parsed). `model_type` "minimind" (or absent) uses upstream
 * fields and defaults. "qwen3" and "qwen3_moe" map Hugging Face Qwen3 fields onto MiniMind's: the
 * architecture fields must be present, the rest take Qwen3's defaults (RoPE θ 10000, untied head,
 * `norm_topk_prob` false and aux coefficient 0.001 for MoE); features MiniMind lacks (attention bias,
 * sliding window, dense layers in an MoE stack) are rejected. For "minimind", `rope_scaling` is read only when
 * `inference_rope_scaling` is true, and its values override upstream's YaRN defaults field by field (upstream
 * PyTorch always uses the defaults, so keep them for files it must load). Null fields count as absent, and fields
 * MiniMind does not use (`architectures`, `torch_dtype`, …) are ignored. Errors name `source` and the field.
 */
export function parseMiniMindConfig(json: unknown, source = "config.json"): MiniMindConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    fail(source, "the config must be a JSON object");
  }
  const fields = json as Record<string, unknown>;
  const modelType = fields.model_type ?? "minimind";
  const present = (name: string): boolean => fields[name] !== undefined && fields[name] !== null;
  const options: Record<string, unknown> = {};
  const copy = (names: readonly string[]): void => {
    for (const name of names) if (present(name)) options[name] = fields[name];
  };
  const requireFields = (names: readonly string[]): void => {
    for (const name of names) {
      if (!present(name)) fail(source, `"${name}" is missing; a ${String(modelType)} config must give it`);
    }
  };
  if (modelType === "minimind") {
    copy([...sharedFields, "use_moe", "dropout", "flash_attn", "inference_rope_scaling", ...moeFields]);
    // upstream's attention falls back to one KV head per query head when the field is an explicit null
    if (fields.num_key_value_heads === null) options.num_key_value_heads = options.num_attention_heads ?? 8;
    if (options.inference_rope_scaling === true && present("rope_scaling")) {
      options.rope_scaling = readRopeScaling(fields.rope_scaling, source);
    }
  } else if (modelType === "qwen3" || modelType === "qwen3_moe") {
    const moe = modelType === "qwen3_moe";
    requireFields(["hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size"]);
    requireFields(moe ? ["num_experts", "num_experts_per_tok", "moe_intermediate_size"] : ["intermediate_size"]);
    copy([...sharedFields, ...(moe ? moeFields : [])]);
    options.use_moe = moe;
    options.num_key_value_heads ??= options.num_attention_heads;
    options.rope_theta ??= ropeParameter(fields, "rope_theta") ?? 10000;
    options.tie_word_embeddings ??= false;
    if (present("attention_dropout")) options.dropout = fields.attention_dropout;
    if (moe) {
      options.norm_topk_prob ??= false;
      options.router_aux_loss_coef ??= 0.001;
      // A dense FFN width is not used by an all-MoE stack; keep the file's, or mirror the expert width.
      options.intermediate_size ??= options.moe_intermediate_size;
    }
    rejectUnsupported(fields, moe, source);
    const scaling = qwenRopeScaling(fields, source);
    if (scaling !== undefined) {
      options.inference_rope_scaling = true;
      options.rope_scaling = scaling;
    }
  } else {
    fail(source, `"model_type" is ${describeValue(modelType)}; expected "minimind", "qwen3" or "qwen3_moe"`);
  }
  return createMiniMindConfig(options as MiniMindConfigOptions, source);
}

/** Qwen3 features MiniMind's forward does not have: refuse rather than load weights into the wrong model. */
function rejectUnsupported(fields: Record<string, unknown>, moe: boolean, source: string): void {
  if (fields.attention_bias === true) fail(source, '"attention_bias" is true; MiniMind projections have no bias');
  if (fields.use_sliding_window === true) {
    fail(source, '"use_sliding_window" is true; MiniMind uses full causal attention in every layer');
  }
  if (!moe) return;
  const step = fields.decoder_sparse_step;
  if (step !== undefined && step !== null && step !== 1) {
    fail(source, `"decoder_sparse_step" is ${describeValue(step)}; MiniMind needs every layer to be MoE (1)`);
  }
  const denseLayers = fields.mlp_only_layers;
  if (denseLayers !== undefined && denseLayers !== null && !(Array.isArray(denseLayers) && denseLayers.length === 0)) {
    fail(source, `"mlp_only_layers" is ${describeValue(denseLayers)}; MiniMind needs every layer to be MoE ([])`);
  }
}

/** Transformers v5 moves `rope_theta` and the scaling into `rope_parameters`; read either place. */
function ropeParameter(fields: Record<string, unknown>, name: string): unknown {
  const parameters = fields.rope_parameters;
  if (typeof parameters === "object" && parameters !== null && !Array.isArray(parameters)) {
    return (parameters as Record<string, unknown>)[name];
  }
  return undefined;
}

function qwenRopeScaling(fields: Record<string, unknown>, source: string): Partial<RopeScaling> | undefined {
  const scaling = fields.rope_scaling ?? fields.rope_parameters;
  if (scaling === undefined || scaling === null) return undefined;
  if (typeof scaling !== "object" || Array.isArray(scaling)) {
    fail(source, `"rope_scaling" is ${describeValue(scaling)}; expected an object or null`);
  }
  const record = scaling as Record<string, unknown>;
  const kind = record.rope_type ?? record.type ?? "default";
  if (kind === "default") return undefined;
  if (kind !== "yarn") fail(source, `"rope_scaling" has type ${describeValue(kind)}; only "yarn" is supported`);
  return readRopeScaling(scaling, source);
}

function readRopeScaling(value: unknown, source: string): Partial<RopeScaling> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(source, `"rope_scaling" is ${describeValue(value)}; expected an object`);
  }
  const record = value as Record<string, unknown>;
  const scaling: Record<string, unknown> = {};
  for (const field of ["factor", "original_max_position_embeddings", "beta_fast", "beta_slow", "attention_factor"]) {
    if (record[field] !== undefined && record[field] !== null) scaling[field] = record[field];
  }
  const kind = record.type ?? record.rope_type;
  if (kind !== undefined) scaling.type = kind;
  return scaling as Partial<RopeScaling>;
}

/**
 * The config as a `config.json` object for upstream PyTorch (`MiniMindConfig(**json)`): every field under
 * its upstream name, with `architectures` and `model_type` "minimind".
 */
export function miniMindConfigToJson(config: MiniMindConfig): Record<string, unknown> {
  const { model_type: modelType, ...fields } = config;
  return {
    architectures: ["MiniMindForCausalLM"],
    model_type: modelType,
    ...fields,
    eos_token_id: Array.isArray(config.eos_token_id) ? [...config.eos_token_id] : config.eos_token_id,
    rope_scaling: config.rope_scaling === null ? null : { ...config.rope_scaling },
  };
}

/**
 * Every parameter the config implies, in upstream state-dict order and names, with its shape
 * (`[out, in]` for linear layers, as PyTorch stores them). `lm_head.weight` is listed only when the head is
 * not tied to the embedding.
 */
export function parameterShapes(config: MiniMindConfig): Map<string, readonly number[]> {
  // A hand-built config skips createMiniMindConfig's checks: validate it before building a name per tensor.
  validateMiniMindConfig(config);
  const shapes = new Map<string, readonly number[]>();
  const hidden = config.hidden_size;
  const queryWidth = config.num_attention_heads * config.head_dim;
  const keyValueWidth = config.num_key_value_heads * config.head_dim;
  shapes.set("model.embed_tokens.weight", [config.vocab_size, hidden]);
  const feedForward = (prefix: string, width: number): void => {
    shapes.set(`${prefix}.gate_proj.weight`, [width, hidden]);
    shapes.set(`${prefix}.down_proj.weight`, [hidden, width]);
    shapes.set(`${prefix}.up_proj.weight`, [width, hidden]);
  };
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const prefix = `model.layers.${layer}`;
    shapes.set(`${prefix}.self_attn.q_proj.weight`, [queryWidth, hidden]);
    shapes.set(`${prefix}.self_attn.k_proj.weight`, [keyValueWidth, hidden]);
    shapes.set(`${prefix}.self_attn.v_proj.weight`, [keyValueWidth, hidden]);
    shapes.set(`${prefix}.self_attn.o_proj.weight`, [hidden, queryWidth]);
    shapes.set(`${prefix}.self_attn.q_norm.weight`, [config.head_dim]);
    shapes.set(`${prefix}.self_attn.k_norm.weight`, [config.head_dim]);
    shapes.set(`${prefix}.input_layernorm.weight`, [hidden]);
    shapes.set(`${prefix}.post_attention_layernorm.weight`, [hidden]);
    if (config.use_moe) {
      shapes.set(`${prefix}.mlp.gate.weight`, [config.num_experts, hidden]);
      for (let expert = 0; expert < config.num_experts; expert++) {
        feedForward(`${prefix}.mlp.experts.${expert}`, config.moe_intermediate_size);
      }
    } else {
      feedForward(`${prefix}.mlp`, config.intermediate_size);
    }
  }
  shapes.set("model.norm.weight", [hidden]);
  if (!config.tie_word_embeddings) shapes.set("lm_head.weight", [config.vocab_size, hidden]);
  return shapes;
}

/** How many entries `parameterShapes(config)` lists, in closed form. */
export function countParameterTensors(config: MiniMindConfig): number {
  const feedForward = config.use_moe ? 1 + 3 * config.num_experts : 3;
  return 1 + config.num_hidden_layers * (8 + feedForward) + 1 + (config.tie_word_embeddings ? 0 : 1);
}

/**
 * The number of trainable parameters (a tied head counted once), in closed form, so that it costs nothing
 * even for huge configs. Upstream defaults: 63,912,192.
 */
export function countParameters(config: MiniMindConfig): number {
  const hidden = config.hidden_size;
  const queryWidth = config.num_attention_heads * config.head_dim;
  const keyValueWidth = config.num_key_value_heads * config.head_dim;
  const attention = 2 * hidden * queryWidth + 2 * hidden * keyValueWidth + 2 * config.head_dim;
  const norms = 2 * hidden;
  const feedForward = config.use_moe
    ? config.num_experts * hidden + config.num_experts * 3 * hidden * config.moe_intermediate_size
    : 3 * hidden * config.intermediate_size;
  const embedding = config.vocab_size * hidden;
  const head = config.tie_word_embeddings ? 0 : embedding;
  return embedding + config.num_hidden_layers * (attention + norms + feedForward) + hidden + head;
}
