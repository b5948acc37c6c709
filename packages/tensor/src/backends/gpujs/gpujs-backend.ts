/**
 * The gpu.js backend: every kernel of the backend interface as a gpu.js kernel (`sources.ts`), on whichever
 * gpu.js mode the caller asks for — `webgl2`, `webgl`, `headlessgl` (textures), `webgpu` (storage buffers),
 * `webasm` or `cpu` (typed arrays) — with the CPU backend as the oracle the conformance suite holds it to.
 *
 * Data stays on the device between kernels: kernels run with `pipeline: true, immutable: true`, so each call
 * returns a fresh device value (a texture, a WebGPU buffer, or a typed array on the CPU-side modes) that the
 * output buffer adopts; `free` deletes it at once, so device memory follows the tensors' lifetimes exactly.
 * Readback happens only in `read`/`readSync` (counted in `readbacks`, which tests assert on).
 *
 * WebGPU kernel calls return Promises; in that mode every device operation (kernel, upload, free, read) joins
 * one ordered queue, so the synchronous kernel interface still holds and `read` resolves after the work it
 * depends on. `readSync` is refused there with the reason.
 *
 * Storage is float32 on every mode: int32 and bool tensors are stored as floats and are exact below 2^24,
 * which `allocate` enforces; float64 is not supported (use the CPU backend for gradient checks).
 * Device kernels cannot throw: indices out of range and invalid multinomial weights are not diagnosed here
 * (the CPU backend diagnoses them).
 */
import type {
  AdamWHyperparameters,
  Backend,
  BackendBuffer,
  BackendMemoryInfo,
  BinaryOp,
  BufferView,
  Kernels,
  ReduceOp,
  UnaryOp,
} from "../../backend.js";
import type { DType, TypedArray } from "../../dtype.js";
import * as sources from "./sources.js";

export type GpuJsMode = "gpu" | "webgl2" | "webgl" | "webgpu" | "headlessgl" | "webasm" | "cpu";

export const gpuJsModes: readonly GpuJsMode[] = ["gpu", "webgl2", "webgl", "webgpu", "headlessgl", "webasm", "cpu"];

/** The parts of gpu.js's API this backend uses (so the module can be injected, e.g. a browser build). */
interface GpuJsKernel {
  (...args: unknown[]): unknown;
  setOutput(output: number[]): unknown;
  destroy?(removeCanvasReferences?: boolean): void;
  kernel?: { constructor: { mode?: string } };
}

interface GpuJsInstance {
  mode: string;
  Kernel?: { name?: string; mode?: string };
  createKernel(source: string, settings: Record<string, unknown>): GpuJsKernel;
  destroy(): Promise<void> | void;
}

export interface GpuJsConstructor {
  new (settings: { mode?: string }): GpuJsInstance;
  isHeadlessGLSupported?: boolean;
  isWebGLSupported?: boolean;
  isWebGL2Supported?: boolean;
  isWebGPUSupported?: boolean;
  isWebAssemblySupported?: boolean;
  isSinglePrecisionSupported?: boolean;
}

export interface GpuJsBackendOptions {
  /** gpu.js mode; default "gpu" (gpu.js picks the best available). */
  mode?: GpuJsMode;
}

/** Largest element count of one tensor: indices are float32 on the device, exact below 2^24. */
export const MAX_ELEMENTS = 2 ** 24;

/** A device value: a gpu.js Texture / WebGPU buffer result (with toArray/delete) or a typed array. */
type DeviceValue = { toArray(): unknown; delete(): void } | Float32Array;

function isDeviceObject(value: DeviceValue): value is { toArray(): unknown; delete(): void } {
  return !(value instanceof Float32Array);
}

export class GpuJsBuffer implements BackendBuffer {
  readonly backend = "gpujs";
  readonly dtype: DType;
  readonly length: number;
  /** The current device value; null until written or computed (or for zero-length buffers). */
  value: DeviceValue | null = null;
  freed = false;
  /** The backend instance (one gpu.js context) whose device holds this buffer. */
  readonly owner: object;

  constructor(owner: object, dtype: DType, length: number) {
    this.owner = owner;
    this.dtype = dtype;
    this.length = length;
  }
}

function asGpu(buffer: BackendBuffer, role: string, owner?: object): GpuJsBuffer {
  if (!(buffer instanceof GpuJsBuffer)) {
    throw new Error(
      `[gpujs] ${role} buffer belongs to backend "${buffer.backend}"; create the tensor on the gpujs backend (or copy it there) first`,
    );
  }
  if (buffer.freed) throw new Error(`[gpujs] ${role} buffer used after it was freed`);
  if (owner && buffer.owner !== owner) {
    throw new Error(`[gpujs] ${role} buffer lives on another gpujs backend instance (another mode or context)`);
  }
  return buffer;
}

function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const dimension of shape) size *= dimension;
  return size;
}

function kindOf(dtype: DType): number {
  return dtype === "int32" ? 1 : dtype === "bool" ? 2 : 0;
}

