/**
 * The backend interface: the ONE contract every compute backend (CPU/WebAssembly today, GPU.js next)
 * implements, plus the registry that selects a backend by name.
 *
 * A backend owns device-resident, opaque buffers (`BackendBuffer`): the front end never touches their
 * memory, it only passes them back into kernels together with a layout (shape, strides, offset) so views
 * need no copies. Readback is asynchronous (`read`), with a synchronous `readSync` a backend may refuse
 * (a GPU backend whose data lives in textures would). Kernels are called eagerly, one per op, with output
 * buffers the front end allocated — a lazy backend may instead record the calls and fuse chains of
 * elementwise kernels before it executes them at the next `read` (nothing in the contract forbids that:
 * inputs are never mutated except by the explicitly in-place `adamw` kernel, and outputs are fresh buffers).
 *
 * The kernels come in two sets. The primitive kernels (`PrimitiveKernels`: elementwise unary / binary /
 * where, copy, fill, reduce, matmul, and the row gathers and scatters) are required: they are all a backend
 * needs, since every other op is built from them. The fused kernels (`FusedKernels`: softmax, rmsnorm, rope,
 * cross-entropy and their backwards, AdamW, argmax, top-k, multinomial) are optional fast paths: where a
 * backend lacks one, the front end runs that kernel's composition from primitives instead (`ops/composed.ts`,
 * like mlx's `fast` ops), so a new backend starts with the primitives and adds fused kernels one at a time.
 *
 * Deliberately not here: autograd, broadcasting rules, dtype promotion — the front end resolves all of that
 * and hands kernels fully specified operands.
 */
import type { DType, TypedArray } from "./dtype.js";

/** A device-resident buffer. Opaque to the front end; only its backend reads its memory. */
export interface BackendBuffer {
  readonly backend: string;
  readonly dtype: DType;
  /** Number of elements. */
  readonly length: number;
}

