/**
 * The MiniMind decoder (upstream `model/model_minimind.py`, Qwen3-style), the architecture only, read
 * bottom-up: Attention (q_norm/k_norm, GQA, RoPE, an optional KV cache) → Block → Model →
 * MiniMindForCausalLM (forward, loss, parameters, adapters). Attention runs through @minimind/attention's
 * `scaledDotProductAttention`, which picks its kernel from the strategy's mask; the cache is its
 * `KeyValueCache`, which refuses appends the strategy forbids.
 * Not here: the smaller layers (layers.ts), rotary tables (rotary.ts), folders and weight files
 * (pretrained.ts, safetensors*.ts), config parsing (config.ts), the decoding loop (decoding.ts) and token
 * selection (generation.ts).
 */
import { and, causal, KeyValueCache, padding, type StrategyLike, scaledDotProductAttention } from "@minimind/attention";
import {
  add,
  concat,
  crossEntropy,
  dropout,
  embedding,
  keep,
  randnValues,
  rope,
  type Tensor,
  tensor,
  zeros,
} from "@minimind/tensor";
import {
  describeMaxPositions,
  type MiniMindConfig,
  maxPositions,
  parameterShapes,
  validateMiniMindConfig,
} from "./config.js";
import { checkPrompts, decodeSteps, decodeToEnd, readAsynchronously } from "./decoding.js";
import type { ForwardOptions, ForwardResult, MiniMindInitOptions } from "./forward-types.js";
import { type GenerateOptions, resolveGenerationSettings } from "./generation.js";
import {
  FeedForward,
  FusedProjections,
  fusedOutputs,
  Linear,
  type LinearAdapter,
  MoEFeedForward,
  RMSNorm,
} from "./layers.js";
import {
  type FromPretrainedOptions,
  readPretrained,
  type SavePretrainedOptions,
  writePretrained,
} from "./pretrained.js";
import { inferenceOnly, quantizeProjections, type WeightFormat } from "./quantized-projections.js";
import { RotaryEmbedding } from "./rotary.js";
import type { SafetensorsTensor } from "./safetensors.js";
import { stateDictToFloat32 } from "./state-dict.js";
import { toRows } from "./token-rows.js";
import { warnIfUnscoped } from "./unscoped-forward.js";

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
// Attention

/** What a forward pass shares with every layer. */
interface LayerContext {
  readonly cos: Tensor; // [T, D/2], or [B·T, D/2] with `positionsPerRow`
  readonly sin: Tensor; // [T, D/2], or [B·T, D/2] with `positionsPerRow`
  /** Whether each batch row has its own positions (left-padded batches), so the tables are per token. */
  readonly positionsPerRow: boolean;
  readonly strategy: StrategyLike;
  /** The cache these tokens are appended to (already checked against the strategy), if any. */
  readonly cache: KeyValueCache | undefined;
  readonly training: boolean;
}

class Attention {
  constructor(
    private readonly config: MiniMindConfig,
    private readonly layer: number,
    readonly qProj: Linear,
    readonly kProj: Linear,
    readonly vProj: Linear,
    readonly oProj: Linear,
    readonly qNorm: RMSNorm,
    readonly kNorm: RMSNorm,
  ) {}

  forward(x: Tensor, context: LayerContext): Tensor {
    const [batch, length] = x.shape as [number, number, number];
    const { num_attention_heads: queryHeads, num_key_value_heads: keyValueHeads, head_dim: headDim } = this.config;
    const [queryOut, keyOut, valueOut] = (fusedOutputs([this.qProj, this.kProj, this.vProj], x) ?? [
      this.qProj.forward(x),
      this.kProj.forward(x),
      this.vProj.forward(x),
    ]) as [Tensor, Tensor, Tensor];
    let query = queryOut.reshape([batch, length, queryHeads, headDim]); // [B, T, Hq, D]
    let key = keyOut.reshape([batch, length, keyValueHeads, headDim]); // [B, T, Hkv, D]
    const value = valueOut.reshape([batch, length, keyValueHeads, headDim]); // [B, T, Hkv, D]
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
    if (context.cache !== undefined) {
      ({ key: keys, value: values } = context.cache.updateAndFetch(this.layer, keys, values)); // [B, Hkv, Tpast + T, D]
    }
    const attended = scaledDotProductAttention(query.transpose(1, 2), keys, values, { strategy: context.strategy }); // [B, Hq, T, D]
    const merged = attended
      .transpose(1, 2)
      .contiguous()
      .reshape([batch, length, queryHeads * headDim]); // [B, T, Hq·D]
    let output = this.oProj.forward(merged); // [B, T, hidden]
    if (context.training && this.config.dropout > 0) output = dropout(output, this.config.dropout);
    return output;
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

  forward(hidden: Tensor, context: LayerContext): { hidden: Tensor; auxLoss: Tensor | undefined } {
    const residual = add(hidden, this.selfAttention.forward(this.inputLayernorm.forward(hidden), context)); // [B, T, hidden]
    const normed = this.postAttentionLayernorm.forward(residual);
    if (this.mlp instanceof MoEFeedForward) {
      const { output, auxLoss } = this.mlp.forward(normed, context.training);
      return { hidden: add(residual, output), auxLoss };
    }
    return { hidden: add(residual, this.mlp.forward(normed)), auxLoss: undefined };
  }
}

interface ModelForwardOptions {
  /** [B, P, hidden] vectors placed before the tokens' embeddings. */
  readonly prefix: Tensor | undefined;
  readonly strategy: StrategyLike;
  readonly cache: KeyValueCache | undefined;
  readonly training: boolean;
  readonly positionIds: Int32Array | undefined;
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

