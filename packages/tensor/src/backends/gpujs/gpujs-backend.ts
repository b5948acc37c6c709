/**
 * The gpu.js backend: every kernel of the backend interface as a gpu.js kernel (sources in `sources.ts`, their
 * arguments laid out in `kernels.ts`), on whichever gpu.js mode the caller asks for — `webgl2`, `webgl`,
 * `headlessgl` (textures), `webgpu` (storage buffers), `webasm` or `cpu` (typed arrays) — with the CPU backend
 * as the oracle the conformance suite holds it to. This file is the device side: buffers, compiling, the
 * queue, readback.
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
import type { Backend, BackendBuffer, BackendMemoryInfo, BufferView, Kernels } from "../../backend.js";
import type { DType, TypedArray } from "../../dtype.js";
import {
  asGpu,
  type DeviceValue,
  GpuJsBuffer,
  type GpuJsDevice,
  isDeviceObject,
  kindOf,
  MAX_ELEMENTS,
} from "./device.js";
import { createGpuJsKernels } from "./kernels.js";
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
    // The kernels reach the device through these four operations only (device.ts).
    const device: GpuJsDevice = {
      launch: (key, source, out, args, length) => this.launch(key, source, out, args, length),
      temporary: (length) => this.temporary(length),
      dispose: (buffer) => this.dispose(buffer),
      copyInto: (x, out, target) => this.copyInto(x, out, target),
    };
    this.kernels = createGpuJsKernels(device);
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
