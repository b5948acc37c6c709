/**
 * The Tensor: a strided view (shape, strides, offset, dtype) over reference-counted backend storage, plus
 * its autograd state (requiresGrad, grad, the node that produced it). Views share storage; `dispose()`
 * drops this view's reference. Ops are attached as methods through `installTensorOps` (the op modules
 * import this file, not the other way round, so there is no import cycle).
 * Not here: the ops themselves (ops/), backward traversal (autograd.ts), scopes (memory.ts).
 */
import { type Backend, type BackendBuffer, type BufferView, getBackend, kernel } from "./backend.js";
import { copyOfArray, type DType, type TypedArray } from "./dtype.js";
import { type Trackable, track } from "./memory.js";
import { contiguousStrides, formatShape, isContiguousLayout, shapeSize } from "./shape.js";

/** Reference-counted backend buffer shared by a tensor and its views. */
export class Storage {
  references = 1;
  constructor(
    readonly backend: Backend,
    readonly buffer: BackendBuffer,
  ) {
    liveStorages++;
  }

  retain(): void {
    if (this.references <= 0) throw new Error("[tensor] storage retained after it was freed");
    this.references++;
  }

  release(): void {
    if (this.references <= 0) return;
    this.references--;
    if (this.references === 0) {
      liveStorages--;
      this.backend.free(this.buffer);
    }
  }
}

let liveStorages = 0;
let liveTensors = 0;

/** Safety net only: releases storage of tensors collected without `dispose()`. */
const finalizer = new FinalizationRegistry<Storage>((storage) => {
  liveTensors--;
  reclaimedTensors++;
  storage.release();
});
let reclaimedTensors = 0;

/** Gradient mode: ops record a graph only while enabled. */
const gradMode = { enabled: true };

export function isGradEnabled(): boolean {
  return gradMode.enabled;
}

/** Run `fn` without recording autograd graphs (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradMode.enabled;
  gradMode.enabled = false;
  try {
    return fn();
  } finally {
    gradMode.enabled = previous;
  }
}

/**
 * One recorded op application. Holds its own references to the tensors its backward reads (`saved`), and a
 * reference count: one from its output tensor, one from each node that consumed that output. When the count
 * reaches zero (or backward has run through it) the saved tensors are released.
 */
export class GradNode {
  references = 1;
  private saved: Tensor[];
  private freed = false;
  readonly inputNodes: (GradNode | null)[];

  constructor(
    readonly op: string,
    /** The original inputs (for leaf gradients and traversal). */
    readonly inputs: readonly Tensor[],
    saved: Tensor[],
    private readonly rule: (gradOutput: Tensor, saved: readonly Tensor[]) => (Tensor | null)[],
  ) {
    this.saved = saved;
    this.inputNodes = inputs.map((input) => (input.requiresGrad ? input.node : null));
    for (const node of this.inputNodes) if (node) node.references++;
  }

  get isFreed(): boolean {
    return this.freed;
  }

  backward(gradOutput: Tensor): (Tensor | null)[] {
    if (this.freed) {
      throw new Error(
        `[backward] the graph through "${this.op}" was already freed by an earlier backward(); run the forward pass again`,
      );
    }
    return this.rule(gradOutput, this.saved);
  }

  /** Release what backward needed; the node stays in the graph for reference counting. */
  freeSaved(): void {
    if (this.freed) return;
    this.freed = true;
    for (const tensor of this.saved) tensor.dispose();
    this.saved = [];
  }

  unreference(): void {
    this.references--;
    if (this.references > 0) return;
    this.freeSaved();
    for (const node of this.inputNodes) node?.unreference();
  }
}

export type TensorLike = Tensor | number;
export type NestedArray = number | NestedArray[];