  forward(inputIds: Tensor, options: ModelForwardOptions): { hidden: Tensor; auxLoss: Tensor } {
    const { prefix, strategy, cache, training, positionIds } = options;
    const start = cache?.length ?? 0;
    let hidden = embedding(this.embedTokens, inputIds); // [B, T, hidden]
    if (prefix !== undefined) hidden = concat([prefix, hidden], 1); // [B, P + T, hidden]
    const length = hidden.shape[1] as number;
    if (training && this.config.dropout > 0) hidden = dropout(hidden, this.config.dropout);
    const { cos, sin } = positionIds === undefined ? this.rotary.tables(start, length) : this.rotary.rows(positionIds); // [T or B·T, D/2] each
    const context: LayerContext = { cos, sin, positionsPerRow: positionIds !== undefined, strategy, cache, training };
    let auxLoss = zeros([]);
    for (const layer of this.layers) {
      const result = layer.forward(hidden, context);
      hidden = result.hidden;
      if (result.auxLoss !== undefined) auxLoss = add(auxLoss, result.auxLoss);
    }
    return { hidden: this.norm.forward(hidden), auxLoss };
  }
}

// ---------------------------------------------------------------------------------------------------------
// MiniMindForCausalLM

export type { ForwardOptions, ForwardResult, MiniMindInitOptions } from "./forward-types.js";

/** Module-private: how `fromStateDict` / `fromPretrained` hand checked float32 weights to the constructor. */
const loadedWeights = Symbol("loadedWeights");

interface InternalInitOptions extends MiniMindInitOptions {
  readonly [loadedWeights]?: ReadonlyMap<string, Float32Array>;
}

/** The causal language model: MiniMindModel plus the (tied or separate) lm_head. */
export class MiniMindForCausalLM {
  readonly config: MiniMindConfig;
  /** Whether forward computes the MoE aux loss and applies dropout (upstream's `model.train()`). */
  training = true;
  /** How the projections' weights are stored: float32, or inference-only bf16 / int8 (`quantize`). */
  weightFormat: WeightFormat = "float32";
  private readonly parameters: Map<string, Tensor>;
  /** Every projection by its weight's upstream name (the tied head is `model.embed_tokens.weight`'s twin). */
  private readonly linears = new Map<string, Linear>();
  private readonly model: MiniMindModel;
  private readonly lmHead: Linear;

  /** A freshly initialised model (upstream init, seeded). */
  constructor(config: MiniMindConfig, options: MiniMindInitOptions = {}) {
    validateMiniMindConfig(config, "new MiniMindForCausalLM"); // a hand-built config is checked like a file
    const loaded = (options as InternalInitOptions)[loadedWeights];
    const unknown = Object.keys(options ?? {}).find((name) => name !== "seed");
    if (unknown !== undefined) throw new Error(`[MiniMindForCausalLM] unknown option "${unknown}"; expected seed`);
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed))
      throw new Error(`[MiniMindForCausalLM] seed is ${String(seed)}; expected an integer`);
    this.config = config;
    this.parameters = new Map();
    let index = 0;
    // Parameter i draws from seed + i, so a parameter a checkpoint lacks gets what a fresh model would.
    for (const [name, shape] of parameterShapes(config)) {
      this.parameters.set(name, parameter(loaded?.get(name) ?? initialValues(name, shape, seed + index), shape));
      index++;
    }
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
   * Loads `config.json` and `model.safetensors` (or a sharded index, or a PyTorch `.pth` — a file path, or a
   * folder holding one; read without executing anything) from a folder (Node), in eval mode
   * unless `training: true`. See `FromPretrainedOptions` for `dtype`, `strict`, `config` overrides and `seed`.
   */
  static async fromPretrained(directory: string, options: FromPretrainedOptions = {}): Promise<MiniMindForCausalLM> {
    const { config, weights, seed, training, weightFormat } = await readPretrained(directory, options);
    const init: InternalInitOptions = { seed, [loadedWeights]: weights };
    const model = new MiniMindForCausalLM(config, init).train(training);
    return weightFormat === "float32" ? model : model.quantize(weightFormat);
  }