/** A strided view of a buffer: element (i0, i1, …) lives at `offset + Σ i_k · strides[k]`. */
export interface BufferView {
  readonly buffer: BackendBuffer;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export type UnaryOp = "neg" | "exp" | "log" | "sqrt" | "rsqrt" | "sigmoid" | "silu" | "abs";

/** Binary elementwise ops. Comparisons write 1 or 0 (into a bool or numeric output). */
export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "maximum"
  | "equal"
  | "notEqual"
  | "greater"
  | "greaterEqual"
  | "less"
  | "lessEqual";

export type ReduceOp = "sum" | "max";

export interface AdamWHyperparameters {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** 1-based step number, for bias correction. */
  step: number;
}

/**
 * The primitive kernels, required of every backend. Unless stated otherwise (for these and the fused
 * kernels): inputs are views (any strides, including 0 for broadcast axes) that the front end has already
 * broadcast to the output shape; outputs are fresh contiguous buffers of the output shape; kernels marked
 * "contiguous" receive contiguous views.
 */
export interface PrimitiveKernels {
  /** out = op(x), elementwise; out has x's shape. */
  unary(op: UnaryOp, x: BufferView, out: BackendBuffer): void;
  /** out = op(a, b); a and b carry the output shape (broadcast through zero strides). */
  binary(op: BinaryOp, a: BufferView, b: BufferView, out: BackendBuffer): void;
  /** out = condition ? a : b; all three carry the output shape. */
  where(condition: BufferView, a: BufferView, b: BufferView, out: BackendBuffer): void;
  /**
   * Copy x's elements into the (possibly strided) view `out` of the same shape, converting to out's dtype
   * (the cast kernel; bool output stores nonzero as 1). Used to materialise views, cast, pad and concat.
   */
  copy(x: BufferView, out: BufferView): void;
  /** Set every element of out to value. */
  fill(out: BackendBuffer, value: number): void;
  /** Reduce x over `axes` (sorted); out is contiguous with x's shape minus those axes. */
  reduce(op: ReduceOp, x: BufferView, axes: readonly number[], out: BackendBuffer): void;
  /**
   * Batched matrix product. a: [...batchA, m, k], b: [...batchB, k, n] (batch dims broadcast against each
   * other, both ranks ≥ 2); out: contiguous [...batch, m, n]. Transposed operands arrive as views with
   * swapped strides; the backend decides whether it can consume them without a copy.
   */
  matmul(a: BufferView, b: BufferView, out: BackendBuffer): void;
  /** Rows of table [rows, width] picked by int32 indices (contiguous): out [indices.length, width]. */
  gatherRows(table: BufferView, indices: BufferView, out: BackendBuffer): void;
  /** out (already holding base, contiguous [rows, width]) += source rows at indices: out[indices[i]] += source[i]. */
  indexAddRows(out: BackendBuffer, indices: BufferView, source: BufferView): void;
  /** Along the last axis: out[..., j] = x[..., indices[..., j]]. x, indices contiguous. */
  takeAlongLastAxis(x: BufferView, indices: BufferView, out: BackendBuffer): void;
  /** Along the last axis: out[..., indices[..., j]] += source[..., j]; out pre-filled by the caller. */
  scatterAddAlongLastAxis(out: BackendBuffer, indices: BufferView, source: BufferView): void;
}

/**
 * The fused kernels: optional fast paths. Where a backend lacks one, the front end runs the kernel's
 * composition from the primitive kernels instead (`ops/composed.ts`); the conformance suite holds the two
 * equal.
 */
export interface FusedKernels {
  /** Softmax (or log-softmax) over the last axis of contiguous x. */
  softmax(x: BufferView, out: BackendBuffer, log: boolean): void;
  /** Gradient of softmax / log-softmax over the last axis, from the forward output y and its gradient. */
  softmaxBackward(y: BufferView, gradY: BufferView, out: BackendBuffer, log: boolean): void;
  /** out = x / sqrt(mean(x², last axis) + epsilon) · weight. x contiguous [..., d], weight contiguous [d]. */
  rmsnorm(x: BufferView, weight: BufferView, epsilon: number, out: BackendBuffer): void;
  /** Gradients of rmsnorm: gradX (contiguous like x) and gradWeight ([d], overwritten). */
  rmsnormBackward(
    x: BufferView,
    weight: BufferView,
    gradY: BufferView,
    epsilon: number,
    gradX: BackendBuffer,
    gradWeight: BackendBuffer,
  ): void;
  /**
   * Rotary embedding, rotate-half convention: with x1 = x[..., :d/2], x2 = x[..., d/2:],
   * out = [x1·cos − x2·sin, x2·cos + x1·sin]. x contiguous, last axis d; cos/sin contiguous [positions, d/2];
   * the position of a row is ⌊row / rowsPerPosition⌋ mod positions. `inverse` rotates by −θ (the backward).
   */
  rope(
    x: BufferView,
    cos: BufferView,
    sin: BufferView,
    rowsPerPosition: number,
    inverse: boolean,
    out: BackendBuffer,
  ): void;
  /**
   * Mean cross-entropy over rows of logits [rows, classes] whose int32 target is not ignoreIndex.
   * out: one element (the loss). Writes 0 when no row is kept.
   */
  crossEntropy(logits: BufferView, targets: BufferView, ignoreIndex: number, out: BackendBuffer): void;
  /**
   * Gradient of the mean cross-entropy w.r.t. logits, scaled by the upstream gradient `gradLoss` (a
   * one-element view, kept on the device so no readback is needed).
   */
  crossEntropyBackward(
    logits: BufferView,
    targets: BufferView,
    ignoreIndex: number,
    gradLoss: BufferView,
    out: BackendBuffer,
  ): void;
  /**
   * SwiGLU's product: out = silu(gate)·up = gate / (1 + exp(−gate)) · up, elementwise over gate and up of one
   * shape (any strides); out contiguous.
   */
  swiglu(gate: BufferView, up: BufferView, out: BackendBuffer): void;
  /**
   * Gradients of swiglu from gradOut (all three views of one shape): gradUp = gradOut·silu(gate),
   * gradGate = gradOut·up·σ(gate)·(1 + gate·(1 − σ(gate))); both contiguous.
   */
  swigluBackward(
    gate: BufferView,
    up: BufferView,
    gradOut: BufferView,
    gradGate: BackendBuffer,
    gradUp: BackendBuffer,
  ): void;
  /** In-place AdamW step over contiguous param, grad, m, v of equal length. */
  adamw(
    param: BackendBuffer,
    grad: BufferView,
    m: BackendBuffer,
    v: BackendBuffer,
    hyperparameters: AdamWHyperparameters,
  ): void;
  /** Index of the largest element along the last axis (first on ties); out int32. x contiguous. */
  argmax(x: BufferView, out: BackendBuffer): void;
  /** k largest along the last axis, descending (stable on ties). x contiguous. */
  topk(x: BufferView, k: number, values: BackendBuffer, indices: BackendBuffer): void;
  /**
   * One category per (row, sample) drawn from unnormalised non-negative weights [rows, classes] by inverse
   * CDF with the given uniforms [rows, samples] in [0, 1); out int32 [rows, samples].
   */
  multinomial(weights: BufferView, uniforms: BufferView, out: BackendBuffer): void;
}

/** Every kernel of the interface. */
export interface Kernels extends PrimitiveKernels, FusedKernels {}

/**
 * A weight W [rows, columns] (PyTorch Linear layout) stored below float32 for inference, in the layout of
 * `quantize.ts`: `data` holds the packed row bytes in int32 words (int8: rows padded to 32 bytes; bf16: rows
 * padded to 8 values), `scales` the int8 format's float32 scale per block of 32 along a row ([rows,
 * ⌈columns/32⌉]; null for bf16).
 */
export interface QuantizedBuffers {
  readonly format: "int8" | "bf16";
  readonly rows: number;
  readonly columns: number;
  readonly data: BackendBuffer;
  readonly scales: BackendBuffer | null;
}

/**
 * Optional kernels for sub-fp32 inference weights. A backend without them gets float32 weights instead (the
 * front end dequantizes once on upload, `quantizeWeight`), so it computes the same values at float32 cost.
 */
export interface QuantizedKernels {
  /**
   * out [rows, n] = x [rows, k] · Wᵀ for x contiguous float32 and W [n, k] as stored: the float32 matmul of x
   * and the dequantized W (on the CPU backend bit for bit, except int8 with one row, which rounds x to int16
   * per block of 32 — a stated bound, see backends/cpu/wasm/quantized.ts).
   */
  matmulQuantized(x: BufferView, weight: QuantizedBuffers, out: BackendBuffer): void;
}

/** What a backend provides: all the primitive kernels, any of the fused and quantized ones. */
export type BackendKernels = PrimitiveKernels & Partial<FusedKernels> & Partial<QuantizedKernels>;

export type PrimitiveKernelName = keyof PrimitiveKernels;
export type FusedKernelName = keyof FusedKernels;
export type KernelName = keyof Kernels;

// Records rather than arrays, so that a kernel added to an interface but not to its list fails `tsc`.
const primitiveKernelSet: Record<PrimitiveKernelName, true> = {
  unary: true,
  binary: true,
  where: true,
  copy: true,
  fill: true,
  reduce: true,
  matmul: true,
  gatherRows: true,
  indexAddRows: true,
  takeAlongLastAxis: true,
  scatterAddAlongLastAxis: true,
};
const fusedKernelSet: Record<FusedKernelName, true> = {
  softmax: true,
  softmaxBackward: true,
  rmsnorm: true,
  rmsnormBackward: true,
  rope: true,
  crossEntropy: true,
  crossEntropyBackward: true,
  swiglu: true,
  swigluBackward: true,
  adamw: true,
  argmax: true,
  topk: true,
  multinomial: true,
};

/** The primitive kernels' names: what a backend must implement. */
export const primitiveKernelNames = Object.keys(primitiveKernelSet) as readonly PrimitiveKernelName[];
/** The fused kernels' names: what a backend may implement for speed. */
export const fusedKernelNames = Object.keys(fusedKernelSet) as readonly FusedKernelName[];
/** Every kernel name of the interface. */
export const kernelNames: readonly KernelName[] = [...primitiveKernelNames, ...fusedKernelNames];

export interface BackendMemoryInfo {
  /** Bytes held by live buffers. */
  bytesInUse: number;
  /** Bytes kept in pools for reuse. */
  bytesPooled: number;
  buffersInUse: number;
}

export interface Backend {
  readonly name: string;
  /** Whether buffers of this dtype can live on this backend. */
  supportsDType(dtype: DType): boolean;
  /** A new buffer; contents undefined unless `zeroed`. */
  allocate(dtype: DType, length: number, zeroed?: boolean): BackendBuffer;
  /** Return a buffer to the backend (pooling is the backend's business). */
  free(buffer: BackendBuffer): void;
  /** Upload host data into a buffer (same dtype, at most its length). */
  write(buffer: BackendBuffer, data: TypedArray): void;
  /** Asynchronous readback of a copy of the whole buffer. */
  read(buffer: BackendBuffer): Promise<TypedArray>;
  /** Synchronous readback; a backend whose data is not host-visible may throw. */
  readSync(buffer: BackendBuffer): TypedArray;
  /**
   * False when `readSync` always refuses (e.g. gpujs on WebGPU): code with a host-side decision in the middle
   * of a computation (MoE routing) then takes a path without readback. Absent means true.
   */
  readonly synchronousReadback?: boolean;
  /**
   * A live typed-array view of a buffer's memory, for backends whose memory the host can address directly
   * (the CPU backend). Kernels written over raw arrays (the attention kernel, `cpuData`) run only where this
   * exists; other code takes a composed path. Absent on device backends.
   */
  hostView?(buffer: BackendBuffer): TypedArray;
  /** Kernel implementations: every primitive kernel, and the fused kernels this backend has. */
  readonly kernels: BackendKernels;
  memory(): BackendMemoryInfo;
}

// biome-ignore lint/suspicious/noExplicitAny: factories declare their own option types
type BackendFactory = (options?: any) => Backend;

const registry = new Map<string, BackendFactory>();
const instances = new Map<string, Backend>();
let currentName = "cpu";

/**
 * Register a backend factory under a name; the factory runs on first use (with the options of
 * `setBackend(name, options)` when given). Re-registering replaces it.
 */
export function registerBackend(name: string, factory: BackendFactory): void {
  registry.set(name, factory);
  instances.delete(name);
}

/**
 * Select the backend new tensors are created on. With `options`, a new instance of that backend is created
 * with them (e.g. `setBackend("gpujs", { mode: "webgl2" })`); existing tensors keep the instance they live on.
 */
export function setBackend(name: string, options?: object): Backend {
  const factory = registry.get(name);
  if (!factory) {
    throw new Error(
      `[backend] no backend named "${name}" is registered (registered: ${[...registry.keys()].join(", ")}); call registerBackend first`,
    );
  }
  if (options !== undefined) instances.set(name, factory(options));
  currentName = name;
  return getBackend(name);
}

/** The backend selected by `setBackend` (default "cpu"), or a named one. */
export function getBackend(name: string = currentName): Backend {
  const existing = instances.get(name);
  if (existing) return existing;
  const factory = registry.get(name);
  if (!factory) {
    throw new Error(
      `[backend] no backend named "${name}" is registered (registered: ${[...registry.keys()].join(", ")}); call registerBackend first`,
    );
  }
  const backend = factory();
  instances.set(name, backend);
  return backend;
}

export function listBackends(): string[] {
  return [...registry.keys()];
}

/** A backend's primitive kernel, or an error naming the kernel and the backend. */
export function kernel<K extends PrimitiveKernelName>(backend: Backend, name: K): PrimitiveKernels[K] {
  const implementation = backend.kernels[name];
  if (!implementation) {
    throw new Error(
      `[backend ${backend.name}] primitive kernel "${name}" is missing; every backend implements all of them (PrimitiveKernels in backend.ts)`,
    );
  }
  return implementation;
}

/** A backend's fused kernel, or undefined where it has none (the caller then runs the composition). */
export function fusedKernel<K extends FusedKernelName>(backend: Backend, name: K): FusedKernels[K] | undefined {
  return backend.kernels[name] as FusedKernels[K] | undefined;
}
