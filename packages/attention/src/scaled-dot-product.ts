/**
 * `scaledDotProductAttention(q, k, v, options)` on @minimind/tensor tensors: forward and backward run the
 * block-sparse kernel of `kernel.ts` through the tensor package's `customOp` extension point (CPU backend;
 * log-sum-exp saved for backward). `scaledDotProductAttentionComposed` is the same maths from tensor
 * primitives (matmul, where, softmax) with a materialized mask — the fallback for other backends and the
 * oracle the fast path is tested against. Not here: projections, RoPE or caching (the model does those).
 *
 * Shapes: query [B, Hq, Tq, D]; key, value [B, Hkv, Tk, D] with Hq a multiple of Hkv; output [B, Hq, Tq, D].
 */
import { cpuData, customOp, empty, matmul, noGrad, softmax, type Tensor, tensor, where } from "@minimind/tensor";
import { BlockMask } from "./block-mask.js";
import { type AttentionShape, attentionBackward, attentionForward } from "./kernel.js";
import { causal } from "./masks.js";
import type { ScoreMod, StrategyLike } from "./strategy.js";

export interface ScaledDotProductAttentionOptions {
  /** The mask strategy. Default causal. Ignored when `blockMask` is given. */
  strategy?: StrategyLike;
  /** A precompiled block mask for exactly these shapes (reuse it across layers). */
  blockMask?: BlockMask;
  /** Default the strategy's score mod. */
  scoreMod?: ScoreMod;
  /** Default 1 / √D. */
  scale?: number;
  /** Absolute position of query 0. Default Tk − Tq (bottom-right). */
  queryOffset?: number;
  /** Block size when the block mask is built here. Default 64. */
  blockSize?: number;
}

function shapeOf(query: Tensor, key: Tensor, value: Tensor, where: string): AttentionShape {
  for (const [name, input] of [
    ["query", query],
    ["key", key],
    ["value", value],
  ] as const) {
    if (input.rank !== 4) {
      throw new RangeError(`[${where}] ${name} has shape [${input.shape.join(", ")}]; expected rank 4 [B, H, T, D]`);
    }
    if (input.dtype !== "float32") {
      throw new TypeError(`[${where}] ${name} has dtype ${input.dtype}; attention runs in float32 (cast it first)`);
    }
  }
  const [batch, queryHeads, queryLength, headDim] = query.shape as [number, number, number, number];
  const [keyBatch, keyValueHeads, keyLength, keyDim] = key.shape as [number, number, number, number];
  if (keyBatch !== batch || keyDim !== headDim || value.shape.join() !== key.shape.join()) {
    throw new RangeError(
      `[${where}] key [${key.shape.join(", ")}] and value [${value.shape.join(", ")}] must both be [${batch}, Hkv, Tk, ${headDim}] for query [${query.shape.join(", ")}]`,
    );
  }
  if (queryHeads % keyValueHeads !== 0) {
    throw new RangeError(`[${where}] query heads ${queryHeads} must be a multiple of key/value heads ${keyValueHeads}`);
  }
  return { batch, queryHeads, keyValueHeads, queryLength, keyLength, headDim };
}

function blockMaskFor(shape: AttentionShape, options: ScaledDotProductAttentionOptions): BlockMask {
  if (options.blockMask) return options.blockMask;
  return new BlockMask(options.strategy ?? causal, {
    batch: shape.batch,
    heads: shape.queryHeads,
    queryLength: shape.queryLength,
    keyLength: shape.keyLength,
    ...(options.queryOffset === undefined ? {} : { queryOffset: options.queryOffset }),
    ...(options.blockSize === undefined ? {} : { blockSize: options.blockSize }),
  });
}

/** A float32 tensor of `shape` holding a copy of `data`. */
function fromArray(data: Float32Array, shape: readonly number[]): Tensor {
  const result = empty(shape);
  (cpuData(result) as Float32Array).set(data);
  return result;
}

/**
 * Differentiable block-sparse attention. On the CPU backend, the tiled kernel (O(T) memory, skips masked
 * blocks); on any other backend (e.g. gpujs), the composed computation with a dense mask built from the same
 * strategy (`scaledDotProductAttentionComposed`), so models run unchanged on every backend.
 */
