/**
 * `scaledDotProductAttention(q, k, v, options)` on @minimind/tensor tensors, choosing its kernel from what it
 * is given — the strategy's block mask and the backend's capabilities — never from who calls it (PyTorch
 * FlexAttention picks sparsity from the BlockMask the same way):
 * - "unmasked": every block of the mask is full and there are few queries (a decode step, a short chunk) and no
 *   score mod, where the wasm SIMD tiled kernel does not apply (no host memory, SIMD off, D not a multiple of
 *   4): softmax(q·kᵀ·scale)·v on two batched matmuls, grouping GQA query heads (no K/V copies); runs on any
 *   backend and reads a KV cache's strided views in place.
 * - "tiled": the block-sparse flash-style kernel of `kernel.ts` (forward and backward, log-sum-exp saved) on
 *   backends whose memory the host addresses (`hasHostMemory`); it too reads cache views in place.
 * - "composed": the same maths from tensor primitives with a materialized mask
 *   (`scaledDotProductAttentionComposed`), for every other backend; also the oracle the others are tested
 *   against.
 * Block masks are memoized per strategy object and shape, so a model's layers share one.
 * Not here: projections, RoPE or the cache itself (`kv-cache.ts`).
 *
 * Shapes: query [B, Hq, Tq, D]; key, value [B, Hkv, Tk, D] with Hq a multiple of Hkv; output [B, Hq, Tq, D].
 */
import { customOp, matmul, noGrad, softmax, type Tensor, tensor, where } from "@minimind/tensor";
import { cpuData, cpuView, empty, getHeap, hasHostMemory } from "@minimind/tensor/internals";
import { BlockMask } from "./block-mask.js";
import { type AttentionShape, attentionBackward, attentionForward } from "./kernel.js";
import { causal } from "./masks.js";
import { type AttentionStrategy, type ScoreMod, type StrategyLike, toStrategy } from "./strategy.js";
import { type SimdSettings, simdApplicable, simdBackward, simdForward } from "./wasm-attention.js";
import type { AttentionSimdExports } from "./wasm-kernels.js";

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

/** The last block mask built per strategy object: a model's layers (and a decode step's) share it. */
const recentMasks = new WeakMap<AttentionStrategy, BlockMask>();

function blockMaskFor(shape: AttentionShape, options: ScaledDotProductAttentionOptions): BlockMask {
  if (options.blockMask) return options.blockMask;
  const strategy = toStrategy(options.strategy ?? causal);
  const queryOffset = options.queryOffset ?? shape.keyLength - shape.queryLength;
  const blockSize = options.blockSize ?? 64;
  const recent = recentMasks.get(strategy);
  if (
    recent !== undefined &&
    recent.batch === shape.batch &&
    recent.heads === shape.queryHeads &&
    recent.queryLength === shape.queryLength &&
    recent.keyLength === shape.keyLength &&
    recent.queryOffset === queryOffset &&
    recent.blockSize === blockSize
  ) {
    return recent;
  }
  const mask = new BlockMask(strategy, {
    batch: shape.batch,
    heads: shape.queryHeads,
    queryLength: shape.queryLength,
    keyLength: shape.keyLength,
    queryOffset,
    blockSize,
  });
  recentMasks.set(strategy, mask);
  return mask;
}

/** The kernels `scaledDotProductAttention` chooses between (see the file header). */
export type AttentionKernel = "unmasked" | "tiled" | "composed";

/** Queries up to which an all-visible mask runs on plain matmuls (scores [Tq, Tk] stay small). */
const UNMASKED_MAX_QUERIES = 64;

function chooseKernel(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  shape: AttentionShape,
  blockMask: BlockMask,
  scoreMod: ScoreMod | undefined,
): AttentionKernel {
  const hostMemory = hasHostMemory(query) && hasHostMemory(key) && hasHostMemory(value);
  // The wasm SIMD tiled kernel beats the two matmuls at every all-visible shape measured (a decode step:
  // 8 query heads, 2 kv heads, D 64, Tk 160: 25 vs 47 µs; 64 queries: about 2× too), so "unmasked" is for
  // backends without host memory and for the JavaScript tiled loops (SIMD off, or D not a multiple of 4).
  if (hostMemory && simdApplicable(shape, scoreMod) !== undefined) return "tiled";
  if (scoreMod === undefined && blockMask.queryLength <= UNMASKED_MAX_QUERIES) {
    const { empty, partial } = blockMask.counts();
    if (empty === 0 && partial === 0 && blockMask.keyLength > 0) return "unmasked";
  }
  return hostMemory ? "tiled" : "composed";
}

/**
 * The kernel `scaledDotProductAttention` runs for these inputs and options: "tiled" where the wasm SIMD kernel
 * applies (host memory, SIMD on, D a multiple of 4); else "unmasked" when every query sees every key (no score
 * mod, at most 64 queries); else "tiled" on backends with host memory, "composed" on the others.
 */
