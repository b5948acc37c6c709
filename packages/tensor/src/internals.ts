/**
 * `@minimind/tensor/internals`: the entry for backend and kernel authors, not for model code. It holds the
 * backend contract (the kernel interfaces and the registry), the kernel-name lists, and `primitivesOnly`,
 * which restricts a backend to its primitive kernels to test that they suffice. Anything here may change in
 * a minor release; user code imports `@minimind/tensor`.
 */
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
  ReduceOp,
  UnaryOp,
} from "./backend.js";
export { fusedKernelNames, kernelNames, primitiveKernelNames, registerBackend } from "./backend.js";
export { primitivesOnly } from "./backends/primitives-only.js";