function isContiguous(view: BufferView): boolean {
  let expected = 1;
  for (let axis = view.shape.length - 1; axis >= 0; axis--) {
    if (view.shape[axis] !== 1 && view.strides[axis] !== expected) return false;
    expected *= view.shape[axis];
  }
  return true;
}

/**
 * Merge adjacent axes that every operand walks contiguously and drop size-1 axes, so most layouts fit in
 * MAX_RANK dims. Returns dims (outermost first) and per-operand strides.
 */
function collapse(shape: readonly number[], stridesList: readonly (readonly number[])[]) {
  const dims: number[] = [];
  const strides: number[][] = stridesList.map(() => []);
  for (let axis = 0; axis < shape.length; axis++) {
    const dimension = shape[axis];
    if (dimension === 1) continue;
    const last = dims.length - 1;
    const mergeable =
      last >= 0 && stridesList.every((operand, index) => strides[index][last] === operand[axis] * dimension);
    if (mergeable) {
      dims[last] *= dimension;
      stridesList.forEach((operand, index) => {
        strides[index][last] = operand[axis];
      });
    } else {
      dims.push(dimension);
      stridesList.forEach((operand, index) => {
        strides[index].push(operand[axis]);
      });
    }
  }
  return { dims, strides };
}

/** Kernel arguments for dims + operand strides padded to MAX_RANK (outer axes padded with size 1). */
function stridedArguments(
  shape: readonly number[],
  operands: readonly BufferView[],
  op: string,
): { dims: number[]; operandArgs: number[][] } {
  const { dims, strides } = collapse(
    shape,
    operands.map((view) => view.strides),
  );
  if (dims.length > sources.MAX_RANK) {
    throw new Error(
      `[gpujs] ${op}: a layout of rank ${dims.length} after merging contiguous axes exceeds the supported ${sources.MAX_RANK}; make the tensor contiguous first`,
    );
  }
  const pad = sources.MAX_RANK - dims.length;
  const paddedDims = [...new Array<number>(pad).fill(1), ...dims];
  const operandArgs = operands.map((view, index) => [
    view.offset,
    ...new Array<number>(pad).fill(0),
    ...strides[index],
  ]);
  return { dims: paddedDims, operandArgs };
}

export class GpuJsBackend implements Backend {
  readonly name = "gpujs";
  /** The mode that was asked for. */
  readonly requestedMode: GpuJsMode;
  /** The mode gpu.js actually runs (for "gpu", the one it picked). */
  readonly mode: string;
  /** Readbacks so far (every `read`/`readSync`); kernels never read back. */
  readbacks = 0;
  /** Kernel launches so far. */
  launches = 0;
  /** Device values alive (textures / buffers / arrays owned by live buffers). */
  deviceValues = 0;
  /** Largest tensor (elements) this backend holds: 2^24, or less where the GL texture limit is smaller. */
  readonly maxElements: number;
  /** GL modes: the context's MAX_TEXTURE_SIZE. */
  maxTextureSize: number | null = null;
  readonly kernels: Kernels;
  /** False on WebGPU, where readback is asynchronous only. */
  readonly synchronousReadback: boolean;
  private readonly gpu: GpuJsInstance;
  private readonly compiled = new Map<string, GpuJsKernel>();
  private readonly asynchronous: boolean;
  private queue: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private bytes = 0;
  private buffers = 0;

  constructor(GPU: GpuJsConstructor, options: GpuJsBackendOptions = {}) {
    const mode = options.mode ?? "gpu";
    if (!gpuJsModes.includes(mode)) {
      throw new Error(`[gpujs] unknown mode "${mode}"; expected one of ${gpuJsModes.join(", ")}`);
    }
    this.requestedMode = mode;
    const unavailable = unavailableReason(GPU, mode);
    if (unavailable) throw new Error(`[gpujs] mode "${mode}" is unavailable here: ${unavailable}`);
    try {
      this.gpu = new GPU({ mode });
    } catch (error) {
      throw new Error(`[gpujs] mode "${mode}" is unavailable here: gpu.js said "${(error as Error).message}"`);
    }
    this.mode = mode === "gpu" ? actualMode(this.gpu) : this.gpu.mode;
    this.asynchronous = this.mode === "webgpu";
    this.synchronousReadback = !this.asynchronous;
    this.kernels = this.createKernels();
    this.maxElements = MAX_ELEMENTS;
    if (this.mode === "webgl" || this.mode === "webgl2" || this.mode === "headlessgl") {
      // One tiny kernel now: proves the context works (a failure names the mode) and gives the texture limit.
      try {
        const probe = this.launchNow("fill", sources.fillSource, 1, [0]) as DeviceValue;
        if (isDeviceObject(probe)) probe.delete();
      } catch (error) {
        throw new Error(
          `[gpujs] mode "${mode}" is unavailable here: its first kernel failed: ${(error as Error).message}`,
        );
      }
      const context = (this.gpu as { context?: { getParameter(name: number): unknown; MAX_TEXTURE_SIZE: number } })
        .context;
      const side = Number(context?.getParameter(context.MAX_TEXTURE_SIZE));
      if (Number.isFinite(side) && side > 0) {
        this.maxTextureSize = side;
        // A 1-D tensor of n elements is laid out in a texture of about √n × √n texels.
        this.maxElements = Math.min(MAX_ELEMENTS, side * side);
      }
    }
  }