/** The op methods a Tensor forwards to; installed once by the ops module. */
export interface TensorOps {
  add(a: Tensor, b: TensorLike): Tensor;
  sub(a: Tensor, b: TensorLike): Tensor;
  mul(a: Tensor, b: TensorLike): Tensor;
  div(a: Tensor, b: TensorLike): Tensor;
  pow(a: Tensor, b: TensorLike): Tensor;
  maximum(a: Tensor, b: TensorLike): Tensor;
  minimum(a: Tensor, b: TensorLike): Tensor;
  neg(x: Tensor): Tensor;
  exp(x: Tensor): Tensor;
  log(x: Tensor): Tensor;
  sqrt(x: Tensor): Tensor;
  rsqrt(x: Tensor): Tensor;
  square(x: Tensor): Tensor;
  abs(x: Tensor): Tensor;
  sigmoid(x: Tensor): Tensor;
  silu(x: Tensor): Tensor;
  relu(x: Tensor): Tensor;
  tanh(x: Tensor): Tensor;
  equal(a: Tensor, b: TensorLike): Tensor;
  greater(a: Tensor, b: TensorLike): Tensor;
  less(a: Tensor, b: TensorLike): Tensor;
  sum(x: Tensor, axes?: number | readonly number[], keepdim?: boolean): Tensor;
  mean(x: Tensor, axes?: number | readonly number[], keepdim?: boolean): Tensor;
  max(x: Tensor, axes?: number | readonly number[], keepdim?: boolean): Tensor;
  matmul(a: Tensor, b: Tensor): Tensor;
  reshape(x: Tensor, shape: readonly number[]): Tensor;
  transpose(x: Tensor, axis0?: number, axis1?: number): Tensor;
  permute(x: Tensor, axes: readonly number[]): Tensor;
  expand(x: Tensor, shape: readonly number[]): Tensor;
  slice(x: Tensor, starts: readonly number[], ends?: readonly number[]): Tensor;
  squeeze(x: Tensor, axis?: number): Tensor;
  unsqueeze(x: Tensor, axis: number): Tensor;
  flatten(x: Tensor): Tensor;
  contiguous(x: Tensor): Tensor;
  cast(x: Tensor, dtype: DType): Tensor;
  softmax(x: Tensor): Tensor;
  logSoftmax(x: Tensor): Tensor;
  argmax(x: Tensor): Tensor;
  backward(x: Tensor, gradient?: Tensor): void;
}

let tensorOps: TensorOps | null = null;

/** Attach the op implementations behind Tensor's methods (called by the ops module at load). */
export function installTensorOps(ops: TensorOps): void {
  tensorOps = ops;
}

function ops(): TensorOps {
  if (!tensorOps) throw new Error("[tensor] ops are not installed; import from @minimind/tensor's entry point");
  return tensorOps;
}

/**
 * A strided view of backend storage. Create tensors with `tensor()`, `zeros()`, `randn()`, …; the
 * constructor is internal.
 */
export class Tensor implements Trackable {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  /** @internal */
  readonly storage: Storage;
  /** Whether gradients flow to this tensor. Set on leaves (parameters) with `requireGrad()`. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf after `backward()`; owned by this tensor (disposed with `zeroGrad`). */
  grad: Tensor | null = null;
  /** @internal The op that produced this tensor, when recorded. */
  node: GradNode | null = null;
  /** Set by `keep()`. */
  kept = false;
  private isDisposedFlag = false;
  /** Whether the garbage-collection safety net holds this tensor (see memory.ts). */
  private finalizerArmed = false;

  /** @internal */
  constructor(
    storage: Storage,
    shape: readonly number[],
    strides: readonly number[],
    offset: number,
    dtype: DType,
    tracked = true,
  ) {
    this.storage = storage;
    this.shape = shape;
    this.strides = strides;
    this.offset = offset;
    this.dtype = dtype;
    liveTensors++;
    if (!tracked || !track(this)) this.escapeScopes();
  }

  /** @internal Arms the garbage-collection safety net once no scope will dispose this tensor (memory.ts). */
  escapeScopes(): void {
    if (this.finalizerArmed || this.isDisposedFlag) return;
    this.finalizerArmed = true;
    finalizer.register(this, this.storage, this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return shapeSize(this.shape);
  }

  get isDisposed(): boolean {
    return this.isDisposedFlag;
  }

  get backend(): Backend {
    return this.storage.backend;
  }

  /** A leaf that requires grad (no node). */
  get isLeaf(): boolean {
    return this.node === null;
  }

  get isContiguous(): boolean {
    return isContiguousLayout(this.shape, this.strides);
  }

  /** @internal The layout handed to kernels. */
  view(op = "tensor"): BufferView {
    if (this.isDisposedFlag) {
      throw new Error(`[${op}] tensor of shape ${formatShape(this.shape)} was used after dispose()`);
    }
    return { buffer: this.storage.buffer, shape: this.shape, strides: this.strides, offset: this.offset };
  }

  /** Mark this tensor as a trainable leaf and return it. */
  requireGrad(requires = true): this {
    if (requires && this.dtype !== "float32" && this.dtype !== "float64") {
      throw new Error(`[requireGrad] only float tensors can require gradients, got ${this.dtype}`);
    }
    this.requiresGrad = requires;
    return this;
  }

  /** Drop this view's reference to its storage (and its autograd node). Idempotent. */
  dispose(): void {
    if (this.isDisposedFlag) return;
    this.isDisposedFlag = true;
    liveTensors--;
    if (this.finalizerArmed) finalizer.unregister(this);
    this.storage.release();
    if (this.node) this.node.unreference();
    // A disposed leaf's gradient is of no further use.
    this.grad?.dispose();
    this.grad = null;
  }

  /** Dispose the accumulated gradient. */
  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }

