/**
 * The MiniMind decoder (upstream `model/model_minimind.py`, Qwen3-style), read bottom-up: RMSNorm → rotary
 * tables (plain and YaRN) → Attention (q_norm/k_norm, GQA, KV cache) → FeedForward (SwiGLU) → MoE
 * FeedForward (softmax router, top-k, load-balancing aux loss) → Block → Model → MiniMindForCausalLM.
 * Parameters are @minimind/tensor leaves under upstream names; attention runs through
 * @minimind/attention's `scaledDotProductAttention` with a pluggable strategy (causal by default); inference
 * under the default causal mask takes a matmul fast path for single-token decode steps (`attend`), tested
 * against that kernel.
 * Generation (`generate`, `stream`) is the KV-cached decoding loop at the end of the file; how each token is
 * picked (penalty, temperature, top-k/top-p, sampling, stop strings) lives in generation.ts.
 * Not here: weight file formats (safetensors.ts), config parsing (config.ts).
 */
import { and, causal, padding, type StrategyLike, scaledDotProductAttention } from "@minimind/attention";
import {
  add,
  arange,
  cast,
  concat,
  crossEntropy,
  dropout,
  embedding,
  equal,
  gatherRows,
  indexAddRows,
  keep,
  linear,
  matmul,
  mean,
  mul,
  noGrad,
  randnValues,
  rmsnorm,
  rope,
  scope,
  silu,
  slice,
  softmax,
  sum,
  Tensor,
  takeAlongLastAxis,
  tensor,
  topk,
  zeros,
} from "@minimind/tensor";
import {
  createMiniMindConfig,
  describeMaxPositions,
  type MiniMindConfig,
  type MiniMindConfigOptions,
  maxPositions,
  parameterShapes,
} from "./config.js";
import {
  type GenerateOptions,
  type GenerationSettings,
  hitsStopString,
  resolveGenerationSettings,
  seededUniform,
  selectToken,
} from "./generation.js";
import { type SafetensorsTensor, tensorToFloat32 } from "./safetensors.js";
import {
  readMiniMindConfigFile,
  readSafetensorsCheckpoint,
  writeMiniMindConfigFile,
  writeSafetensorsCheckpoint,
} from "./safetensors-files.js";
import { checkStateDict, type StateDictReport, stateDictToFloat32 } from "./state-dict.js";

// ---------------------------------------------------------------------------------------------------------
// Parameters

/** A trainable leaf owned by the model (exempt from every scope). */
function parameter(values: Float32Array, shape: readonly number[]): Tensor {
  return keep(tensor(values, { shape }).requireGrad());
}

/** Upstream init: linear and embedding weights ~ N(0, 0.02²), norm weights 1. */
function initialValues(name: string, shape: readonly number[], seed: number): Float32Array {
  const size = shape.reduce((product, dimension) => product * dimension, 1);
  if (name.endsWith("norm.weight")) return new Float32Array(size).fill(1);
  // Drawn on the host (the same values randn(shape, { seed, std }) would hold): no device round trip, so this
  // works on backends that read back only asynchronously (gpujs WebGPU).
  return randnValues(size, { seed, std: 0.02 }) as Float32Array;
}

// ---------------------------------------------------------------------------------------------------------
// RMSNorm

class RMSNorm {
  constructor(
    readonly weight: Tensor,
    readonly epsilon: number,
  ) {}

  forward(x: Tensor): Tensor {
    return rmsnorm(x, this.weight, this.epsilon); // over the last axis
  }
}

// ---------------------------------------------------------------------------------------------------------
// Rotary embedding tables

/**
 * cos and sin tables [positions, headDim/2] for rotate-half RoPE, computed as upstream's
 * `precompute_freqs_cis` does in float32 (each step rounded with Math.fround). With `rope_scaling` (YaRN)
 * and max_position_embeddings beyond the original context, the frequencies are blended by a linear ramp:
 * f'(i) = f(i)·((1 − γ) + γ / factor); the tables are scaled by `attention_factor`.
 */
export function rotaryTables(config: MiniMindConfig, positions: number): { cos: Float32Array; sin: Float32Array } {
  const dimension = config.head_dim;
  const half = dimension / 2;
  const base = config.rope_theta;
  const frequencies = new Float32Array(half);
  for (let index = 0; index < half; index++) {
    const exponent = Math.fround((2 * index) / dimension);
    frequencies[index] = Math.fround(1 / Math.fround(base ** exponent));
  }
  let attentionFactor = 1;
  const scaling = config.inference_rope_scaling ? config.rope_scaling : null;
  if (scaling !== null) {
    const originalMax = scaling.original_max_position_embeddings;
    attentionFactor = scaling.attention_factor;
    // The ramp depends on the configured context (upstream's `end`), not on how many rows are built here.
    if (config.max_position_embeddings / originalMax > 1) {
      const inverseDimension = (beta: number) =>
        (dimension * Math.log(originalMax / (beta * 2 * Math.PI))) / (2 * Math.log(base));
      const low = Math.max(Math.floor(inverseDimension(scaling.beta_fast)), 0);
      const high = Math.min(Math.ceil(inverseDimension(scaling.beta_slow)), half - 1);
      const span = Math.max(high - low, 0.001);
      for (let index = 0; index < half; index++) {
        const ramp = Math.min(Math.max(Math.fround(Math.fround(index - low) / Math.fround(span)), 0), 1);
        const blend = Math.fround(Math.fround(1 - ramp) + Math.fround(ramp / scaling.factor));
        frequencies[index] = Math.fround((frequencies[index] as number) * blend);
      }
    }
  }
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let position = 0; position < positions; position++) {
    for (let index = 0; index < half; index++) {
      const angle = Math.fround(position * (frequencies[index] as number));
      cos[position * half + index] = Math.fround(Math.fround(Math.cos(angle)) * attentionFactor);
      sin[position * half + index] = Math.fround(Math.fround(Math.sin(angle)) * attentionFactor);
    }
  }
  return { cos, sin };
}

/** Rotary tables as tensors, grown on demand and owned by the model. */
class RotaryEmbedding {
  private cos: Tensor | undefined;
  private sin: Tensor | undefined;
  private positions = 0;