  supportsDType(dtype: DType): boolean {
    return dtype === "float32" || dtype === "int32" || dtype === "bool";
  }

  allocate(dtype: DType, length: number, zeroed = false): BackendBuffer {
    if (!this.supportsDType(dtype)) {
      throw new Error(`[gpujs] dtype ${dtype} is not supported on the gpujs backend (float32, int32 and bool are)`);
    }
    if (length > this.maxElements) {
      const why =
        this.maxElements < MAX_ELEMENTS
          ? `this device's texture limit (MAX_TEXTURE_SIZE ${this.maxTextureSize}²)`
          : "2^24: device indices are float32";
      throw new Error(
        `[gpujs] a tensor of ${length} elements exceeds the gpujs backend's limit of ${this.maxElements} (${why}); split it`,
      );
    }
    const buffer = new GpuJsBuffer(this, dtype, length);
    this.bytes += length * 4;
    this.buffers++;
    if (zeroed) this.fill(buffer, 0);
    return buffer;
  }

  free(buffer: BackendBuffer): void {
    const gpu = asGpu(buffer, "freed");
    gpu.freed = true;
    this.bytes -= gpu.length * 4;
    this.buffers--;
    this.schedule(() => this.release(gpu));
  }

  write(buffer: BackendBuffer, data: TypedArray): void {
    const target = asGpu(buffer, "written");
    // A snapshot (the caller may reuse its array before WebGPU's queue uploads it), as float32 storage.
    const copy = new Float32Array(target.length);
    copy.set(data as ArrayLike<number>);
    this.schedule(() => {
      if (target.length === 0) return;
      if (!this.onDevice()) return this.adopt(target, copy);
      return settle(this.launchNow("upload", sources.uploadSource, target.length, [copy]), (value) =>
        this.adopt(target, value),
      );
    });
  }

  async read(buffer: BackendBuffer): Promise<TypedArray> {
    const source = asGpu(buffer, "read");
    if (!this.asynchronous) return this.readSync(source);
    this.readbacks++;
    let values: Float32Array = new Float32Array(0);
    this.schedule(async () => {
      values = await this.download(source);
    });
    await this.queue;
    this.throwFailure();
    return this.convert(source, values);
  }

  readSync(buffer: BackendBuffer): TypedArray {
    const source = asGpu(buffer, "read");
    if (this.asynchronous) {
      throw new Error(
        `[gpujs] synchronous readback is impossible in mode "${this.mode}" (WebGPU reads back asynchronously); use await tensor.data()`,
      );
    }
    this.readbacks++;
    if (source.length === 0 || !source.value) return this.convert(source, new Float32Array(source.length));
    const raw = isDeviceObject(source.value) ? source.value.toArray() : source.value;
    return this.convert(source, flatten(raw as ArrayLike<number>, source.length));
  }

  /**
   * The gpu.js kernel classes that actually ran this backend's kernels (gpu.js can silently degrade a kernel
   * to its CPU implementation; tests assert this is exactly the requested mode's class).
   */
  kernelClasses(): string[] {
    const names = new Set<string>();
    for (const compiled of this.compiled.values()) {
      const name = (compiled.kernel as { constructor?: { name?: string } } | undefined)?.constructor?.name;
      names.add(name ? (modeOfKernelClass[name] ?? name) : "unbuilt");
    }
    return [...names].sort();
  }

  memory(): BackendMemoryInfo {
    return { bytesInUse: this.bytes, bytesPooled: 0, buffersInUse: this.buffers };
  }

  /** Release every compiled kernel and the gpu.js instance. */
  async destroy(): Promise<void> {
    await this.queue.catch(() => undefined);
    this.compiled.clear();
    await this.gpu.destroy();
  }

  // ---- device plumbing ----

  private onDevice(): boolean {
    return this.mode !== "cpu" && this.mode !== "webasm";
  }

  private schedule(work: () => void | Promise<void>): void {
    if (!this.asynchronous) {
      if (this.failure) this.throwFailure();
      if (work() instanceof Promise) throw new Error("[gpujs] internal: asynchronous work in a synchronous mode");
      return;
    }
    this.queue = this.queue.then(async () => {
      if (this.failure) return;
      try {
        await work();
      } catch (error) {
        this.failure = error;
      }
    });
  }

  private throwFailure(): void {
    if (this.failure) {
      const error = this.failure;
      this.failure = null;
      throw error instanceof Error ? error : new Error(String(error));
    }
  }