export function scaledDotProductAttention(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  options: ScaledDotProductAttentionOptions = {},
): Tensor {
  if (query.backend.name !== "cpu") {
    if (options.scoreMod) {
      throw new Error(
        `[scaledDotProductAttention] score mods run in the CPU kernel only; the tensors live on backend "${query.backend.name}"`,
      );
    }
    const { scoreMod: _unused, ...rest } = options;
    return scaledDotProductAttentionComposed(query, key, value, rest);
  }
  const shape = shapeOf(query, key, value, "scaledDotProductAttention");
  const blockMask = blockMaskFor(shape, options);
  const settings = {
    shape,
    blockMask,
    ...(options.scoreMod ? { scoreMod: options.scoreMod } : {}),
    ...(options.scale === undefined ? {} : { scale: options.scale }),
  };
  // Kernel inputs are read in place: make every input contiguous first (that may allocate), then take the
  // cpuData views, run the kernel (its results are plain Float32Arrays, no tensor allocation) and only then
  // allocate the result tensors — cpuData views are valid until the next tensor allocation.
  const withContiguous = <Result>(inputs: readonly Tensor[], body: (views: Float32Array[]) => Result): Result => {
    const contiguous = inputs.map((input) => input.contiguous());
    try {
      return body(contiguous.map((input) => cpuData(input) as Float32Array));
    } finally {
      for (const [index, input] of contiguous.entries()) if (input !== inputs[index]) input.dispose();
    }
  };
  const op = customOp({
    name: "scaledDotProductAttention",
    forward: (q, k, v) => {
      const result = withContiguous([q as Tensor, k as Tensor, v as Tensor], (views) =>
        attentionForward({
          query: views[0] as Float32Array,
          key: views[1] as Float32Array,
          value: views[2] as Float32Array,
          ...settings,
        }),
      );
      const output = fromArray(result.output, q?.shape ?? []);
      const logSumExp = fromArray(result.logSumExp, [shape.batch, shape.queryHeads, shape.queryLength]);
      return { output, saved: [logSumExp] };
    },
    backward: (gradOutput, context) => {
      const [q, k, v] = context.inputs as [Tensor, Tensor, Tensor];
      const gradients = withContiguous([q, k, v, context.output, context.saved[0] as Tensor, gradOutput], (views) =>
        attentionBackward({
          query: views[0] as Float32Array,
          key: views[1] as Float32Array,
          value: views[2] as Float32Array,
          output: views[3] as Float32Array,
          logSumExp: views[4] as Float32Array,
          gradOutput: views[5] as Float32Array,
          ...settings,
        }),
      );
      return [
        context.needsInputGrad[0] ? fromArray(gradients.gradQuery, q.shape) : null,
        context.needsInputGrad[1] ? fromArray(gradients.gradKey, k.shape) : null,
        context.needsInputGrad[2] ? fromArray(gradients.gradValue, v.shape) : null,
      ];
    },
  });
  return op(query, key, value);
}

/**
 * The same attention from tensor primitives with the mask materialized as a [B, groups, Tq, Tk] tensor:
 * softmax(where(mask, q·kᵀ·scale, −1e9)) · mask, then · v. O(T²) memory; no score mods. GQA by grouping
 * the query heads (no K/V copies). Fully-masked rows give zeros, like the kernel.
 */
export function scaledDotProductAttentionComposed(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  options: Omit<ScaledDotProductAttentionOptions, "scoreMod"> = {},
): Tensor {
  const shape = shapeOf(query, key, value, "scaledDotProductAttentionComposed");
  const { batch, queryHeads, keyValueHeads, queryLength, keyLength, headDim } = shape;
  const blockMask = blockMaskFor(shape, options);
  if (blockMask.strategy.scoreMod) {
    throw new Error(
      "[scaledDotProductAttentionComposed] score mods are not supported here; use scaledDotProductAttention",
    );
  }
  const scale = options.scale ?? 1 / Math.sqrt(headDim);
  const group = queryHeads / keyValueHeads;
  const dense = noGrad(() => {
    const bytes = blockMask.toDense();
    const mask = tensor(Float32Array.from(bytes), { shape: [batch, blockMask.headGroups, queryLength, keyLength] });
    return mask;
  });
  // [B, Hq, Tq, D] → [B, Hkv, G·Tq, D]: the query heads of one kv head stacked along the rows
  const grouped = query.contiguous().reshape([batch, keyValueHeads, group * queryLength, headDim]);
  const scores = matmul(grouped, key.transpose(2, 3)).mul(scale).reshape([batch, queryHeads, queryLength, keyLength]);
  const probabilities = softmax(where(dense, scores, -1e9)).mul(dense);
  const output = matmul(probabilities.reshape([batch, keyValueHeads, group * queryLength, keyLength]), value).reshape([
    batch,
    queryHeads,
    queryLength,
    headDim,
  ]);
  return output;
}