export function selectAttentionKernel(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  options: ScaledDotProductAttentionOptions = {},
): AttentionKernel {
  const shape = shapeOf(query, key, value, "selectAttentionKernel");
  const blockMask = blockMaskFor(shape, options);
  return chooseKernel(query, key, value, shape, blockMask, options.scoreMod ?? blockMask.strategy.scoreMod);
}

/** softmax(q·kᵀ·scale)·v with no mask: the query heads of each kv head stacked as rows of one matmul. */
function unmaskedAttention(query: Tensor, key: Tensor, value: Tensor, shape: AttentionShape, scale: number): Tensor {
  const { batch, queryHeads, keyValueHeads, queryLength, headDim } = shape;
  const group = queryHeads / keyValueHeads;
  const grouped = query.contiguous().reshape([batch, keyValueHeads, group * queryLength, headDim]); // [B, Hkv, G·Tq, D]
  const scores = matmul(grouped, key.transpose(2, 3)).mul(scale); // [B, Hkv, G·Tq, Tk]
  return matmul(softmax(scores), value).reshape([batch, queryHeads, queryLength, headDim]); // [B, Hq, Tq, D]
}

/**
 * A key or value view the tiled kernel reads in place: contiguous, or the first Tk rows of a [B, Hkv, C, D]
 * buffer (a KV cache). Returns the elements from the view's offset and the row capacity C, or undefined.
 */
function capacityView(input: Tensor, shape: AttentionShape): { data: Float32Array; capacity: number } | undefined {
  const { batch, keyValueHeads, keyLength, headDim } = shape;
  const [batchStride, headStride, rowStride, elementStride] = input.strides as [number, number, number, number];
  if (headDim > 1 && elementStride !== 1) return undefined;
  if (keyLength > 1 && rowStride !== headDim) return undefined;
  const capacity =
    keyValueHeads > 1 ? headStride / headDim : batch > 1 ? batchStride / (keyValueHeads * headDim) : keyLength;
  if (!Number.isInteger(capacity) || capacity < keyLength) return undefined;
  if (batch > 1 && batchStride !== keyValueHeads * capacity * headDim) return undefined;
  const view = cpuView(input);
  const size = batch * keyValueHeads * capacity * headDim;
  if (input.dtype !== "float32" || view.offset + size > view.data.length) return undefined;
  return { data: (view.data as Float32Array).subarray(view.offset, view.offset + size), capacity };
}

/** A float32 tensor of `shape` holding a copy of `data`. */
function fromArray(data: Float32Array, shape: readonly number[]): Tensor {
  const result = empty(shape);
  (cpuData(result) as Float32Array).set(data);
  return result;
}

/**
 * Differentiable attention under a mask strategy, on the kernel the inputs call for (see the file header and
 * `selectAttentionKernel`): plain matmuls when nothing is masked, the block-sparse tiled kernel (O(T) memory,
 * skips masked blocks) where the backend's memory is host-addressable, else the composed dense-mask path.
 * Key and value may be views of a `KeyValueCache`; they are read in place.
 */