  private release(buffer: GpuJsBuffer): void {
    if (buffer.value) {
      if (isDeviceObject(buffer.value)) buffer.value.delete();
      buffer.value = null;
      this.deviceValues--;
    }
  }

  private adopt(buffer: GpuJsBuffer, value: unknown): void {
    this.release(buffer);
    buffer.value = value as DeviceValue;
    this.deviceValues++;
  }

  private async download(buffer: GpuJsBuffer): Promise<Float32Array> {
    if (buffer.length === 0 || !buffer.value) return new Float32Array(buffer.length);
    const raw = isDeviceObject(buffer.value) ? await buffer.value.toArray() : buffer.value;
    return flatten(raw as ArrayLike<number>, buffer.length);
  }

  private convert(buffer: GpuJsBuffer, values: Float32Array): TypedArray {
    if (buffer.dtype === "float32") return values.slice(0, buffer.length);
    if (buffer.dtype === "int32") return Int32Array.from(values.subarray(0, buffer.length), Math.round);
    return Uint8Array.from(values.subarray(0, buffer.length), (value) => (value !== 0 ? 1 : 0));
  }

  private kernel(key: string, source: string): GpuJsKernel {
    let compiled = this.compiled.get(key);
    if (!compiled) {
      compiled = this.gpu.createKernel(source, {
        output: [1],
        pipeline: true,
        immutable: true,
        dynamicOutput: true,
        dynamicArguments: true,
        precision: "single",
        tactic: "precision",
        loopMaxIterations: MAX_ELEMENTS,
      });
      this.compiled.set(key, compiled);
    }
    return compiled;
  }

  /** Run a kernel now (inside scheduled work) and return its device value. */
  private launchNow(key: string, source: string, length: number, args: unknown[]): unknown {
    const compiled = this.kernel(key, source);
    compiled.setOutput([length]);
    this.launches++;
    return compiled(...args);
  }

  /**
   * Schedule a kernel whose arguments may name buffers (resolved to their device values when it runs) and
   * whose result becomes `out`'s value.
   */
  private launch(
    key: string,
    source: string,
    out: GpuJsBuffer,
    args: readonly (GpuJsBuffer | number)[],
    length = out.length,
  ): void {
    if (length === 0) return;
    this.schedule(() => {
      const resolved = args.map((arg) => {
        if (typeof arg === "number") return arg;
        // `freed` is set when free() is called; on WebGPU the release itself is queued behind this kernel, so
        // what matters here is whether the value is still present.
        if (!arg.value) {
          throw new Error(`[gpujs] ${key}: an input buffer of ${arg.length} ${arg.dtype} elements was never written`);
        }
        return arg.value;
      });
      return settle(this.launchNow(key, source, length, resolved), (value) => this.adopt(out, value));
    });
  }

  /** A temporary buffer for intermediate results (row statistics); freed by the caller via `dispose`. */
  private temporary(length: number): GpuJsBuffer {
    return new GpuJsBuffer(this, "float32", length);
  }

  private dispose(buffer: GpuJsBuffer): void {
    buffer.freed = true;
    this.schedule(() => this.release(buffer));
  }

  private zeros(length: number): unknown {
    return this.launchNow("fill", sources.fillSource, Math.max(length, 1), [0]);
  }

  private fill(out: BackendBuffer, value: number): void {
    const target = asGpu(out, "output");
    this.launch("fill", sources.fillSource, target, [value]);
  }

  /** The operand as a contiguous buffer plus element offset: views that aren't contiguous get a copy. */
  private contiguous(view: BufferView, role: string): { buffer: GpuJsBuffer; offset: number; owned: boolean } {
    const buffer = asGpu(view.buffer, role);
    if (isContiguous(view)) return { buffer, offset: view.offset, owned: false };
    const copy = this.temporary(sizeOf(view.shape));
    this.copyDense(view, copy, buffer.dtype);
    return { buffer: copy, offset: 0, owned: true };
  }

  private done(...operands: { buffer: GpuJsBuffer; owned: boolean }[]): void {
    for (const operand of operands) if (operand.owned) this.dispose(operand.buffer);
  }

  private copyDense(x: BufferView, out: GpuJsBuffer, dtype: DType): void {
    const { dims, operandArgs } = stridedArguments(x.shape, [x], "copy");
    this.launch("copy", sources.copySource, out, [asGpu(x.buffer, "input"), ...dims, ...operandArgs[0], kindOf(dtype)]);
  }

  /** Row max and Σ exp(x − max) of a contiguous operand, as two temporaries the caller disposes. */
  private rowStats(source: { buffer: GpuJsBuffer; offset: number }, rows: number, width: number) {
    const maximum = this.temporary(rows);
    const sum = this.temporary(rows);
    this.launch("rowMax", sources.rowMaxSource, maximum, [source.buffer, source.offset, width]);
    this.launch("rowSumExp", sources.rowSumExpSource, sum, [source.buffer, maximum, source.offset, width]);
    return { maximum, sum };
  }

