/**
 * `@minimind/tensor/internals` — for backend and kernel authors, not for model code (that imports
 * `@minimind/tensor`). What is here:
 * - the backend contract: `Backend`, `registerBackend`, the kernel interfaces (`PrimitiveKernels` required,
 *   `FusedKernels` optional), buffers and views, and the kernel-name lists;
 * - `primitivesOnly(backend)`: a backend restricted to its primitive kernels, to test that they suffice;
 * - host memory for kernels written over raw arrays inside a `customOp`: `hasHostMemory`, `cpuData`,
 *   `cpuView`, `empty`;
 * - CPU backend knobs: the wasm matmul's thread count (also public now: `@minimind/tensor` exports them);
 * - for wasm kernels in other packages (the attention kernels): the wasm emitter, the pooled heap their
 *   modules share memory with, the float32 exp emission, and relaxed-SIMD detection;
 * - the op rule table's types and op list, and the composed oracles — each fused op built from primitives,
 *   differentiable, to test a fused kernel against.
 * Semantic versioning covers this entry less strictly than the public one: it follows the backend interface,
 * and a minor release may change it (the changelog says so).
 */
import { setUp } from "./setup.js";

setUp();

export type {
  AdamWHyperparameters,
  Backend,
  BackendBuffer,
  BackendKernels,
  BackendMemoryInfo,
  BinaryOp,
  BufferView,
  FusedKernelName,
  FusedKernels,
  KernelName,
  Kernels,
  PrimitiveKernelName,
  PrimitiveKernels,
  QuantizedBuffers,
  QuantizedKernels,
  ReduceOp,
  UnaryOp,
} from "./backend.js";
export { fusedKernelNames, kernelNames, primitiveKernelNames, registerBackend } from "./backend.js";
export type { HeapBlock, WasmHeap } from "./backends/cpu/wasm/heap.js";
export { getHeap } from "./backends/cpu/wasm/heap.js";
export { instantiateOnHeap } from "./backends/cpu/wasm/heap-kernels.js";
export { getMatmulThreads, setMatmulThreads } from "./backends/cpu/wasm/matmul.js";
export type { ExpLocals } from "./backends/cpu/wasm/transcendental.js";
export { emitExp, expLocals, Lanes } from "./backends/cpu/wasm/transcendental.js";
export type { ValueType } from "./backends/cpu/wasm/wasm-emitter.js";
export { F32, FunctionBuilder, I32, relaxedSimdSupported, V128 } from "./backends/cpu/wasm/wasm-emitter.js";
export { primitivesOnly } from "./backends/primitives-only.js";
export type { HostView } from "./custom-op.js";
export { cpuData, cpuView, empty, hasHostMemory } from "./custom-op.js";
export {
  crossEntropyComposed,
  logSoftmaxComposed,
  rmsnormComposed,
  ropeComposed,
  softmaxComposed,
  swigluBackwardComposed,
  swigluComposed,
} from "./ops/composed.js";
export { adamwUpdateComposed } from "./ops/fused.js";
export type { BackwardContext, OpAttributes, PrimitiveOp, Rule } from "./ops/primitives.js";
export { primitiveOps } from "./ops/primitives.js";
