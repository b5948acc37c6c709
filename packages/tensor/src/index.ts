/**
 * @minimind/tensor — public API. Only what is exported here is public; everything else is private.
 */
import { registerBackend } from "./backend.js";
import { CpuBackend } from "./backends/cpu/cpu-backend.js";
import { tensorMethods } from "./ops/methods.js";
import { installTensorOps } from "./tensor.js";

registerBackend("cpu", () => new CpuBackend());
installTensorOps(tensorMethods);

export { backward, gradientNorm, zeroGrad } from "./autograd.js";
export type {
  AdamWHyperparameters,
  Backend,
  BackendBuffer,
  BackendMemoryInfo,
  BinaryOp,
  BufferView,
  KernelName,
  Kernels,
  ReduceOp,
  UnaryOp,
} from "./backend.js";
export { getBackend, listBackends, registerBackend, setBackend } from "./backend.js";
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
export type { CustomOpContext, CustomOpDefinition, HostView } from "./custom-op.js";
export { cpuData, cpuView, customOp, empty, hasHostMemory } from "./custom-op.js";
export type { DType, TypedArray } from "./dtype.js";
export type { GradcheckOptions, GradcheckResult } from "./gradcheck.js";
export { gradcheck } from "./gradcheck.js";
export { keep, scope } from "./memory.js";
export {
  crossEntropyComposed,
  logSoftmaxComposed,
  rmsnormComposed,
  ropeComposed,
  softmaxComposed,
} from "./ops/composed.js";
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
export { adamwUpdate, adamwUpdateComposed } from "./ops/fused.js";
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
export type {
  BackwardContext,
  CrossEntropyOptions,
  OpAttributes,
  PrimitiveOp,
  RopeOptions,
  Rule,
} from "./ops/primitives.js";
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
  primitiveOps,
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