  private rowsAndWidth(shape: readonly number[]): { rows: number; width: number } {
    const width = shape.length === 0 ? 1 : shape[shape.length - 1];
    return { rows: width === 0 ? 0 : sizeOf(shape) / width, width };
  }

  private createKernels(): Kernels {
    return {
      unary: (op: UnaryOp, x, out) => {
        const target = asGpu(out, "output");
        const { dims, operandArgs } = stridedArguments(x.shape, [x], op);
        this.launch(`unary:${op}`, sources.unarySource(op), target, [
          asGpu(x.buffer, "input"),
          ...dims,
          ...operandArgs[0],
          kindOf(target.dtype),
        ]);
      },
      binary: (op: BinaryOp, a, b, out) => {
        const target = asGpu(out, "output");
        const { dims, operandArgs } = stridedArguments(a.shape, [a, b], op);
        this.launch(`binary:${op}`, sources.binarySource(op), target, [
          asGpu(a.buffer, "left"),
          asGpu(b.buffer, "right"),
          ...dims,
          ...operandArgs[0],
          ...operandArgs[1],
          kindOf(target.dtype),
        ]);
      },
      where: (condition, a, b, out) => {
        const target = asGpu(out, "output");
        const { dims, operandArgs } = stridedArguments(a.shape, [condition, a, b], "where");
        this.launch("where", sources.whereSource, target, [
          asGpu(condition.buffer, "condition"),
          asGpu(a.buffer, "left"),
          asGpu(b.buffer, "right"),
          ...dims,
          ...operandArgs[0],
          ...operandArgs[1],
          ...operandArgs[2],
          kindOf(target.dtype),
        ]);
      },
      copy: (x, out) => {
        const target = asGpu(out.buffer, "output");
        const size = sizeOf(out.shape);
        if (size === 0) return;
        if (isContiguous(out) && out.offset === 0 && size === target.length) {
          this.copyDense(x, target, target.dtype);
          return;
        }
        this.copyInto(x, out, target);
      },
      fill: (out, value) => this.fill(out, value),
      reduce: (op: ReduceOp, x, axes, out) => {
        const target = asGpu(out, "output");
        // Move the reduced axes last (a view, no copy) and make it contiguous: then each output element is
        // one contiguous row.
        const kept = x.shape.map((_, axis) => axis).filter((axis) => !axes.includes(axis));
        const order = [...kept, ...axes];
        const permuted: BufferView = {
          buffer: x.buffer,
          shape: order.map((axis) => x.shape[axis]),
          strides: order.map((axis) => x.strides[axis]),
          offset: x.offset,
        };
        const inner = axes.reduce((product, axis) => product * x.shape[axis], 1);
        const source = this.contiguous(permuted, "input");
        if (inner === 0) {
          this.fill(target, op === "sum" ? 0 : Number.NEGATIVE_INFINITY);
        } else {
          this.launch(`reduce:${op}`, sources.reduceRowsSource(op), target, [source.buffer, source.offset, inner]);
        }
        this.done(source);
      },
      matmul: (a, b, out) => this.matmul(a, b, asGpu(out, "output")),
      gatherRows: (table, indices, out) => {
        const source = this.contiguous(table, "table");
        const index = this.contiguous(indices, "indices");
        this.launch("gatherRows", sources.gatherRowsSource, asGpu(out, "output"), [
          source.buffer,
          index.buffer,
          source.offset,
          index.offset,
          table.shape[1],
        ]);
        this.done(source, index);
      },
      indexAddRows: (out, indices, source) => {
        const target = asGpu(out, "output");
        const index = this.contiguous(indices, "indices");
        const values = this.contiguous(source, "source");
        const width = source.shape[source.shape.length - 1];
        this.launch("indexAddRows", sources.indexAddRowsSource, target, [
          target,
          index.buffer,
          values.buffer,
          index.offset,
          values.offset,
          width,
          sizeOf(indices.shape),
        ]);
        this.done(index, values);
      },
      takeAlongLastAxis: (x, indices, out) => {
        const source = this.contiguous(x, "input");
        const index = this.contiguous(indices, "indices");
        const { width } = this.rowsAndWidth(x.shape);
        this.launch("takeAlongLastAxis", sources.takeAlongSource, asGpu(out, "output"), [
          source.buffer,
          index.buffer,
          source.offset,
          index.offset,
          width,
          indices.shape[indices.shape.length - 1],
        ]);
        this.done(source, index);
      },
      scatterAddAlongLastAxis: (out, indices, source) => {
        const target = asGpu(out, "output");
        const index = this.contiguous(indices, "indices");
        const values = this.contiguous(source, "source");
        const { rows, width: picks } = this.rowsAndWidth(source.shape);
        this.launch("scatterAddAlongLastAxis", sources.scatterAddAlongSource, target, [
          target,
          index.buffer,
          values.buffer,
          index.offset,
          values.offset,
          rows === 0 ? 1 : target.length / rows,
          picks,
        ]);
        this.done(index, values);
      },
      softmax: (x, out, log) => {
        const source = this.contiguous(x, "input");
        const { rows, width } = this.rowsAndWidth(x.shape);
        const stats = this.rowStats(source, rows, width);
        this.launch("softmaxFromStats", sources.softmaxFromStatsSource, asGpu(out, "output"), [
          source.buffer,
          stats.maximum,
          stats.sum,
          source.offset,
          width,
          log ? 1 : 0,
        ]);
        this.dispose(stats.maximum);
        this.dispose(stats.sum);
        this.done(source);
      },
      softmaxBackward: (y, gradY, out, log) => {
        const output = this.contiguous(y, "output");
        const gradient = this.contiguous(gradY, "gradient");
        const { rows, width } = this.rowsAndWidth(y.shape);
        const dot = this.temporary(rows);
        const args = [output.buffer, gradient.buffer, output.offset, gradient.offset, width, log ? 1 : 0];
        this.launch("softmaxBackwardRow", sources.softmaxBackwardRowSource, dot, args);
        this.launch("softmaxBackward", sources.softmaxBackwardSource, asGpu(out, "output"), [
          output.buffer,
          gradient.buffer,
          dot,
          output.offset,
          gradient.offset,
          width,
          log ? 1 : 0,
        ]);
        this.dispose(dot);
        this.done(output, gradient);
      },
      rmsnorm: (x, weight, epsilon, out) => {
        const source = this.contiguous(x, "input");
        const scale = this.contiguous(weight, "weight");
        const { rows, width } = this.rowsAndWidth(x.shape);
        const inverse = this.temporary(rows);
        this.launch("rmsInverse", sources.rmsInverseSource, inverse, [source.buffer, source.offset, width, epsilon]);
        this.launch("rmsnormApply", sources.rmsnormApplySource, asGpu(out, "output"), [
          source.buffer,
          inverse,
          scale.buffer,
          source.offset,
          scale.offset,
          width,
        ]);
        this.dispose(inverse);
        this.done(source, scale);
      },
      rmsnormBackward: (x, weight, gradY, epsilon, gradX, gradWeight) => {
        const source = this.contiguous(x, "input");
        const scale = this.contiguous(weight, "weight");
        const gradient = this.contiguous(gradY, "gradient");
        const { rows, width } = this.rowsAndWidth(x.shape);
        const inverse = this.temporary(rows);
        const dot = this.temporary(rows);
        this.launch("rmsInverse", sources.rmsInverseSource, inverse, [source.buffer, source.offset, width, epsilon]);
        this.launch("rmsnormRowDot", sources.rmsnormRowDotSource, dot, [
          source.buffer,
          scale.buffer,
          gradient.buffer,
          source.offset,
          scale.offset,
          gradient.offset,
          width,
        ]);
        this.launch("rmsnormGradX", sources.rmsnormGradXSource, asGpu(gradX, "gradX"), [
          source.buffer,
          scale.buffer,
          gradient.buffer,
          inverse,
          dot,
          source.offset,
          scale.offset,
          gradient.offset,
          width,
        ]);
        const weightTarget = asGpu(gradWeight, "gradWeight");
        if (rows === 0) this.fill(weightTarget, 0);
        else {
          this.launch("rmsnormGradWeight", sources.rmsnormGradWeightSource, weightTarget, [
            source.buffer,
            gradient.buffer,
            inverse,
            source.offset,
            gradient.offset,
            width,
            rows,
          ]);
        }
        this.dispose(inverse);
        this.dispose(dot);
        this.done(source, scale, gradient);
      },
      rope: (x, cos, sin, rowsPerPosition, inverse, out) => {
        const source = this.contiguous(x, "input");
        const cosine = this.contiguous(cos, "cos");
        const sine = this.contiguous(sin, "sin");
        const { width } = this.rowsAndWidth(x.shape);
        this.launch("rope", sources.ropeSource, asGpu(out, "output"), [
          source.buffer,
          cosine.buffer,
          sine.buffer,
          source.offset,
          cosine.offset,
          sine.offset,
          width,
          cos.shape[0],
          rowsPerPosition,
          inverse ? 1 : 0,
        ]);
        this.done(source, cosine, sine);
      },
      crossEntropy: (logits, targets, ignoreIndex, out) => {
        const source = this.contiguous(logits, "logits");
        const labels = this.contiguous(targets, "targets");
        const { rows, width } = this.rowsAndWidth(logits.shape);
        const target = asGpu(out, "output");
        if (rows === 0) {
          this.fill(target, 0);
          this.done(source, labels);
          return;
        }
        const stats = this.rowStats(source, rows, width);
        this.launch("crossEntropyLoss", sources.crossEntropyLossSource, target, [
          source.buffer,
          labels.buffer,
          stats.maximum,
          stats.sum,
          source.offset,
          labels.offset,
          width,
          rows,
          ignoreIndex,
        ]);
        this.dispose(stats.maximum);
        this.dispose(stats.sum);
        this.done(source, labels);
      },
      crossEntropyBackward: (logits, targets, ignoreIndex, gradLoss, out) => {
        const source = this.contiguous(logits, "logits");
        const labels = this.contiguous(targets, "targets");
        const { rows, width } = this.rowsAndWidth(logits.shape);
        const stats = this.rowStats(source, rows, width);
        const kept = this.temporary(1);
        this.launch("keptRows", sources.keptRowsSource, kept, [labels.buffer, labels.offset, rows, ignoreIndex]);
        this.launch("crossEntropyBackward", sources.crossEntropyBackwardSource, asGpu(out, "output"), [
          source.buffer,
          labels.buffer,
          stats.maximum,
          stats.sum,
          kept,
          asGpu(gradLoss.buffer, "gradLoss"),
          source.offset,
          labels.offset,
          gradLoss.offset,
          width,
          ignoreIndex,
        ]);
        this.dispose(stats.maximum);
        this.dispose(stats.sum);
        this.dispose(kept);
        this.done(source, labels);
      },
      adamw: (param, grad, m, v, hyper: AdamWHyperparameters) => {
        const parameter = asGpu(param, "param");
        const gradient = this.contiguous(grad, "grad");
        const first = asGpu(m, "m");
        const second = asGpu(v, "v");
        const { learningRate, beta1, beta2, epsilon, weightDecay, step } = hyper;
        this.launch("adamMoment", sources.adamMomentSource, first, [first, gradient.buffer, gradient.offset, beta1, 0]);
        this.launch("adamMoment", sources.adamMomentSource, second, [
          second,
          gradient.buffer,
          gradient.offset,
          beta2,
          1,
        ]);
        this.launch("adamParam", sources.adamParamSource, parameter, [
          parameter,
          first,
          second,
          1 - learningRate * weightDecay,
          learningRate / (1 - beta1 ** step),
          1 / Math.sqrt(1 - beta2 ** step),
          epsilon,
        ]);
        this.done(gradient);
      },
      argmax: (x, out) => {
        const source = this.contiguous(x, "input");
        const { width } = this.rowsAndWidth(x.shape);
        this.launch("argmax", sources.argmaxSource, asGpu(out, "output"), [source.buffer, source.offset, width]);
        this.done(source);
      },
      topk: (x, k, values, indices) => {
        const source = this.contiguous(x, "input");
        const { width } = this.rowsAndWidth(x.shape);
        const indexTarget = asGpu(indices, "indices");
        this.launch("topkIndex", sources.topkIndexSource, indexTarget, [source.buffer, source.offset, width, k]);
        this.launch("takeAlongLastAxis", sources.takeAlongSource, asGpu(values, "values"), [
          source.buffer,
          indexTarget,
          source.offset,
          0,
          width,
          k,
        ]);
        this.done(source);
      },
      multinomial: (weights, uniforms, out) => {
        const source = this.contiguous(weights, "weights");
        const draws = this.contiguous(uniforms, "uniforms");
        const { width } = this.rowsAndWidth(weights.shape);
        this.launch("multinomial", sources.multinomialSource, asGpu(out, "output"), [
          source.buffer,
          draws.buffer,
          source.offset,
          draws.offset,
          width,
          uniforms.shape[uniforms.shape.length - 1],
        ]);
        this.done(source, draws);
      },
    };
  }