  /** A tensor sharing this one's storage, cut from the graph. */
  detach(): Tensor {
    this.view("detach");
    this.storage.retain();
    return new Tensor(this.storage, this.shape, this.strides, this.offset, this.dtype);
  }

  /** @internal Same storage and layout, not tracked by scopes, no node: what autograd saves. */
  alias(): Tensor {
    this.view("alias");
    this.storage.retain();
    return new Tensor(this.storage, this.shape, this.strides, this.offset, this.dtype, false);
  }

  /**
   * A contiguous range of a buffer in host memory (a row slice, a reshape of one) copied out directly, bit for
   * bit; null where the backend has no host memory or the view is strided.
   */
  private contiguousHostCopy(backend: Backend): TypedArray | null {
    if (!this.isContiguous || backend.hostView === undefined) return null;
    const all = backend.hostView(this.storage.buffer);
    return copyOfArray(all.subarray(this.offset, this.offset + this.size));
  }

  /** Synchronous readback of the elements in row-major order (a copy). */
  dataSync(): TypedArray {
    const view = this.view("dataSync");
    const backend = this.storage.backend;
    if (this.isContiguous && this.offset === 0 && this.size === this.storage.buffer.length) {
      return backend.readSync(this.storage.buffer);
    }
    const host = this.contiguousHostCopy(backend);
    if (host !== null) return host;
    const scratch = backend.allocate(this.dtype, this.size);
    try {
      kernel(backend, "copy")(view, denseBufferView(scratch, this.shape));
      return backend.readSync(scratch);
    } finally {
      backend.free(scratch);
    }
  }

  /** Asynchronous readback (the portable way: GPU backends only support this one). */
  async data(): Promise<TypedArray> {
    const view = this.view("data");
    const backend = this.storage.backend;
    if (this.isContiguous && this.offset === 0 && this.size === this.storage.buffer.length) {
      return backend.read(this.storage.buffer);
    }
    const host = this.contiguousHostCopy(backend);
    if (host !== null) return host;
    const scratch = backend.allocate(this.dtype, this.size);
    try {
      kernel(backend, "copy")(view, denseBufferView(scratch, this.shape));
      return await backend.read(scratch);
    } finally {
      backend.free(scratch);
    }
  }

  /** Nested arrays of numbers (a scalar for rank 0). */
  toArray(): NestedArray {
    const flat = this.dataSync();
    const build = (axis: number, start: number): NestedArray => {
      if (axis === this.shape.length) return flat[start];
      const stride = contiguousStrides(this.shape)[axis];
      const result: NestedArray[] = [];
      for (let index = 0; index < this.shape[axis]; index++) result.push(build(axis + 1, start + index * stride));
      return result;
    };
    return build(0, 0);
  }