export function scaledDotProductAttention(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  options: ScaledDotProductAttentionOptions = {},
): Tensor {
  const shape = shapeOf(query, key, value, "scaledDotProductAttention");
  const blockMask = blockMaskFor(shape, options);
  const scoreMod = options.scoreMod ?? blockMask.strategy.scoreMod;
  const scale = options.scale ?? 1 / Math.sqrt(shape.headDim);
  const kernel = chooseKernel(query, key, value, shape, blockMask, scoreMod);
  if (kernel === "unmasked") return unmaskedAttention(query, key, value, shape, scale);
  if (kernel === "composed") {
    if (scoreMod) {
      throw new Error(
        `[scaledDotProductAttention] score mods run in the tiled kernel only, on backends with host memory; the tensors live on backend "${query.backend.name}"`,
      );
    }
    return scaledDotProductAttentionComposed(query, key, value, { ...options, blockMask, scale });
  }
  const settings = { shape, blockMask, scale, ...(scoreMod ? { scoreMod } : {}) };
  // Kernel inputs are read in place: make every input readable first (a copy allocates), then take the
  // host views, run the kernel (its results are plain Float32Arrays, no tensor allocation) and only then
  // allocate the result tensors — host views are valid until the next tensor allocation.
  const withContiguous = <Result>(inputs: readonly Tensor[], body: (views: Float32Array[]) => Result): Result => {
    const contiguous = inputs.map((input) => input.contiguous());
    try {
      return body(contiguous.map((input) => cpuData(input) as Float32Array));
    } finally {
      for (const [index, input] of contiguous.entries()) if (input !== inputs[index]) input.dispose();
    }
  };
  const simd = simdApplicable(shape, scoreMod);
  if (simd) return simdAttention(simd, query, key, value, { shape, blockMask, scale, capacity: shape.keyLength });
  const op = customOp({
    name: "scaledDotProductAttention",
    forward: (q, k, v) => {
      const queryInput = q as Tensor;
      // Keys and values of a KV cache are strided views of its storage: read them without a copy.
      const keys = capacityView(k as Tensor, shape);
      const values = capacityView(v as Tensor, shape);
      const result =
        keys !== undefined && values !== undefined && keys.capacity === values.capacity
          ? withContiguous([queryInput], ([queries]) =>
              attentionForward({
                query: queries as Float32Array,
                key: keys.data,
                value: values.data,
                keyCapacity: keys.capacity,
                ...settings,
              }),
            )
          : withContiguous([queryInput, k as Tensor, v as Tensor], (views) =>
              attentionForward({
                query: views[0] as Float32Array,
                key: views[1] as Float32Array,
                value: views[2] as Float32Array,
                ...settings,
              }),
            );
      const output = fromArray(result.output, queryInput.shape);
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

/** The byte address of a host view in the wasm heap, or undefined when it lives elsewhere. */
function heapAddress(view: Float32Array): number | undefined {
  return view.buffer === getHeap().memory.buffer ? view.byteOffset : undefined;
}

/**
 * The tiled kernel in wasm SIMD on tensors read and written in place in the heap (`wasm-attention.ts`):
 * inputs made contiguous (a KV cache's key/value views are read in place), outputs allocated, and only then
 * addresses taken (an allocation may grow the heap).
 */
function simdAttention(
  kernels: AttentionSimdExports,
  query: Tensor,
  key: Tensor,
  value: Tensor,
  settings: SimdSettings,
): Tensor {
  const { shape } = settings;
  const op = customOp({
    name: "scaledDotProductAttention",
    forward: (q, k, v) => {
      const queries = (q as Tensor).contiguous();
      const output = empty(queries.shape);
      const logSumExp = empty([shape.batch, shape.queryHeads, shape.queryLength]);
      // a KV cache's key/value views are read in place; other strided views are copied
      const keyView = capacityView(k as Tensor, shape);
      const valueView = capacityView(v as Tensor, shape);
      const inPlace = keyView !== undefined && valueView !== undefined && keyView.capacity === valueView.capacity;
      const capacity = inPlace ? keyView.capacity : shape.keyLength;
      const keys = inPlace ? (k as Tensor) : (k as Tensor).contiguous();
      const values = inPlace ? (v as Tensor) : (v as Tensor).contiguous();
      try {
        // every allocation is done: take the views again (an allocation may have grown the heap)
        const views = inPlace
          ? [capacityView(keys, shape)?.data, capacityView(values, shape)?.data]
          : [cpuData(keys) as Float32Array, cpuData(values) as Float32Array];
        const addresses = [cpuData(queries) as Float32Array, ...views, cpuData(output), cpuData(logSumExp)].map(
          (view) => (view === undefined ? undefined : heapAddress(view as Float32Array)),
        );
        if (addresses.some((address) => address === undefined)) {
          throw new Error("[scaledDotProductAttention] CPU tensors outside the wasm heap; cannot run the SIMD kernel");
        }
        const [qa, ka, va, oa, la] = addresses as [number, number, number, number, number];
        simdForward(kernels, { ...settings, capacity }, { query: qa, key: ka, value: va, output: oa, logSumExp: la });
      } finally {
        if (queries !== q) queries.dispose();
        if (keys !== k) keys.dispose();
        if (values !== v) values.dispose();
      }
      return { output, saved: [logSumExp] };
    },
    backward: (gradOutput, context) => {
      const inputs = [...(context.inputs as Tensor[]), context.output, context.saved[0] as Tensor, gradOutput];
      const contiguous = inputs.map((input) => input.contiguous());
      const [q, k, v] = context.inputs as [Tensor, Tensor, Tensor];
      const gradients = [empty(q.shape), empty(k.shape), empty(v.shape)];
      try {
        const addresses = [...contiguous, ...gradients].map((tensor) => heapAddress(cpuData(tensor) as Float32Array));
        if (addresses.some((address) => address === undefined)) {
          throw new Error("[scaledDotProductAttention] CPU tensors outside the wasm heap; cannot run the SIMD kernel");
        }
        const [qa, ka, va, oa, la, ga, gq, gk, gv] = addresses as number[] as [
          number,
          number,
          number,
          number,
          number,
          number,
          number,
          number,
          number,
        ];
        simdBackward(kernels, settings, {
          ...{ query: qa, key: ka, value: va, output: oa, logSumExp: la, gradOutput: ga },
          ...{ gradQuery: gq, gradKey: gk, gradValue: gv },
        });
      } finally {
        for (const [index, input] of contiguous.entries()) if (input !== inputs[index]) input.dispose();
      }
      return gradients.map((gradient, index) => {
        if (context.needsInputGrad[index]) return gradient;
        gradient.dispose();
        return null;
      });
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