  private copyInto(x: BufferView, out: BufferView, target: GpuJsBuffer): void {
    // Axes of the destination view by decreasing stride (size-1 axes dropped): the kernel inverts the
    // destination layout from the outermost axis in.
    const axes = out.shape
      .map((_, axis) => axis)
      .filter((axis) => out.shape[axis] !== 1)
      .sort((p, q) => out.strides[q] - out.strides[p]);
    if (axes.length > sources.MAX_RANK) {
      throw new Error(`[gpujs] copy: a destination view of rank ${axes.length} exceeds ${sources.MAX_RANK}`);
    }
    for (const axis of axes) {
      if (out.strides[axis] <= 0) {
        throw new Error("[gpujs] copy: the destination view must have positive strides (no broadcast writes)");
      }
    }
    const pad = sources.MAX_RANK - axes.length;
    const dims = [...new Array<number>(pad).fill(1), ...axes.map((axis) => out.shape[axis])];
    const outStrides = [...new Array<number>(pad).fill(MAX_ELEMENTS), ...axes.map((axis) => out.strides[axis])];
    const xStrides = [...new Array<number>(pad).fill(0), ...axes.map((axis) => x.strides[axis])];
    const previous = this.temporary(target.length);
    // The kernel reads the old contents and writes a whole new value: swap the old value into `previous`.
    this.schedule(() => {
      if (target.value) {
        previous.value = target.value;
        target.value = null;
        return;
      }
      return settle(this.zeros(target.length), (value) => {
        previous.value = value as DeviceValue;
        this.deviceValues++;
      });
    });
    this.launch(
      "copyInto",
      sources.copyIntoSource,
      target,
      [
        asGpu(x.buffer, "input"),
        previous,
        out.offset,
        x.offset,
        ...dims,
        ...outStrides,
        ...xStrides,
        kindOf(target.dtype),
      ],
      target.length,
    );
    this.dispose(previous);
  }

