/**
 * @minimind/tensor — the public API, for code that computes with tensors: tensors and their creation
 * (creation.ts, tensor.ts), the ops (ops/*), autograd (autograd.ts, `noGrad`), scopes and memory (memory.ts,
 * `memory`), backend selection (backend.ts), `customOp` and `gradcheck`. Only what is exported here is public.
 * Backend and kernel authors find the backend contract, the kernel interfaces, host-memory access for raw
 * kernels, CPU knobs and the composed oracles in `@minimind/tensor/internals` (internals.ts).
 */
import { setUp } from "./setup.js";

setUp();

export { backward, gradientNorm, zeroGrad } from "./autograd.js";
export type { Backend } from "./backend.js";
export { getBackend, listBackends, setBackend } from "./backend.js";
export { getMatmulThreads, setMatmulThreads } from "./backends/cpu/wasm/matmul.js";
export type { CreationOptions, RandomOptions } from "./creation.js";
export {
  arange,
  full,
  ones,
  onesLike,
  randn,
  randnValues,
  scalar,
  tensor,
  uniform,
  uniformValues,
  zeros,
  zerosLike,
} from "./creation.js";
export type { CustomOpContext, CustomOpDefinition } from "./custom-op.js";
export { customOp } from "./custom-op.js";
export type { DType, TypedArray } from "./dtype.js";
export type { GradcheckOptions, GradcheckResult } from "./gradcheck.js";
export { gradcheck } from "./gradcheck.js";
export { keep, scope, scopeDepth } from "./memory.js";
export type { DropoutOptions } from "./ops/compound.js";
export {
  dropout,
  flatten,
  linear,
  logSoftmax,
  mean,
  minimum,
  relu,
  softmax,
  square,
  squeeze,
  tanh,
  transpose,
  unsqueeze,
} from "./ops/compound.js";
export {
  abs,
  add,
  div,
  equal,
  exp,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log,
  maximum,
  mul,
  neg,
  notEqual,
  pow,
  rsqrt,
  sigmoid,
  silu,
  sqrt,
  sub,
  where,
} from "./ops/elementwise.js";
export type { AdamWOptions } from "./ops/fused.js";
export { adamwUpdate } from "./ops/fused.js";
export { embedding, gatherRows, indexAddRows, takeAlongLastAxis } from "./ops/indexing.js";
export { matmul } from "./ops/matmul.js";
export { assign, cast, concat, contiguous, expand, permute, reshape, slice } from "./ops/movement.js";
export type { CrossEntropyOptions, RopeOptions } from "./ops/nn.js";
export { crossEntropy, rmsnorm, rope, swiglu } from "./ops/nn.js";
export type { MultinomialOptions } from "./ops/non-differentiable.js";
export { argmax, multinomial, topk } from "./ops/non-differentiable.js";
export { max, sum } from "./ops/reduce.js";
export type { QuantizedFormat, QuantizeWeightOptions } from "./quantized.js";
export { dequantizeWeight, matmulQuantized, QuantizedWeight, quantizeWeight } from "./quantized.js";
export { manualSeed } from "./random.js";
export type { MemoryInfo, NestedArray, TensorLike } from "./tensor.js";
export { memory, noGrad, Tensor } from "./tensor.js";
