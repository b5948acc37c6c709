/**
 * What the gpu.js backend's kernels (kernels.ts) need of the backend (gpujs-backend.ts): its buffers — a
 * device value owned by a `GpuJsBuffer` — and a `GpuJsDevice` that launches a compiled kernel into a buffer,
 * makes and disposes temporaries, and copies into strided views. Kept apart so the kernels depend on this
 * contract only, not on the backend class.
 */
import type { BackendBuffer, BufferView } from "../../backend.js";
import type { DType } from "../../dtype.js";

/** Largest element count of one tensor: indices are float32 on the device, exact below 2^24. */
export const MAX_ELEMENTS = 2 ** 24;

/** A device value: a gpu.js Texture / WebGPU buffer result (with toArray/delete) or a typed array. */
export type DeviceValue = { toArray(): unknown; delete(): void } | Float32Array;

export function isDeviceObject(value: DeviceValue): value is { toArray(): unknown; delete(): void } {
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

export function asGpu(buffer: BackendBuffer, role: string, owner?: object): GpuJsBuffer {
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

/** Output conversion kind of a dtype for the kernels' `kind` argument: 0 float32, 1 int32, 2 bool. */
export function kindOf(dtype: DType): number {
  return dtype === "int32" ? 1 : dtype === "bool" ? 2 : 0;
}

/** The operations the kernels build on; the backend implements them over its gpu.js instance and queue. */
export interface GpuJsDevice {
  /**
   * Schedule a kernel whose arguments may name buffers (resolved to their device values when it runs) and
   * whose result becomes `out`'s value; `length` output elements (default: `out.length`).
   */
  launch(key: string, source: string, out: GpuJsBuffer, args: readonly (GpuJsBuffer | number)[], length?: number): void;
  /** A float32 buffer for intermediate results; release it with `dispose`. */
  temporary(length: number): GpuJsBuffer;
  dispose(buffer: GpuJsBuffer): void;
  /** Copy x into the strided view `out` of `target`, keeping target's other elements. */
  copyInto(x: BufferView, out: BufferView, target: GpuJsBuffer): void;
}