  constructor(private readonly config: MiniMindConfig) {}

  /** Rows [start, start + length) of the cos and sin tables, each [length, headDim/2]. */
  tables(start: number, length: number): { cos: Tensor; sin: Tensor } {
    const end = start + length;
    if (end > this.positions) {
      const positions = Math.max(end, Math.min(2 * this.positions, this.config.max_position_embeddings), 64);
      const { cos, sin } = rotaryTables(this.config, positions);
      const half = this.config.head_dim / 2;
      this.dispose();
      this.cos = keep(tensor(cos, { shape: [positions, half] }));
      this.sin = keep(tensor(sin, { shape: [positions, half] }));
      this.positions = positions;
    }
    const cos = this.cos as Tensor;
    const sin = this.sin as Tensor;
    return {
      cos: cos.slice([start, 0], [end, cos.shape[1] as number]),
      sin: sin.slice([start, 0], [end, sin.shape[1] as number]),
    };
  }

  /** The table rows at arbitrary positions (one per token, e.g. per batch row), each [N, headDim/2]. */
  rows(positions: Int32Array): { cos: Tensor; sin: Tensor } {
    const largest = positions.reduce((highest, position) => Math.max(highest, position), 0);
    const { cos, sin } = this.tables(0, largest + 1);
    const indices = tensor(positions, { shape: [positions.length], dtype: "int32" }); // [N]
    return { cos: gatherRows(cos, indices), sin: gatherRows(sin, indices) };
  }

