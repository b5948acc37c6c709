/**
 * Sub-fp32 inference weights at the tensor level: `QuantizedWeight` (a Linear-layout weight W [n, k] stored
 * as int8 with block scales or as bf16 on a backend), `quantizeWeight` to make one, `matmulQuantized(x, w)`
 * = x · Wᵀ (what `linear(x, weight)` computes) and `dequantizeWeight` back to a float32 tensor.
 * A backend with the `matmulQuantized` kernel (the CPU backend) keeps the packed bytes and widens them inside
 * its kernels; any other backend (gpu.js, a primitives-only backend) gets the dequantized float32 weight on
 * upload and runs the ordinary matmul, so both give the same values. Inference only: these weights carry no
 * gradient, and `matmulQuantized` refuses an input that would record one.
 * Not here: the codec (quantize.ts), the kernels (backends/cpu/wasm/gemv-quantized.ts).
 */
import type { QuantizedBuffers } from "./backend.js";
import { getBackend, kernel } from "./backend.js";
import { keep } from "./memory.js";
import { linear } from "./ops/compound.js";
import { type PackedWeight, packWeight, type QuantizedFormat, quantizedFormats, unpackWeight } from "./quantize.js";
import { formatShape } from "./shape.js";
import { emptyTensor, isGradEnabled, Tensor } from "./tensor.js";

export type { QuantizedFormat } from "./quantize.js";

export interface QuantizeWeightOptions {
  /** The weight's shape [n, k] when it is given as a Float32Array (row-major). */
  readonly shape?: readonly [number, number];
}

/** A weight W [n, k] (PyTorch Linear layout) stored in int8 or bf16 for inference. Dispose it when done. */
export class QuantizedWeight {
  private stored: { data: Tensor; scales: Tensor | null } | null;
  /** The dequantized weight, on a backend without the `matmulQuantized` kernel. */
  private widened: Tensor | null;
  private disposed = false;

  /** @internal Use `quantizeWeight`. */
  constructor(
    readonly format: QuantizedFormat,
    readonly shape: readonly [number, number],
    stored: { data: Tensor; scales: Tensor | null } | null,
    widened: Tensor | null,
  ) {
    this.stored = stored;
    this.widened = widened;
  }

  /** Bytes the weight occupies on its backend (packed rows and scales, or float32 where widened on upload). */
  get bytes(): number {
    if (this.widened !== null) return this.widened.size * 4;
    if (this.stored === null) return 0;
    return this.stored.data.size * 4 + (this.stored.scales?.size ?? 0) * 4;
  }

