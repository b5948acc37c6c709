/**
 * @minimind/tensor — the public API, for code that computes with tensors: tensors and their creation, the
 * ops, autograd, scopes and memory, backend selection, `customOp` and `gradcheck`. Only what is exported here
 * is public. Backend and kernel authors find the backend contract, the kernel interfaces, host-memory access
 * for raw kernels, CPU knobs and the composed oracles in `@minimind/tensor/internals` (internals.ts).
 */
import { setUp } from "./setup.js";

setUp();

// Autograd, custom ops, gradient checking
export { backward, gradientNorm, zeroGrad } from "./autograd.js";
// Backend selection (writing a backend: @minimind/tensor/internals)
export type { Backend } from "./backend.js";
export { getBackend, listBackends, setBackend } from "./backend.js";
// Tensors and creation
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
// Memory
export { keep, scope } from "./memory.js";
// Ops
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
export type { AdamWOptions } from "./ops/fused.js";
export { adamwUpdate } from "./ops/fused.js";
export type { MultinomialOptions } from "./ops/non-differentiable.js";
export {
  argmax,
  assign,
  equal,
  greater,
  greaterEqual,
  less,
  lessEqual,
  multinomial,
  notEqual,
  topk,
} from "./ops/non-differentiable.js";
export type { CrossEntropyOptions, RopeOptions } from "./ops/primitives.js";
export {
  abs,
  add,
  cast,
  concat,
  contiguous,
  crossEntropy,
  div,
  embedding,
  exp,
  expand,
  gatherRows,
  indexAddRows,
  log,
  matmul,
  max,
  maximum,
  mul,
  neg,
  permute,
  pow,
  reshape,
  rmsnorm,
  rope,
  rsqrt,
  sigmoid,
  silu,
  slice,
  sqrt,
  sub,
  sum,
  takeAlongLastAxis,
  where,
} from "./ops/primitives.js";
export { manualSeed } from "./random.js";
export type { MemoryInfo, NestedArray, TensorLike } from "./tensor.js";
export { memory, noGrad, Tensor } from "./tensor.js";