  private matmul(a: BufferView, b: BufferView, out: GpuJsBuffer): void {
    const rankA = a.shape.length;
    const rankB = b.shape.length;
    const m = a.shape[rankA - 2];
    const k = a.shape[rankA - 1];
    const n = b.shape[rankB - 1];
    const batchRank = Math.max(rankA, rankB) - 2;
    const batch: number[] = [];
    const stridesA: number[] = [];
    const stridesB: number[] = [];
    for (let axis = 0; axis < batchRank; axis++) {
      const axisA = axis - (batchRank - (rankA - 2));
      const axisB = axis - (batchRank - (rankB - 2));
      const sizeA = axisA >= 0 ? a.shape[axisA] : 1;
      const sizeB = axisB >= 0 ? b.shape[axisB] : 1;
      batch.push(Math.max(sizeA, sizeB));
      stridesA.push(axisA >= 0 && sizeA !== 1 ? a.strides[axisA] : 0);
      stridesB.push(axisB >= 0 && sizeB !== 1 ? b.strides[axisB] : 0);
    }
    const collapsed = collapse(batch, [stridesA, stridesB]);
    if (collapsed.dims.length > 4) {
      throw new Error(`[gpujs] matmul: ${collapsed.dims.length} batch dims after merging exceed the supported 4`);
    }
    const pad = 4 - collapsed.dims.length;
    const dims = [...new Array<number>(pad).fill(1), ...collapsed.dims];
    const batchA = [...new Array<number>(pad).fill(0), ...collapsed.strides[0]];
    const batchB = [...new Array<number>(pad).fill(0), ...collapsed.strides[1]];
    if (k === 0) {
      this.fill(out, 0);
      return;
    }
    this.launch("matmul", sources.matmulSource, out, [
      asGpu(a.buffer, "left"),
      asGpu(b.buffer, "right"),
      m,
      n,
      k,
      ...dims,
      a.offset,
      ...batchA,
      a.strides[rankA - 2],
      a.strides[rankA - 1],
      b.offset,
      ...batchB,
      b.strides[rankB - 2],
      b.strides[rankB - 1],
    ]);
  }
}

