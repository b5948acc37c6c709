/**
 * Creating tensors: from data (nested arrays or typed arrays), constant fills, ranges and seeded random
 * draws (see random.ts for the algorithm). Everything is created on the current backend.
 * Not here: ops on existing tensors.
 */
import { getBackend, kernel } from "./backend.js";
import { createTypedArray, type DType, dtypeOfArray, type TypedArray } from "./dtype.js";
import { generatorFor } from "./random.js";
import { assertValidShape, formatShape, shapeSize } from "./shape.js";
import { emptyTensor, type NestedArray, type Tensor } from "./tensor.js";

export interface CreationOptions {
  dtype?: DType;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as NestedArray;
  }
  return shape;
}

function flatten(data: NestedArray, shape: readonly number[], target: TypedArray): void {
  let position = 0;
  const walk = (value: NestedArray, depth: number) => {
    if (depth === shape.length) {
      if (typeof value !== "number")
        throw new Error(`[tensor] ragged nested array: expected a number at depth ${depth}`);
      target[position++] = value;
      return;
    }
    if (!Array.isArray(value) || value.length !== shape[depth]) {
      throw new Error(
        `[tensor] ragged nested array: expected ${shape[depth]} entries at depth ${depth} for shape ${formatShape(shape)}`,
      );
    }
    for (const item of value) walk(item, depth + 1);
  };
  walk(data, 0);
}

/**
 * A tensor from data. Nested arrays give their own shape (float32 unless `dtype` says otherwise); typed
 * arrays keep their dtype (Uint8Array reads as bool) and are 1-D unless `shape` is given. Data is copied.
 */
export function tensor(
  data: NestedArray | TypedArray,
  options: { shape?: readonly number[]; dtype?: DType } = {},
): Tensor {
  if (ArrayBuffer.isView(data)) {
    const shape = options.shape ?? [data.length];
    assertValidShape("tensor", shape);
    if (shapeSize(shape) !== data.length) {
      throw new Error(
        `[tensor] ${data.length} values cannot fill shape ${formatShape(shape)} (${shapeSize(shape)} elements)`,
      );
    }
    const dtype = options.dtype ?? dtypeOfArray(data);
    let source: TypedArray = data;
    if (dtype !== dtypeOfArray(data)) {
      source = createTypedArray(dtype, data.length);
      source.set(data);
    }
    const out = emptyTensor(shape, dtype);
    out.backend.write(out.storage.buffer, source);
    return out;
  }
  const shape = inferShape(data);
  if (options.shape && shapeSize(options.shape) !== shapeSize(shape)) {
    throw new Error(`[tensor] data of shape ${formatShape(shape)} cannot fill shape ${formatShape(options.shape)}`);
  }
  const dtype = options.dtype ?? "float32";
  const values = createTypedArray(dtype, shapeSize(shape));
  flatten(data, shape, values);
  const out = emptyTensor(options.shape ?? shape, dtype);
  out.backend.write(out.storage.buffer, values);
  return out;
}

/** A 0-d tensor. */
export function scalar(value: number, dtype: DType = "float32"): Tensor {
  return full([], value, { dtype });
}

export function full(shape: readonly number[], value: number, options: CreationOptions = {}): Tensor {
  assertValidShape("full", shape);
  const out = emptyTensor(shape, options.dtype ?? "float32", getBackend(), value === 0);
  if (value !== 0) kernel(out.backend, "fill")(out.storage.buffer, value);
  return out;
}

export function zeros(shape: readonly number[], options: CreationOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: readonly number[], options: CreationOptions = {}): Tensor {
  return full(shape, 1, options);
}

export function zerosLike(x: Tensor): Tensor {
  return full(x.shape, 0, { dtype: x.dtype });
}

export function onesLike(x: Tensor): Tensor {
  return full(x.shape, 1, { dtype: x.dtype });
}

/**
 * A host array for `op` to fill, or an Error naming the op, the count and the dtype when the engine cannot
 * allocate it (instead of a raw "Invalid typed array length" RangeError).
 */
function hostValues(op: string, dtype: DType, count: number): TypedArray {
  try {
    return createTypedArray(dtype, count);
  } catch {
    throw new Error(
      `[${op}] cannot allocate ${count} ${dtype} values on the host; free unused tensors or use a smaller shape`,
    );
  }
}

/** [start, start + step, …) below `end` (float32 unless `dtype` says otherwise). */
export function arange(start: number, end?: number, step = 1, options: CreationOptions = {}): Tensor {
  const from = end === undefined ? 0 : start;
  const to = end === undefined ? start : end;
  if (step === 0) throw new Error("[arange] step must not be 0");
  if (![from, to, step].every(Number.isFinite))
    throw new Error(`[arange] start ${from}, end ${to} and step ${step} must be finite numbers`);
  const count = Math.max(0, Math.ceil((to - from) / step));
  const values = hostValues("arange", options.dtype ?? "float32", count);
  for (let index = 0; index < count; index++) values[index] = from + index * step;
  return tensor(values, { shape: [count] });
}

export interface RandomOptions extends CreationOptions {
  /** Use a fresh generator with this seed instead of the global one (see `manualSeed`). */
  seed?: number;
}

function randomTensor(
  op: string,
  shape: readonly number[],
  options: RandomOptions,
  fill: (values: TypedArray) => void,
): Tensor {
  assertValidShape(op, shape);
  const dtype = options.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float64")
    throw new Error(`[${op}] dtype must be float32 or float64, got ${dtype}`);
  const values = hostValues(op, dtype, shapeSize(shape));
  fill(values);
  return tensor(values, { shape });
}

/** Normal samples N(mean, std²) (defaults: standard normal). */
export function randn(shape: readonly number[], options: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  return randomTensor("randn", shape, options, (values) =>
    generatorFor(options.seed).fillNormal(values, options.mean ?? 0, options.std ?? 1),
  );
}

/** Uniform samples in [low, high) (defaults: [0, 1)). */
export function uniform(
  shape: readonly number[],
  options: RandomOptions & { low?: number; high?: number } = {},
): Tensor {
  return randomTensor("uniform", shape, options, (values) =>
    generatorFor(options.seed).fillUniform(values, options.low ?? 0, options.high ?? 1),
  );
}

/**
 * The values `randn(shape, options)` would hold, as a host array — no tensor, no device, no readback (for
 * initialising parameters on a backend that reads back only asynchronously, or before choosing one).
 */
export function randnValues(
  size: number,
  options: { seed?: number; mean?: number; std?: number; dtype?: "float32" | "float64" } = {},
): Float32Array | Float64Array {
  if (!Number.isInteger(size) || size < 0) throw new Error(`[randnValues] size ${size} must be a non-negative integer`);
  const values = options.dtype === "float64" ? new Float64Array(size) : new Float32Array(size);
  generatorFor(options.seed).fillNormal(values, options.mean ?? 0, options.std ?? 1);
  return values;
}

/** The values `uniform(shape, options)` would hold, as a host array (see `randnValues`). */
export function uniformValues(
  size: number,
  options: { seed?: number; low?: number; high?: number; dtype?: "float32" | "float64" } = {},
): Float32Array | Float64Array {
  if (!Number.isInteger(size) || size < 0)
    throw new Error(`[uniformValues] size ${size} must be a non-negative integer`);
  const values = options.dtype === "float64" ? new Float64Array(size) : new Float32Array(size);
  generatorFor(options.seed).fillUniform(values, options.low ?? 0, options.high ?? 1);
  return values;
}