  /** Whether the backend computes with the packed weight (false: it holds the dequantized float32 one). */
  get packed(): boolean {
    return this.stored !== null;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** @internal */
  parts(op: string): { stored: { data: Tensor; scales: Tensor | null } | null; widened: Tensor | null } {
    if (this.disposed)
      throw new Error(`[${op}] the ${this.format} weight ${formatShape(this.shape)} was used after dispose()`);
    return { stored: this.stored, widened: this.widened };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.stored?.data.dispose();
    this.stored?.scales?.dispose();
    this.widened?.dispose();
    this.stored = null;
    this.widened = null;
  }
}

function checkFormat(format: unknown): asserts format is QuantizedFormat {
  if (!quantizedFormats.includes(format as QuantizedFormat)) {
    throw new Error(`[quantizeWeight] format is ${JSON.stringify(format)}; expected "int8" or "bf16"`);
  }
}

/**
 * W (a float32 tensor [n, k], or a Float32Array with `options.shape`) stored as `format` on W's backend (the
 * current one for an array): "int8" — blocks of 32 along k, one float32 scale each (llama.cpp's Q8_0 scheme),
 * |error| ≤ half a step = max|block|/254; "bf16" — rounded to nearest even, relative error ≤ 2^-8.
 * int8 refuses non-finite weights.
 */
export function quantizeWeight(
  weight: Tensor | Float32Array,
  format: QuantizedFormat,
  options: QuantizeWeightOptions = {},
): QuantizedWeight {
  checkFormat(format);
  let values: Float32Array;
  let shape: readonly [number, number];
  let backend = getBackend();
  if (weight instanceof Tensor) {
    if (weight.rank !== 2 || weight.dtype !== "float32") {
      throw new Error(
        `[quantizeWeight] expects a float32 weight [n, k]; got ${weight.dtype} ${formatShape(weight.shape)}`,
      );
    }
    shape = [weight.shape[0] as number, weight.shape[1] as number];
    values = weight.dataSync() as Float32Array;
    backend = weight.backend;
  } else if (weight instanceof Float32Array) {
    const given = options.shape;
    if (
      given === undefined ||
      given.length !== 2 ||
      !given.every((size) => Number.isSafeInteger(size) && size >= 0) ||
      given[0] * given[1] !== weight.length
    ) {
      throw new Error(
        `[quantizeWeight] a Float32Array of ${weight.length} values needs options.shape [n, k] with n·k = ${weight.length}`,
      );
    }
    shape = [given[0], given[1]];
    values = weight;
  } else {
    throw new Error("[quantizeWeight] expects a float32 Tensor or a Float32Array");
  }
  const packed = packWeight(values, shape[0], shape[1], format);
  if (backend.kernels.matmulQuantized === undefined) {
    // No quantized kernel here: upload the dequantized weight (same values, float32 cost).
    const widened = emptyTensor(shape, "float32", backend);
    backend.write(widened.storage.buffer, unpackWeight(packed));
    return new QuantizedWeight(format, shape, null, keep(widened));
  }
  return new QuantizedWeight(format, shape, upload(packed, backend), null);
}

function upload(packed: PackedWeight, backend: Tensor["backend"]): { data: Tensor; scales: Tensor | null } {
  const words = Math.ceil(packed.bytes.length / 4);
  const padded = new Uint8Array(words * 4);
  padded.set(packed.bytes);
  const data = emptyTensor([Math.max(words, 1)], "int32", backend);
  backend.write(data.storage.buffer, new Int32Array(padded.buffer, 0, words));
  let scales: Tensor | null = null;
  if (packed.scales !== null) {
    scales = emptyTensor([Math.max(packed.scales.length, 1)], "float32", backend);
    backend.write(scales.storage.buffer, packed.scales);
    keep(scales);
  }
  return { data: keep(data), scales };
}

/** x [..., k] · Wᵀ → [..., n] (float32), as `linear(x, W)` with W dequantized. No gradient flows. */
export function matmulQuantized(x: Tensor, weight: QuantizedWeight): Tensor {
  if (!(weight instanceof QuantizedWeight)) throw new Error("[matmulQuantized] the weight must be a QuantizedWeight");
  const { stored, widened } = weight.parts("matmulQuantized");
  const [n, k] = weight.shape;
  if (x.dtype !== "float32" || x.rank < 1 || x.shape[x.rank - 1] !== k) {
    throw new Error(
      `[matmulQuantized] x is ${x.dtype} ${formatShape(x.shape)}; the ${weight.format} weight ${formatShape(weight.shape)} needs float32 [..., ${k}]`,
    );
  }
  if (isGradEnabled() && x.requiresGrad) {
    throw new Error(
      `[matmulQuantized] the input requires a gradient, but ${weight.format} weights are inference-only (no gradient flows through them); run under noGrad, or load float32 weights to train`,
    );
  }
  if (widened !== null) return linear(x, widened);
  const { data, scales } = stored as { data: Tensor; scales: Tensor | null };
  if (x.backend !== data.backend) {
    throw new Error(`[matmulQuantized] x lives on backend "${x.backend.name}", the weight on "${data.backend.name}"`);
  }
  const input = x.isContiguous ? x : x.contiguous();
  const out = emptyTensor([...x.shape.slice(0, -1), n], "float32", x.backend);
  const buffers: QuantizedBuffers = {
    format: weight.format,
    rows: n,
    columns: k,
    data: data.storage.buffer,
    scales: scales === null ? null : scales.storage.buffer,
  };
  (x.backend.kernels.matmulQuantized as NonNullable<typeof x.backend.kernels.matmulQuantized>)(
    input.view("matmulQuantized"),
    buffers,
    out.storage.buffer,
  );
  if (input !== x) input.dispose();
  return out;
}

/** W as a float32 tensor [n, k]: exactly the values the quantized kernels compute with. */
export function dequantizeWeight(weight: QuantizedWeight): Tensor {
  const { stored, widened } = weight.parts("dequantizeWeight");
  if (widened !== null) {
    const copy = emptyTensor(weight.shape, "float32", widened.backend);
    kernel(widened.backend, "copy")(widened.view("dequantizeWeight"), copy.view("dequantizeWeight"));
    return copy;
  }
  const { data, scales } = stored as { data: Tensor; scales: Tensor | null };
  const bytes = new Uint8Array((data.dataSync() as Int32Array).slice().buffer);
  const packed: PackedWeight = {
    format: weight.format,
    n: weight.shape[0],
    k: weight.shape[1],
    bytes,
    scales: scales === null ? null : (scales.dataSync() as Float32Array),
  };
  const out = emptyTensor(weight.shape, "float32", data.backend);
  data.backend.write(out.storage.buffer, unpackWeight(packed));
  return out;
}