  private assemble(): { model: MiniMindModel; lmHead: Linear } {
    const config = this.config;
    const get = (name: string): Tensor => {
      const value = this.parameters.get(name);
      if (value === undefined) throw new Error(`[MiniMindForCausalLM] parameter "${name}" is missing`);
      return value;
    };
    const project = (name: string): Linear => {
      const projection = new Linear(get(name));
      this.linears.set(name, projection);
      return projection;
    };
    const norm = (name: string) => new RMSNorm(get(name), config.rms_norm_eps);
    const feedForward = (prefix: string) =>
      new FeedForward(
        project(`${prefix}.gate_proj.weight`),
        project(`${prefix}.up_proj.weight`),
        project(`${prefix}.down_proj.weight`),
      );
    const layers: MiniMindBlock[] = [];
    for (let layer = 0; layer < config.num_hidden_layers; layer++) {
      const prefix = `model.layers.${layer}`;
      const attention = new Attention(
        config,
        layer,
        project(`${prefix}.self_attn.q_proj.weight`),
        project(`${prefix}.self_attn.k_proj.weight`),
        project(`${prefix}.self_attn.v_proj.weight`),
        project(`${prefix}.self_attn.o_proj.weight`),
        norm(`${prefix}.self_attn.q_norm.weight`),
        norm(`${prefix}.self_attn.k_norm.weight`),
      );
      const mlp = config.use_moe
        ? new MoEFeedForward(
            config,
            project(`${prefix}.mlp.gate.weight`),
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
    const lmHead = config.tie_word_embeddings ? new Linear(embedTokens) : project("lm_head.weight");
    if (config.tie_word_embeddings) this.linears.set("lm_head.weight", lmHead);
    return { model, lmHead };
  }

  /** Every parameter under its upstream name, in state-dict order (a tied head is listed once, as the embedding). */
  namedParameters(): Map<string, Tensor> {
    return new Map(this.parameters);
  }

  /**
   * Attaches (or, with undefined, removes) an adapter to the projection whose weight is `weightName` (upstream
   * name, e.g. `model.layers.0.self_attn.q_proj.weight`; `lm_head.weight` also when tied): its output becomes
   * x·Wᵀ + adapter(x). This is the hook LoRA builds on; the base weight is untouched.
   */
  setAdapter(weightName: string, adapter: LinearAdapter | undefined): void {
    const projection = this.linears.get(weightName);
    if (projection === undefined) {
      const examples = [...this.linears.keys()].slice(0, 6).join(", ");
      throw new Error(
        `[MiniMindForCausalLM] no projection has the weight "${weightName}"; projections are named like ${examples}, …`,
      );
    }
    if (adapter !== undefined && typeof adapter !== "function")
      throw new TypeError(`[MiniMindForCausalLM] the adapter for "${weightName}" must be a function (x) => Tensor`);
    projection.adapter = adapter;
  }

  /** The names `setAdapter` accepts: every projection's weight (upstream names). */
  projectionNames(): string[] {
    return [...this.linears.keys()];
  }

  /**
   * An empty KV cache for this model (all layers, up to its context), for `forward({ cache })` and
   * `generate(…, { cache })`: reuse it across calls to continue a sequence, e.g. turn after turn of a chat.
   */
  createCache(options: { step?: number } = {}): KeyValueCache {
    return new KeyValueCache({
      layers: this.config.num_hidden_layers,
      maxLength: maxPositions(this.config),
      ...(options.step === undefined ? {} : { step: options.step }),
    });
  }

  /**
   * Stores every projection's weight as `format` for inference (int8: one scale per block of 32, llama.cpp's
   * Q8_0 scheme; bf16), computed inside the CPU backend's matmul kernels; embeddings and norms stay float32.
   * The float32 projection weights are released: the model can no longer train or save a state dict.
   */
  quantize(format: "bf16" | "int8"): this {
    if (this.weightFormat !== "float32") throw inferenceOnly(this.weightFormat, `quantize("${format}")`);
    if (format !== "bf16" && format !== "int8")
      throw new Error(`[MiniMindForCausalLM] quantize: format is ${JSON.stringify(format)}; expected "bf16" or "int8"`);
    this.train(false);
    // q/k/v and gate/up read the same input: each group is stored as one weight, one GEMV per step.
    for (const block of this.model.layers) {
      const { qProj, kProj, vProj } = block.selfAttention;
      FusedProjections.quantize([qProj, kProj, vProj], format);
      if (block.mlp instanceof FeedForward) FusedProjections.quantize([block.mlp.gateProj, block.mlp.upProj], format);
    }
    quantizeProjections(this.linears, this.parameters, format);
    this.weightFormat = format;
    return this;
  }

  /** Upstream's `model.train()` / `model.eval()`. */
  train(training = true): this {
    if (training && this.weightFormat !== "float32") throw inferenceOnly(this.weightFormat, "train()");
    this.training = training;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** The weights as a float32 state dict under upstream names (tied head omitted). */
  stateDict(): Map<string, SafetensorsTensor<"F32">> {
    if (this.weightFormat !== "float32") throw inferenceOnly(this.weightFormat, "stateDict()");
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
   * (−100 ignored). Create and read the results inside `scope` to release the intermediates: outside every
   * scope they stay alive (until garbage-collected), and in development the first such call warns once.
   */
  forward(options: ForwardOptions): ForwardResult {
    return warnIfUnscoped(this, () => this.computeForward(options));
  }

  private computeForward(options: ForwardOptions): ForwardResult {
    const ids = toRows(options.inputIds, "inputIds");
    const cache = options.cache;
    const pastLength = cache?.length ?? 0;
    const vocab = this.config.vocab_size;
    for (const id of ids.data) {
      if (id < 0 || id >= vocab)
        throw new Error(`[MiniMindForCausalLM] inputIds holds ${id}, outside the vocabulary [0, ${vocab})`);
    }
    const prefix = this.prefixOf(options, ids.batch, pastLength);
    const prefixLength = prefix?.shape[1] ?? 0;
    const length = prefixLength + ids.length; // positions this call appends
    let strategy: StrategyLike = options.attention ?? causal;
    if (options.attentionMask !== undefined) {
      const mask = toRows(options.attentionMask, "attentionMask");
      const notBinary = mask.data.findIndex((keep) => keep !== 0 && keep !== 1);
      if (notBinary >= 0) {
        throw new Error(
          `[MiniMindForCausalLM] attentionMask holds ${mask.data[notBinary]} at row ${Math.floor(notBinary / mask.length)}, position ${notBinary % mask.length}; expected 1 (a real token) or 0 (padding)`,
        );
      }
      if (mask.batch !== ids.batch || mask.length !== pastLength + length) {
        throw new Error(
          `[MiniMindForCausalLM] attentionMask is [${mask.batch}, ${mask.length}]; expected [${ids.batch}, ${pastLength + length}] (batch, past${prefixLength > 0 ? " + prefix" : ""} + new tokens)`,
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
        ? pastLength + length - 1
        : positionIds.reduce((highest, position) => Math.max(highest, position), 0);
    if (last >= limit) {
      const what = positionIds === undefined ? `past ${pastLength} + ${length} new tokens reach` : "positionIds hold";
      throw new Error(
        `[MiniMindForCausalLM] ${what} position ${last}, beyond the model's context: ${describeMaxPositions(this.config)}`,
      );
    }
    // Refuse an append the strategy forbids before computing anything; drop a partial chunk on failure.
    cache?.checkAppend(strategy, length, { batch: ids.batch, heads: this.config.num_attention_heads });
    const inputIds = tensor(ids.data, { shape: [ids.batch, ids.length], dtype: "int32" }); // [B, T]
    let computed: { hidden: Tensor; auxLoss: Tensor };
    try {
      computed = this.model.forward(inputIds, { prefix, strategy, cache, training: this.training, positionIds });
    } catch (error) {
      cache?.truncate(pastLength);
      throw error;
    }
    const { auxLoss } = computed;
    const hidden = prefixLength > 0 ? computed.hidden.slice([0, prefixLength, 0]) : computed.hidden; // [B, T, hidden]
    const keepCount = options.logitsToKeep ?? 0;
    const kept = keepCount > 0 ? hidden.slice([0, Math.max(ids.length - keepCount, 0), 0]) : hidden; // [B, T', hidden]
    const logits = this.lmHead.forward(kept); // [B, T', vocab]
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
    return { logits, loss, auxLoss };
  }

  /** `prefixEmbeddings` checked and broadcast to [B, P, hidden], or undefined. */
  private prefixOf(options: ForwardOptions, batch: number, pastLength: number): Tensor | undefined {
    const prefix = options.prefixEmbeddings;
    if (prefix === undefined) return undefined;
    const hidden = this.config.hidden_size;
    const shape = prefix.shape;
    const fits =
      prefix.dtype === "float32" &&
      shape[shape.length - 1] === hidden &&
      (shape.length === 2 || (shape.length === 3 && shape[0] === batch)) &&
      (shape[shape.length - 2] as number) > 0;
    if (!fits) {
      throw new Error(
        `[MiniMindForCausalLM] prefixEmbeddings is a ${prefix.dtype} tensor [${shape.join(", ")}]; expected float32 [P, ${hidden}] or [${batch}, P, ${hidden}] with P ≥ 1`,
      );
    }
    if (pastLength > 0 || options.positionIds !== undefined) {
      throw new Error(
        "[MiniMindForCausalLM] prefixEmbeddings go at the start of a sequence: not onto a cache that holds tokens, and not with positionIds",
      );
    }
    return shape.length === 3 ? prefix : prefix.reshape([1, ...shape]).expand([batch, ...shape]);
  }

  /**
   * KV-cached generation: prefill every prompt, then one token per step until `maxNewTokens`, or until every
   * row has produced an end-of-sequence id or a stop string. Greedy (deterministic) unless `doSample`.
   * Prompts may differ in length: shorter rows are left-padded, masked and given their own positions, so each
   * row generates what it would alone. `attention` sets the strategy, `cache` continues a sequence (multi-turn).
   * Resolves to each row's new ids (a stopping EOS id included). It yields to the event loop every few
   * milliseconds, so an abort lands within a step: with an aborted `signal` it rejects with `signal.reason`.
   * Invalid options or prompts, and non-finite logits, reject with an Error naming the option or the step.
   */
  async generate(prompts: readonly (readonly number[])[], options: GenerateOptions = {}): Promise<number[][]> {
    return decodeToEnd(decodeSteps(this, prompts, this.generationSettings(prompts, options)), prompts.length);
  }

  /**
   * `generate` as an async iterator with one entry per decoding step: each row's new ids of that step (one
   * id, or none once the row has stopped). Between steps it yields to the event loop, so an abort (a timer,
   * Ctrl-C) lands there and the next step throws `signal.reason`; leaving a `for await` early releases a
   * private cache. Options are checked when `stream` is called. Logits are read back asynchronously, so
   * `stream` also runs on backends without synchronous readback (gpujs on WebGPU), where `generate` cannot.
   */
  stream(prompts: readonly (readonly number[])[], options: GenerateOptions = {}): AsyncGenerator<number[][], void> {
    return readAsynchronously(decodeSteps(this, prompts, this.generationSettings(prompts, options)));
  }

  private generationSettings(prompts: readonly (readonly number[])[], options: GenerateOptions) {
    const settings = resolveGenerationSettings(options, this.config.eos_token_id, this.config.vocab_size);
    checkPrompts(this.config, prompts, settings);
    return settings;
  }

  /**
   * Writes `config.json` and `model.safetensors` (F32, upstream names, tied head omitted) — or, with
   * `{ format: "pth" }`, upstream's `model.pth` — into a folder (Node), so upstream PyTorch code and
   * `fromPretrained` load them. Returns the weight files written.
   */
  savePretrained(directory: string, options: SavePretrainedOptions = {}): Promise<string[]> {
    return writePretrained(directory, this.config, this.stateDict(), options);
  }

  /** Releases every parameter and cached table; the model is unusable afterwards. */
  dispose(): void {
    for (const weight of this.parameters.values()) weight.dispose();
    for (const projection of this.linears.values()) {
      projection.quantized?.dispose();
      projection.fused?.group.weight.dispose(); // shared by the group's parts; a second dispose is a no-op
    }
    this.model.rotary.dispose();
  }
}