  dispose(): void {
    this.cos?.dispose();
    this.sin?.dispose();
    this.cos = undefined;
    this.sin = undefined;
    this.positions = 0;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Attention

/** One layer's cached keys and values, after k_norm and RoPE: [B, Hkv, Tpast, D] each. */
export interface LayerKeyValues {
  readonly key: Tensor;
  readonly value: Tensor;
}

/** What a forward pass shares with every layer. */
interface LayerContext {
  readonly cos: Tensor; // [T, D/2], or [B·T, D/2] with `positionsPerRow`
  readonly sin: Tensor; // [T, D/2], or [B·T, D/2] with `positionsPerRow`
  /** Whether each batch row has its own positions (left-padded batches), so the tables are per token. */
  readonly positionsPerRow: boolean;
  readonly strategy: StrategyLike;
  readonly training: boolean;
}

/**
 * softmax(q·kᵀ/√D + mask)·v for q [B, Hq, Tq, D] and k, v [B, Hkv, Tk, D] (GQA: Hq a multiple of Hkv),
 * queries at the last Tq key positions. The one place attention is computed, so the kernel can be swapped.
 */
function attend(query: Tensor, key: Tensor, value: Tensor, strategy: StrategyLike): Tensor {
  const [batch, queryHeads, queryLength, headDim] = query.shape as [number, number, number, number];
  if (strategy === causal && queryLength === 1) {
    // A decode step under the default causal mask sees every cached key: plain softmax attention on the
    // wasm matmul, grouping the query heads of each kv head (no K/V copies) instead of the general kernel.
    const keyValueHeads = key.shape[1] as number;
    const grouped = query.contiguous().reshape([batch, keyValueHeads, queryHeads / keyValueHeads, headDim]); // [B, Hkv, G, D]
    const scores = matmul(grouped, key.transpose(2, 3)).mul(1 / Math.sqrt(headDim)); // [B, Hkv, G, Tk]
    return matmul(softmax(scores), value).reshape([batch, queryHeads, 1, headDim]); // [B, Hq, 1, D]
  }
  return scaledDotProductAttention(query, key, value, { strategy });
}

class Attention {
  constructor(
    private readonly config: MiniMindConfig,
    readonly qProj: Tensor,
    readonly kProj: Tensor,
    readonly vProj: Tensor,
    readonly oProj: Tensor,
    readonly qNorm: RMSNorm,
    readonly kNorm: RMSNorm,
  ) {}

  forward(
    x: Tensor,
    context: LayerContext,
    past: LayerKeyValues | undefined,
  ): { output: Tensor; present: LayerKeyValues } {
    const [batch, length] = x.shape as [number, number, number];
    const { num_attention_heads: queryHeads, num_key_value_heads: keyValueHeads, head_dim: headDim } = this.config;
    let query = linear(x, this.qProj).reshape([batch, length, queryHeads, headDim]); // [B, T, Hq, D]
    let key = linear(x, this.kProj).reshape([batch, length, keyValueHeads, headDim]); // [B, T, Hkv, D]
    const value = linear(x, this.vProj).reshape([batch, length, keyValueHeads, headDim]); // [B, T, Hkv, D]
    query = this.qNorm.forward(query);
    key = this.kNorm.forward(key);
    if (context.positionsPerRow) {
      // One table row per token: rotate [1, B·T, H, D] (the same kernel, so each row matches its unbatched run).
      query = rope(query.reshape([1, batch * length, queryHeads, headDim]), context.cos, context.sin, {
        sequenceAxis: 1,
      }).reshape([batch, length, queryHeads, headDim]); // [B, T, Hq, D]
      key = rope(key.reshape([1, batch * length, keyValueHeads, headDim]), context.cos, context.sin, {
        sequenceAxis: 1,
      }).reshape([batch, length, keyValueHeads, headDim]); // [B, T, Hkv, D]
    } else {
      query = rope(query, context.cos, context.sin, { sequenceAxis: 1 }); // [B, T, Hq, D]
      key = rope(key, context.cos, context.sin, { sequenceAxis: 1 }); // [B, T, Hkv, D]
    }
    let keys = key.transpose(1, 2); // [B, Hkv, T, D]
    let values = value.transpose(1, 2); // [B, Hkv, T, D]
    if (past !== undefined) {
      keys = concat([past.key, keys], 2); // [B, Hkv, Tpast + T, D]
      values = concat([past.value, values], 2); // [B, Hkv, Tpast + T, D]
    }
    const attended = attend(query.transpose(1, 2), keys, values, context.strategy); // [B, Hq, T, D]
    const merged = attended
      .transpose(1, 2)
      .contiguous()
      .reshape([batch, length, queryHeads * headDim]); // [B, T, Hq·D]
    let output = linear(merged, this.oProj); // [B, T, hidden]
    if (context.training && this.config.dropout > 0) output = dropout(output, this.config.dropout);
    return { output, present: { key: keys, value: values } };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Feed-forward: SwiGLU and mixture of experts

class FeedForward {
  constructor(
    readonly gateProj: Tensor,
    readonly upProj: Tensor,
    readonly downProj: Tensor,
  ) {}

  /** down(silu(gate(x)) · up(x)) for x [..., hidden]. */
  forward(x: Tensor): Tensor {
    return linear(mul(silu(linear(x, this.gateProj)), linear(x, this.upProj)), this.downProj);
  }
}

class MoEFeedForward {
  constructor(
    private readonly config: MiniMindConfig,
    readonly gate: Tensor,
    readonly experts: readonly FeedForward[],
  ) {}

  /**
   * Routes each token to its top-k experts by softmax router probability (renormalised over the k when
   * `norm_topk_prob`) and sums their weighted outputs. The aux loss (training only, as upstream):
   * Σ_e load_e · meanProbability_e · E · coefficient, with load_e the share of (token, slot) picks of e.
   */
  forward(x: Tensor, training: boolean): { output: Tensor; auxLoss: Tensor | undefined } {
    const [batch, length, hidden] = x.shape as [number, number, number];
    const { num_experts: expertCount, num_experts_per_tok: topK } = this.config;
    const tokens = batch * length;
    const flat = x.reshape([tokens, hidden]); // [N, hidden]
    const probabilities = softmax(linear(flat, this.gate)); // [N, E]
    const indices = noGrad(() => topk(probabilities, topK).indices); // [N, k] int32
    let weights = takeAlongLastAxis(probabilities, indices); // [N, k]
    if (this.config.norm_topk_prob) weights = weights.div(add(sum(weights, -1, true), 1e-20));
    if (x.backend.synchronousReadback === false)
      return this.forwardWithoutReadback(flat, probabilities, indices, weights, training, [batch, length, hidden]);
    const slotWeights = weights.reshape([tokens * topK, 1]); // [N·k, 1]
    const picks = Int32Array.from(indices.dataSync() as Int32Array);
    indices.dispose();
    let output = zeros([tokens, hidden]); // [N, hidden]
    const load = new Float32Array(expertCount);
    for (let expert = 0; expert < expertCount; expert++) {
      const tokenIndices: number[] = [];
      const slotIndices: number[] = [];
      for (let slot = 0; slot < picks.length; slot++) {
        if (picks[slot] === expert) {
          tokenIndices.push(Math.floor(slot / topK));
          slotIndices.push(slot);
        }
      }
      load[expert] = tokenIndices.length / tokens;
      if (tokenIndices.length === 0) continue;
      const rows = tensor(Int32Array.from(tokenIndices), { dtype: "int32" }); // [n_e]
      const slots = tensor(Int32Array.from(slotIndices), { dtype: "int32" }); // [n_e]
      const expertOutput = (this.experts[expert] as FeedForward).forward(gatherRows(flat, rows)); // [n_e, hidden]
      output = indexAddRows(output, rows, mul(expertOutput, gatherRows(slotWeights, slots))); // [N, hidden]
    }
    let auxLoss: Tensor | undefined;
    if (training && this.config.router_aux_loss_coef > 0) {
      const balance = sum(mul(mean(probabilities, 0), tensor(load))); // scalar
      auxLoss = balance.mul(expertCount).mul(this.config.router_aux_loss_coef);
    }
    return { output: output.reshape([batch, length, hidden]), auxLoss }; // [B, T, hidden]
  }

  /**
   * The same routing on a backend that cannot read the picks back synchronously (gpujs on WebGPU): every
   * expert runs on every token and is weighted by its routing weight, 0 where the token did not pick it — the
   * same sum as the dispatch above (E/k times the expert FLOPs, no host round trip).
   */
  private forwardWithoutReadback(
    flat: Tensor,
    probabilities: Tensor,
    indices: Tensor,
    weights: Tensor,
    training: boolean,
    shape: [number, number, number],
  ): { output: Tensor; auxLoss: Tensor | undefined } {
    const { num_experts: expertCount, num_experts_per_tok: topK } = this.config;
    const tokens = shape[0] * shape[1];
    const experts = arange(0, expertCount, 1, { dtype: "int32" }).reshape([1, 1, expertCount]);
    const hits = noGrad(() => cast(equal(indices.reshape([tokens, topK, 1]), experts), "float32")); // [N, k, E]
    indices.dispose();
    const expertWeights = sum(mul(hits, weights.reshape([tokens, topK, 1])), 1); // [N, E]
    let output: Tensor | undefined;
    for (let expert = 0; expert < expertCount; expert++) {
      const weight = slice(expertWeights, [0, expert], [tokens, expert + 1]); // [N, 1]
      const contribution = mul((this.experts[expert] as FeedForward).forward(flat), weight);
      output = output ? add(output, contribution) : contribution;
    }
    let auxLoss: Tensor | undefined;
    if (training && this.config.router_aux_loss_coef > 0) {
      const load = noGrad(() => sum(hits, [0, 1]).div(tokens)); // [E]
      const balance = sum(mul(mean(probabilities, 0), load));
      auxLoss = balance.mul(expertCount).mul(this.config.router_aux_loss_coef);
    }
    return { output: (output as Tensor).reshape(shape), auxLoss };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Block and model

class MiniMindBlock {
  constructor(
    readonly selfAttention: Attention,
    readonly inputLayernorm: RMSNorm,
    readonly postAttentionLayernorm: RMSNorm,
    readonly mlp: FeedForward | MoEFeedForward,
  ) {}

  forward(
    hidden: Tensor,
    context: LayerContext,
    past: LayerKeyValues | undefined,
  ): { hidden: Tensor; present: LayerKeyValues; auxLoss: Tensor | undefined } {
    const attention = this.selfAttention.forward(this.inputLayernorm.forward(hidden), context, past);
    const residual = add(hidden, attention.output); // [B, T, hidden]
    const normed = this.postAttentionLayernorm.forward(residual);
    if (this.mlp instanceof MoEFeedForward) {
      const { output, auxLoss } = this.mlp.forward(normed, context.training);
      return { hidden: add(residual, output), present: attention.present, auxLoss };
    }
    return { hidden: add(residual, this.mlp.forward(normed)), present: attention.present, auxLoss: undefined };
  }
}

/** Token ids (or labels, or a mask) as rows of integers: `number[][]` or an int32 tensor [B, T]. */
export type TokenRows = readonly (readonly number[])[] | Tensor;

export interface ForwardOptions {
  /** Token ids [B, T]. */
  readonly inputIds: TokenRows;
  /** [B, Tpast + T]: 1 = a real token, 0 = padding (masked as a key, as upstream does). */
  readonly attentionMask?: TokenRows;
  /** [B, T]: targets; the loss compares logits[:, :-1] with labels[:, 1:], ignoring -100. */
  readonly labels?: TokenRows;
  /** The cache a previous call returned (with `useCache`); these tokens follow it. */
  readonly pastKeyValues?: readonly LayerKeyValues[];
  /** Return the keys and values of every layer for the next call. */
  readonly useCache?: boolean;
  /**
   * [B, T]: each token's rotary position (default past length + t for every row). Left-padded batches pass
   * the count of real tokens before each one, so every row is rotated as if it were alone.
   */
  readonly positionIds?: TokenRows;
  /** Attention strategy from @minimind/attention (default causal); an attention mask is and-ed with it. */
  readonly attention?: StrategyLike;
  /** Only the last n positions get logits (0 = all). */
  readonly logitsToKeep?: number;
}

export interface ForwardResult {
  /** [B, T (or logitsToKeep), vocab]. */
  readonly logits: Tensor;
  /** Scalar mean cross-entropy when labels were given. */
  readonly loss: Tensor | undefined;
  /** Scalar MoE load-balancing loss (0 for dense models or outside training). */
  readonly auxLoss: Tensor;
  /** Per-layer keys and values when `useCache`. */
  readonly pastKeyValues: readonly LayerKeyValues[] | undefined;
}

interface Rows {
  readonly data: Int32Array;
  readonly batch: number;
  readonly length: number;
}

function toRows(rows: TokenRows, name: string): Rows {
  if (rows instanceof Tensor) {
    if (rows.rank !== 2 || rows.dtype !== "int32") {
      throw new Error(
        `[MiniMindForCausalLM] ${name} is a ${rows.dtype} tensor [${rows.shape.join(", ")}]; expected int32 [B, T]`,
      );
    }
    return {
      data: Int32Array.from(rows.dataSync() as Int32Array),
      batch: rows.shape[0] as number,
      length: rows.shape[1] as number,
    };
  }
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new Error(`[MiniMindForCausalLM] ${name} must be a non-empty number[][] or an int32 tensor [B, T]`);
  }
  const length = (rows[0] as readonly number[]).length;
  const data = new Int32Array(rows.length * length);
  rows.forEach((row, index) => {
    if (!Array.isArray(row) || row.length !== length) {
      throw new Error(
        `[MiniMindForCausalLM] ${name} row ${index} has length ${row?.length}; every row needs ${length}`,
      );
    }
    for (let position = 0; position < length; position++) {
      const id = row[position] as number;
      if (!Number.isInteger(id))
        throw new Error(`[MiniMindForCausalLM] ${name}[${index}][${position}] is ${id}; expected an integer`);
      data[index * length + position] = id;
    }
  });
  return { data, batch: rows.length, length };
}

class MiniMindModel {
  readonly rotary: RotaryEmbedding;

  constructor(
    private readonly config: MiniMindConfig,
    readonly embedTokens: Tensor,
    readonly layers: readonly MiniMindBlock[],
    readonly norm: RMSNorm,
  ) {
    this.rotary = new RotaryEmbedding(config);
  }

  forward(
    inputIds: Tensor,
    strategy: StrategyLike,
    pastKeyValues: readonly LayerKeyValues[] | undefined,
    training: boolean,
    positionIds: Int32Array | undefined,
  ): { hidden: Tensor; presents: LayerKeyValues[]; auxLoss: Tensor } {
    const length = inputIds.shape[1] as number;
    const start = pastKeyValues?.[0]?.key.shape[2] ?? 0;
    let hidden = embedding(this.embedTokens, inputIds); // [B, T, hidden]
    if (training && this.config.dropout > 0) hidden = dropout(hidden, this.config.dropout);
    const { cos, sin } = positionIds === undefined ? this.rotary.tables(start, length) : this.rotary.rows(positionIds); // [T or B·T, D/2] each
    const context: LayerContext = { cos, sin, positionsPerRow: positionIds !== undefined, strategy, training };
    const presents: LayerKeyValues[] = [];
    let auxLoss = zeros([]);
    this.layers.forEach((layer, index) => {
      const result = layer.forward(hidden, context, pastKeyValues?.[index]);
      hidden = result.hidden;
      presents.push(result.present);
      if (result.auxLoss !== undefined) auxLoss = add(auxLoss, result.auxLoss);
    });
    return { hidden: this.norm.forward(hidden), presents, auxLoss };
  }
}

// ---------------------------------------------------------------------------------------------------------
// MiniMindForCausalLM

export interface MiniMindInitOptions {
  /** Seed for the N(0, 0.02²) initial weights (default 0). */
  readonly seed?: number;
}

/** Options of `MiniMindForCausalLM.fromPretrained`. */
export interface FromPretrainedOptions {
  /**
   * The compute dtype. Only "float32" (the default) today: F16 and BF16 weights are widened to float32 on
   * load, exactly. Anything else is refused rather than silently computed in float32.
   */
  readonly dtype?: "float32";
  /**
   * true (default): the weights must fit the config exactly, and the error lists every missing, unexpected,
   * mis-shaped or non-float tensor by name. false: missing parameters keep a fresh model's initial values
   * (upstream init, `seed`), unexpected tensors are ignored, and both are reported through `warn`;
   * mis-shaped and non-float tensors still throw, since they cannot be loaded at all.
   */
  readonly strict?: boolean;
  /**
   * Fields that override `config.json` (upstream names), e.g. `{ max_position_embeddings: 8192,
   * inference_rope_scaling: true }` or `{ dropout: 0.1 }`; the result is validated like a file.
   */
  readonly config?: MiniMindConfigOptions;
  /** Leave the model in training mode (dropout, MoE aux loss). Default false: eval mode, as upstream's HF `from_pretrained`. */
  readonly training?: boolean;
  /** Seed for the initial values of missing parameters under `strict: false` (default 0). */
  readonly seed?: number;
  /**
   * Receives what `strict: false` skipped (a message naming every missing and unexpected tensor, and the
   * report). Default `console.warn`. Not called when nothing was skipped.
   */
  readonly warn?: (message: string, report: StateDictReport) => void;
}

const fromPretrainedOptionNames = new Set(["dtype", "strict", "config", "training", "seed", "warn"]);

/** Module-private: how `fromStateDict` hands checked float32 weights to the constructor. */
const loadedWeights = Symbol("loadedWeights");

interface InternalInitOptions extends MiniMindInitOptions {
  readonly [loadedWeights]?: ReadonlyMap<string, Float32Array>;
}

function checkFromPretrainedOptions(options: FromPretrainedOptions): {
  strict: boolean;
  training: boolean;
  seed: number;
  warn: (message: string, report: StateDictReport) => void;
} {
  const fail = (message: string): never => {
    throw new Error(`[fromPretrained] ${message}`);
  };
  if (typeof options !== "object" || options === null) fail("options must be an object");
  for (const name of Object.keys(options)) {
    if (!fromPretrainedOptionNames.has(name))
      fail(`unknown option "${name}"; expected one of ${[...fromPretrainedOptionNames].join(", ")}`);
  }
  const dtype: unknown = options.dtype ?? "float32";
  if (dtype !== "float32") {
    fail(
      `dtype is ${JSON.stringify(dtype)}; only "float32" is supported (weights stored as F16/BF16 are widened to float32 on load)`,
    );
  }
  for (const name of ["strict", "training"] as const) {
    const value: unknown = options[name];
    if (value !== undefined && typeof value !== "boolean") fail(`${name} is ${String(value)}; expected true or false`);
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) fail(`seed is ${seed}; expected an integer`);
  if (options.warn !== undefined && typeof options.warn !== "function") fail("warn must be a function");
  if (options.config !== undefined && (typeof options.config !== "object" || options.config === null))
    fail("config must be an object of config.json fields to override");
  return {
    strict: options.strict ?? true,
    training: options.training ?? false,
    seed,
    warn: options.warn ?? ((message: string) => console.warn(message)),
  };
}

/** `config` with the given fields replaced, validated as a whole; unknown field names are refused. */
function overrideConfig(config: MiniMindConfig, overrides: MiniMindConfigOptions, source: string): MiniMindConfig {
  const { model_type: _modelType, ...fields } = config;
  for (const name of Object.keys(overrides)) {
    if (!(name in fields)) {
      throw new Error(
        `[fromPretrained] the config option has an unknown field "${name}"; expected MiniMindConfig fields (upstream names) such as max_position_embeddings, dropout, eos_token_id`,
      );
    }
  }
  const merged: MiniMindConfigOptions = { ...fields, ...overrides };
  // rope_scaling overrides merge field by field into the file's; turning YaRN off drops the file's values.
  const ropeScaling =
    merged.inference_rope_scaling === true
      ? overrides.rope_scaling === null
        ? null
        : { ...(config.rope_scaling ?? {}), ...(overrides.rope_scaling ?? {}) }
      : (overrides.rope_scaling ?? null);
  return createMiniMindConfig({ ...merged, rope_scaling: ropeScaling }, `${source} with the config option`);
}

/**
 * strict: false — the float32 weights of every tensor that fits a parameter, and the report. Mis-shaped or
 * non-float tensors still throw (naming them), since no parameter can take them.
 */
function looseFloat32(
  stateDict: ReadonlyMap<string, SafetensorsTensor>,
  config: MiniMindConfig,
  source: string,
): { weights: Map<string, Float32Array>; report: StateDictReport } {
  const report = checkStateDict(stateDict, config);
  if (report.mismatched.length > 0 || report.wrongDtype.length > 0) {
    const faults = [
      ...report.mismatched.map(
        ({ name, shape, expected }) => `${name} is [${shape.join(", ")}], expected [${expected.join(", ")}]`,
      ),
      ...report.wrongDtype.map(({ name, dtype }) => `${name} is ${dtype}, not a float weight (F32/F16/BF16)`),
    ];
    throw new Error(
      `[fromPretrained] ${source}: strict: false skips missing and unexpected tensors, but these cannot be loaded: ${faults.join("; ")}`,
    );
  }
  const weights = new Map<string, Float32Array>();
  for (const name of parameterShapes(config).keys()) {
    const tensor = stateDict.get(name);
    if (tensor !== undefined) weights.set(name, tensorToFloat32(tensor, name, source));
  }
  return { weights, report };
}

function releaseCache(cache: readonly LayerKeyValues[] | undefined): void {
  for (const layer of cache ?? []) {
    layer.key.dispose();
    layer.value.dispose();
  }
}

/** Resolves on the next turn of the event loop (after pending timers and I/O), not just after microtasks. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === "function") setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}

/**
 * What the decoding loop asks of its driver: read these logits back (the driver sends the values in with
 * `next`), or hand these tokens to the caller. The loop never reads back itself, so one loop serves the
 * synchronous `generate` (dataSync) and the asynchronous `stream` (await data(): the only readback WebGPU has).
 */
type DecodeEvent = { read: Tensor } | { tokens: number[][] };

function* readSynchronously(events: Generator<DecodeEvent, void, Float32Array | undefined>): Generator<number[][]> {
  try {
    let input: Float32Array | undefined;
    for (;;) {
      const event = events.next(input);
      if (event.done) return;
      input = undefined;
      if ("read" in event.value) input = Float32Array.from(event.value.read.dataSync() as Float32Array);
      else yield event.value.tokens;
    }
  } finally {
    events.return(undefined);
  }
}

async function* readAsynchronously(
  events: Generator<DecodeEvent, void, Float32Array | undefined>,
): AsyncGenerator<number[][], void> {
  try {
    let input: Float32Array | undefined;
    for (;;) {
      const event = events.next(input);
      if (event.done) return;
      input = undefined;
      if ("read" in event.value) input = Float32Array.from((await event.value.read.data()) as Float32Array);
      else {
        yield event.value.tokens;
        await nextTurn();
      }
    }
  } finally {
    events.return(undefined);
  }
}

/** The causal language model: MiniMindModel plus the (tied or separate) lm_head. */
export class MiniMindForCausalLM {
  readonly config: MiniMindConfig;
  /** Whether forward computes the MoE aux loss and applies dropout (upstream's `model.train()`). */
  training = true;
  private readonly parameters: Map<string, Tensor>;
  private readonly model: MiniMindModel;
  private readonly lmHead: Tensor;

  /** A freshly initialised model (upstream init, seeded). */
  constructor(config: MiniMindConfig, options: MiniMindInitOptions = {}) {
    const loaded = (options as InternalInitOptions)[loadedWeights];
    const seed = options.seed ?? 0;
    const values = new Map<string, Float32Array>();
    let index = 0;
    // Parameter i draws from seed + i, so a parameter a checkpoint lacks gets what a fresh model would.
    for (const [name, shape] of parameterShapes(config)) {
      values.set(name, loaded?.get(name) ?? initialValues(name, shape, seed + index));
      index++;
    }
    this.config = config;
    this.parameters = MiniMindForCausalLM.createParameters(config, values);
    ({ model: this.model, lmHead: this.lmHead } = this.assemble());
  }

  /** A model holding the given weights (upstream names; F32, F16 or BF16; a tied lm_head.weight is ignored). */
  static fromStateDict(
    config: MiniMindConfig,
    stateDict: ReadonlyMap<string, SafetensorsTensor>,
    source = "state dict",
  ): MiniMindForCausalLM {
    const float32 = stateDictToFloat32(stateDict, config, source);
    const weights = new Map([...float32].map(([name, weight]) => [name, weight.data] as const));
    const options: InternalInitOptions = { [loadedWeights]: weights };
    return new MiniMindForCausalLM(config, options);
  }

  /**
   * Loads `config.json` and `model.safetensors` (or a sharded index) from a folder (Node), in eval mode
   * unless `training: true`. See `FromPretrainedOptions` for `dtype`, `strict`, `config` overrides and `seed`.
   */
  static async fromPretrained(directory: string, options: FromPretrainedOptions = {}): Promise<MiniMindForCausalLM> {
    const settings = checkFromPretrainedOptions(options);
    const separator = directory.endsWith("/") ? "" : "/";
    const configFile = `${directory}${separator}config.json`;
    let config = await readMiniMindConfigFile(configFile);
    if (options.config !== undefined) config = overrideConfig(config, options.config, configFile);
    const stateDict = await readSafetensorsCheckpoint(directory);
    let model: MiniMindForCausalLM;
    if (settings.strict) {
      model = MiniMindForCausalLM.fromStateDict(config, stateDict, directory);
    } else {
      const { weights, report } = looseFloat32(stateDict, config, directory);
      const init: InternalInitOptions = { seed: settings.seed, [loadedWeights]: weights };
      model = new MiniMindForCausalLM(config, init);
      if (report.missing.length > 0 || report.unexpected.length > 0) {
        const parts: string[] = [];
        if (report.missing.length > 0) {
          parts.push(
            `missing ${report.missing.length} (initialised as a new model's, seed ${settings.seed}): ${report.missing.join(", ")}`,
          );
        }
        if (report.unexpected.length > 0) {
          parts.push(`unexpected ${report.unexpected.length} (ignored): ${report.unexpected.join(", ")}`);
        }
        settings.warn(`[fromPretrained] ${directory} loaded with strict: false; ${parts.join("; ")}`, report);
      }
    }
    return model.train(settings.training);
  }

  private static createParameters(
    config: MiniMindConfig,
    values: ReadonlyMap<string, Float32Array>,
  ): Map<string, Tensor> {
    const parameters = new Map<string, Tensor>();
    for (const [name, shape] of parameterShapes(config)) {
      parameters.set(name, parameter(values.get(name) as Float32Array, shape));
    }
    return parameters;
  }

  private assemble(): { model: MiniMindModel; lmHead: Tensor } {
    const config = this.config;
    const get = (name: string): Tensor => {
      const value = this.parameters.get(name);
      if (value === undefined) throw new Error(`[MiniMindForCausalLM] parameter "${name}" is missing`);
      return value;
    };
    const norm = (name: string) => new RMSNorm(get(name), config.rms_norm_eps);
    const feedForward = (prefix: string) =>
      new FeedForward(
        get(`${prefix}.gate_proj.weight`),
        get(`${prefix}.up_proj.weight`),
        get(`${prefix}.down_proj.weight`),
      );
    const layers: MiniMindBlock[] = [];
    for (let layer = 0; layer < config.num_hidden_layers; layer++) {
      const prefix = `model.layers.${layer}`;
      const attention = new Attention(
        config,
        get(`${prefix}.self_attn.q_proj.weight`),
        get(`${prefix}.self_attn.k_proj.weight`),
        get(`${prefix}.self_attn.v_proj.weight`),
        get(`${prefix}.self_attn.o_proj.weight`),
        norm(`${prefix}.self_attn.q_norm.weight`),
        norm(`${prefix}.self_attn.k_norm.weight`),
      );
      const mlp = config.use_moe
        ? new MoEFeedForward(
            config,
            get(`${prefix}.mlp.gate.weight`),
            Array.from({ length: config.num_experts }, (_, expert) => feedForward(`${prefix}.mlp.experts.${expert}`)),
          )
        : feedForward(`${prefix}.mlp`);
      layers.push(
        new MiniMindBlock(
          attention,
          norm(`${prefix}.input_layernorm.weight`),
          norm(`${prefix}.post_attention_layernorm.weight`),
          mlp,
        ),
      );
    }
    const embedTokens = get("model.embed_tokens.weight");
    const model = new MiniMindModel(config, embedTokens, layers, norm("model.norm.weight"));
    return { model, lmHead: config.tie_word_embeddings ? embedTokens : get("lm_head.weight") };
  }

  /** Every parameter under its upstream name, in state-dict order (a tied head is listed once, as the embedding). */
  namedParameters(): Map<string, Tensor> {
    return new Map(this.parameters);
  }

  /** Upstream's `model.train()` / `model.eval()`. */
  train(training = true): this {
    this.training = training;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** The weights as a float32 state dict under upstream names (tied head omitted). */
  stateDict(): Map<string, SafetensorsTensor<"F32">> {
    const output = new Map<string, SafetensorsTensor<"F32">>();
    for (const [name, weight] of this.parameters) {
      output.set(name, {
        dtype: "F32",
        shape: [...weight.shape],
        data: Float32Array.from(weight.dataSync() as Float32Array),
      });
    }
    return output;
  }

  /**
   * Logits for `inputIds`, and with `labels` the mean cross-entropy of logits[:, :-1] against labels[:, 1:]
   * (−100 ignored). Create and read the results inside `scope` to release the intermediates.
   */
  forward(options: ForwardOptions): ForwardResult {
    const ids = toRows(options.inputIds, "inputIds");
    const past = options.pastKeyValues;
    const pastLength = past?.[0]?.key.shape[2] ?? 0;
    const vocab = this.config.vocab_size;
    for (const id of ids.data) {
      if (id < 0 || id >= vocab)
        throw new Error(`[MiniMindForCausalLM] inputIds holds ${id}, outside the vocabulary [0, ${vocab})`);
    }
    let strategy: StrategyLike = options.attention ?? causal;
    if (options.attentionMask !== undefined) {
      const mask = toRows(options.attentionMask, "attentionMask");
      if (mask.batch !== ids.batch || mask.length !== pastLength + ids.length) {
        throw new Error(
          `[MiniMindForCausalLM] attentionMask is [${mask.batch}, ${mask.length}]; expected [${ids.batch}, ${pastLength + ids.length}] (batch, past + new tokens)`,
        );
      }
      if (mask.data.some((keep) => keep === 0)) {
        const rows = Array.from({ length: mask.batch }, (_, row) =>
          Array.from(mask.data.subarray(row * mask.length, (row + 1) * mask.length), (keep) => keep !== 0),
        );
        strategy = and(strategy, padding(rows));
      }
    }
    let positionIds: Int32Array | undefined;
    if (options.positionIds !== undefined) {
      const positions = toRows(options.positionIds, "positionIds");
      if (positions.batch !== ids.batch || positions.length !== ids.length) {
        throw new Error(
          `[MiniMindForCausalLM] positionIds are [${positions.batch}, ${positions.length}]; expected [${ids.batch}, ${ids.length}] like inputIds`,
        );
      }
      const negative = positions.data.find((position) => position < 0);
      if (negative !== undefined) throw new Error(`[MiniMindForCausalLM] positionIds holds ${negative}; expected ≥ 0`);
      positionIds = positions.data;
    }
    const limit = maxPositions(this.config);
    const last =
      positionIds === undefined
        ? pastLength + ids.length - 1
        : positionIds.reduce((highest, position) => Math.max(highest, position), 0);
    if (last >= limit) {
      const what =
        positionIds === undefined ? `past ${pastLength} + ${ids.length} new tokens reach` : "positionIds hold";
      throw new Error(
        `[MiniMindForCausalLM] ${what} position ${last}, beyond the model's context: ${describeMaxPositions(this.config)}`,
      );
    }
    const inputIds = tensor(ids.data, { shape: [ids.batch, ids.length], dtype: "int32" }); // [B, T]
    const { hidden, presents, auxLoss } = this.model.forward(inputIds, strategy, past, this.training, positionIds);
    const keepCount = options.logitsToKeep ?? 0;
    const kept = keepCount > 0 ? hidden.slice([0, Math.max(ids.length - keepCount, 0), 0]) : hidden; // [B, T', hidden]
    const logits = linear(kept, this.lmHead); // [B, T', vocab]
    let loss: Tensor | undefined;
    if (options.labels !== undefined) {
      const labels = toRows(options.labels, "labels");
      if (labels.batch !== ids.batch || labels.length !== ids.length || keepCount > 0) {
        throw new Error(
          `[MiniMindForCausalLM] labels are [${labels.batch}, ${labels.length}]; expected [${ids.batch}, ${ids.length}] with every position's logits (no logitsToKeep)`,
        );
      }
      // targets[b, t] = labels[b, t + 1]; the last position has no next token and is ignored.
      const targets = new Int32Array(labels.data.length).fill(-100);
      for (let row = 0; row < labels.batch; row++) {
        const offset = row * labels.length;
        targets.set(labels.data.subarray(offset + 1, offset + labels.length), offset);
      }
      loss = crossEntropy(logits, tensor(targets, { shape: [ids.batch, ids.length], dtype: "int32" }), {
        ignoreIndex: -100,
      });
    }
    return { logits, loss, auxLoss, pastKeyValues: options.useCache ? presents : undefined };
  }

  /**
   * KV-cached generation: prefill every prompt, then one token per step until `maxNewTokens`, or until every
   * row has produced an end-of-sequence id or a stop string. Greedy (deterministic) unless `doSample`.
   * Prompts may differ in length: shorter rows are left-padded, masked and given their own positions, so each
   * row generates what it would alone. Returns each row's new ids (a stopping EOS id included). With an
   * aborted `signal`, releases the cache and throws `signal.reason`.
   */
  generate(prompts: readonly (readonly number[])[], options: GenerateOptions = {}): number[][] {
    const steps = readSynchronously(this.decodeSteps(prompts, this.generationSettings(prompts, options)));
    const generated: number[][] = prompts.map(() => []);
    for (const step of steps) {
      step.forEach((tokens, row) => {
        (generated[row] as number[]).push(...tokens);
      });
    }
    return generated;
  }

  /**
   * `generate` as an async iterator with one entry per decoding step: each row's new ids of that step (one
   * id, or none once the row has stopped). Between steps it yields to the event loop, so an abort (a timer,
   * Ctrl-C) lands there and the next step throws `signal.reason`; leaving a `for await` early releases the
   * cache. Options are checked when `stream` is called. Logits are read back asynchronously, so `stream` also
   * runs on backends without synchronous readback (gpujs on WebGPU), where `generate` cannot.
   */
  stream(prompts: readonly (readonly number[])[], options: GenerateOptions = {}): AsyncGenerator<number[][], void> {
    return readAsynchronously(this.decodeSteps(prompts, this.generationSettings(prompts, options)));
  }

  private generationSettings(prompts: readonly (readonly number[])[], options: GenerateOptions): GenerationSettings {
    if (!Array.isArray(prompts) || prompts.length === 0)
      throw new Error("[generate] prompts must be a non-empty number[][] (one row of token ids per sequence)");
    prompts.forEach((row, index) => {
      if (!Array.isArray(row) || row.length === 0)
        throw new Error(`[generate] prompt row ${index} is empty; every row needs at least one token id`);
    });
    const settings = resolveGenerationSettings(options, this.config.eos_token_id, this.config.vocab_size);
    // The finished rows (prompt + new tokens) must fit the rotary context; refuse before any work is done.
    const longest = Math.max(...prompts.map((row) => row.length));
    const limit = maxPositions(this.config);
    if (longest + settings.maxNewTokens > limit) {
      const advice =
        longest < limit
          ? `lower maxNewTokens to at most ${limit - longest} or shorten the prompt`
          : `shorten the prompt to at most ${limit - 1} tokens`;
      throw new Error(
        `[generate] the longest prompt (${longest} tokens) + maxNewTokens (${settings.maxNewTokens}) = ${longest + settings.maxNewTokens} positions, more than the model's context: ${describeMaxPositions(this.config)}; ${advice}`,
      );
    }
    return settings;
  }

  /**
   * The decoding loop: per step, asks for the last logits to be read back, then yields each row's new ids;
   * owns (and finally releases) the KV cache.
   */
  private *decodeSteps(
    prompts: readonly (readonly number[])[],
    settings: GenerationSettings,
  ): Generator<DecodeEvent, void, Float32Array | undefined> {
    const vocab = this.config.vocab_size;
    const longest = Math.max(...prompts.map((row) => row.length));
    const paddings = prompts.map((row) => longest - row.length);
    const padded = paddings.some((count) => count > 0);
    const history = prompts.map((row) => [...row]); // prompt + generated, for the repetition penalty
    const generated: number[][] = prompts.map(() => []);
    const finished = prompts.map(() => false);
    const randoms = prompts.map((_, row) => seededUniform(settings.seed + row));
    let next = prompts.map((row, index) => [
      ...new Array<number>(paddings[index] as number).fill(settings.padTokenId),
      ...row,
    ]);
    let cache: LayerKeyValues[] | undefined;
    let pastLength = 0;
    const wasTraining = this.training;
    this.training = false;
    try {
      for (let step = 0; step < settings.maxNewTokens && !finished.every(Boolean); step++) {
        settings.signal?.throwIfAborted();
        const length = (next[0] as number[]).length;
        const total = pastLength + length;
        // Left padding: pads are masked as keys, and each row's positions count only its real tokens.
        const paddingInputs = padded
          ? {
              attentionMask: paddings.map((count) =>
                Array.from({ length: total }, (_, index) => (index < count ? 0 : 1)),
              ),
              positionIds: paddings.map((count) =>
                Array.from({ length }, (_, index) => Math.max(pastLength + index - count, 0)),
              ),
            }
          : {};
        const result = noGrad(() =>
          scope(() => {
            const { logits, pastKeyValues } = this.forward({
              inputIds: next,
              pastKeyValues: cache,
              useCache: true,
              logitsToKeep: 1,
              ...paddingInputs,
            });
            const present = pastKeyValues as LayerKeyValues[];
            keep(present.flatMap((layer) => [layer.key, layer.value]));
            return { logits: keep(logits), present }; // logits [B, 1, vocab]
          }),
        );
        releaseCache(cache);
        cache = result.present;
        pastLength = total;
        let values: Float32Array | undefined;
        try {
          values = yield { read: result.logits };
        } finally {
          result.logits.dispose();
        }
        if (!values) throw new Error("[generate] internal: the decoding driver sent no logits");
        const logitsValues = values;
        const tokens = prompts.map((_, row): number[] => {
          if (finished[row]) return [];
          const rowLogits = logitsValues.subarray(row * vocab, (row + 1) * vocab);
          const token = selectToken(rowLogits, history[row] as number[], settings, randoms[row] as () => number);
          (history[row] as number[]).push(token);
          (generated[row] as number[]).push(token);
          if (settings.eosTokenIds.has(token) || hitsStopString(generated[row] as number[], settings))
            finished[row] = true;
          return [token];
        });
        next = tokens.map((row) => (row.length > 0 ? row : [settings.padTokenId]));
        yield { tokens };
      }
    } finally {
      releaseCache(cache);
      this.training = wasTraining;
    }
  }

  /**
   * Writes `config.json` and `model.safetensors` (F32, upstream names, tied head omitted) into a folder
   * (Node), so upstream PyTorch code and `fromPretrained` load them. Returns the weight files written.
   */
  async savePretrained(directory: string): Promise<string[]> {
    const separator = directory.endsWith("/") ? "" : "/";
    const written = await writeSafetensorsCheckpoint(directory, this.stateDict());
    await writeMiniMindConfigFile(`${directory}${separator}config.json`, this.config);
    return written;
  }

  /** Releases every parameter and cached table; the model is unusable afterwards. */
  dispose(): void {
    for (const weight of this.parameters.values()) weight.dispose();
    this.model.rotary.dispose();
  }
}