/** Continue with a value that is a Promise on WebGPU and immediate elsewhere, staying synchronous when it can. */
function settle(value: unknown, next: (value: unknown) => void): void | Promise<void> {
  if (value instanceof Promise) return value.then(next);
  next(value);
}

/** A flat Float32Array of `length` elements from whatever shape gpu.js returned. */
function flatten(raw: ArrayLike<number> | ArrayLike<ArrayLike<number>>, length: number): Float32Array {
  if (raw instanceof Float32Array) return raw.length === length ? raw.slice() : raw.slice(0, length);
  const out = new Float32Array(length);
  let index = 0;
  const walk = (value: unknown): void => {
    if (index >= length) return;
    if (typeof value === "number") out[index++] = value;
    else for (const item of value as ArrayLike<unknown> & Iterable<unknown>) walk(item);
  };
  walk(raw);
  return out;
}

const modeOfKernelClass: Record<string, string> = {
  HeadlessGLKernel: "headlessgl",
  WebGL2Kernel: "webgl2",
  WebGLKernel: "webgl",
  WebGPUKernel: "webgpu",
  WebAssemblyKernel: "webasm",
  CPUKernel: "cpu",
};

/** The mode gpu.js picked for "gpu" (its GL kernel classes all answer "gpu" to `.mode`, so go by class). */
function actualMode(gpu: GpuJsInstance): string {
  const kernelClass = gpu.Kernel as { name?: string; mode?: string } | undefined;
  return modeOfKernelClass[kernelClass?.name ?? ""] ?? kernelClass?.mode ?? gpu.mode;
}

/** Why gpu.js cannot run `mode` here, or null when it claims it can. */
export function unavailableReason(GPU: GpuJsConstructor, mode: GpuJsMode): string | null {
  switch (mode) {
    case "headlessgl":
      return GPU.isHeadlessGLSupported
        ? null
        : 'headless-gl did not load: install the optional "gl" addon (it builds from source: apt libxi-dev libglu1-mesa-dev libglew-dev pkg-config, and pnpm must allow its build script) and run under a display (xvfb-run -a)';
    case "webgl2":
      return GPU.isWebGL2Supported ? null : "no WebGL2 context (a browser with WebGL2 is required)";
    case "webgl":
      return GPU.isWebGLSupported ? null : "no WebGL context (a browser with WebGL is required)";
    case "webgpu":
      return GPU.isWebGPUSupported
        ? null
        : "navigator.gpu is missing (a browser with WebGPU, e.g. Chromium with --enable-unsafe-webgpu)";
    case "webasm":
      return GPU.isWebAssemblySupported === false ? "WebAssembly is not available" : null;
    default:
      return null;
  }
}