  /** The single element of a one-element tensor. */
  item(): number {
    if (this.size !== 1)
      throw new Error(`[item] tensor of shape ${formatShape(this.shape)} has ${this.size} elements, expected 1`);
    return this.dataSync()[0];
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)}, ${this.dtype}${this.isDisposedFlag ? ", disposed" : ""})`;
  }

  backward(gradient?: Tensor): void {
    ops().backward(this, gradient);
  }
  add(other: TensorLike): Tensor {
    return ops().add(this, other);
  }
  sub(other: TensorLike): Tensor {
    return ops().sub(this, other);
  }
  mul(other: TensorLike): Tensor {
    return ops().mul(this, other);
  }
  div(other: TensorLike): Tensor {
    return ops().div(this, other);
  }
  pow(exponent: TensorLike): Tensor {
    return ops().pow(this, exponent);
  }
  maximum(other: TensorLike): Tensor {
    return ops().maximum(this, other);
  }
  minimum(other: TensorLike): Tensor {
    return ops().minimum(this, other);
  }
  neg(): Tensor {
    return ops().neg(this);
  }
  exp(): Tensor {
    return ops().exp(this);
  }
  log(): Tensor {
    return ops().log(this);
  }
  sqrt(): Tensor {
    return ops().sqrt(this);
  }
  rsqrt(): Tensor {
    return ops().rsqrt(this);
  }
  square(): Tensor {
    return ops().square(this);
  }
  abs(): Tensor {
    return ops().abs(this);
  }
  sigmoid(): Tensor {
    return ops().sigmoid(this);
  }
  silu(): Tensor {
    return ops().silu(this);
  }
  relu(): Tensor {
    return ops().relu(this);
  }
  tanh(): Tensor {
    return ops().tanh(this);
  }
  equal(other: TensorLike): Tensor {
    return ops().equal(this, other);
  }
  greater(other: TensorLike): Tensor {
    return ops().greater(this, other);
  }
  less(other: TensorLike): Tensor {
    return ops().less(this, other);
  }
  sum(axes?: number | readonly number[], keepdim = false): Tensor {
    return ops().sum(this, axes, keepdim);
  }
  mean(axes?: number | readonly number[], keepdim = false): Tensor {
    return ops().mean(this, axes, keepdim);
  }
  max(axes?: number | readonly number[], keepdim = false): Tensor {
    return ops().max(this, axes, keepdim);
  }
  matmul(other: Tensor): Tensor {
    return ops().matmul(this, other);
  }
  reshape(shape: readonly number[]): Tensor {
    return ops().reshape(this, shape);
  }
  transpose(axis0 = -2, axis1 = -1): Tensor {
    return ops().transpose(this, axis0, axis1);
  }
  permute(axes: readonly number[]): Tensor {
    return ops().permute(this, axes);
  }
  expand(shape: readonly number[]): Tensor {
    return ops().expand(this, shape);
  }
  slice(starts: readonly number[], ends?: readonly number[]): Tensor {
    return ops().slice(this, starts, ends);
  }
  squeeze(axis?: number): Tensor {
    return ops().squeeze(this, axis);
  }
  unsqueeze(axis: number): Tensor {
    return ops().unsqueeze(this, axis);
  }
  flatten(): Tensor {
    return ops().flatten(this);
  }
  contiguous(): Tensor {
    return ops().contiguous(this);
  }
  cast(dtype: DType): Tensor {
    return ops().cast(this, dtype);
  }
  softmax(): Tensor {
    return ops().softmax(this);
  }
  logSoftmax(): Tensor {
    return ops().logSoftmax(this);
  }
  argmax(): Tensor {
    return ops().argmax(this);
  }
}

/** @internal A contiguous view of a whole buffer. */
export function denseBufferView(buffer: BackendBuffer, shape: readonly number[]): BufferView {
  return { buffer, shape, strides: contiguousStrides(shape), offset: 0 };
}

/** @internal A fresh contiguous tensor on `backend` (default: the current one). */
export function emptyTensor(
  shape: readonly number[],
  dtype: DType,
  backend: Backend = getBackend(),
  zeroed = false,
): Tensor {
  const size = shapeSize(shape);
  const buffer = backend.allocate(dtype, size, zeroed);
  return new Tensor(new Storage(backend, buffer), [...shape], contiguousStrides(shape), 0, dtype);
}

/** @internal A new view of `base`'s storage. */
export function viewOf(base: Tensor, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  base.view("view");
  base.storage.retain();
  return new Tensor(base.storage, shape, strides, offset, base.dtype);
}

export interface MemoryInfo {
  /** Tensor objects not yet disposed (views and autograd's saved references included). */
  tensors: number;
  /** Distinct storages alive. */
  storages: number;
  /**
   * Tensors that were never disposed and were reclaimed by the garbage collector instead (a leak that the
   * safety net caught; it should stay 0 in code that uses scopes or dispose()).
   */
  reclaimedByGarbageCollector: number;
  /** The current backend's buffer accounting. */
  backend: { name: string; bytesInUse: number; bytesPooled: number; buffersInUse: number };
}

export function memory(): MemoryInfo {
  const backend = getBackend();
  return {
    tensors: liveTensors,
    storages: liveStorages,
    reclaimedByGarbageCollector: reclaimedTensors,
    backend: { name: backend.name, ...backend.memory() },
  };
}
