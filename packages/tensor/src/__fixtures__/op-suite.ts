/**
 * Test support for the shared op suite: the backends it runs on, `onEveryBackend` to run a block of tests on
 * each, and the reference helpers (float64 comparisons and loops).
 */
import { afterAll, beforeAll, describe, expect } from "vitest";
import "../gpujs.js";
import { getBackend, setBackend, type Tensor } from "../index.js";
import { primitivesOnly, registerBackend } from "../internals.js";

export function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let index = 0; index < expected.length; index++) {
    const error = Math.abs(actual[index] - expected[index]);
    if (!(error <= tolerance * Math.max(1, Math.abs(expected[index])))) {
      throw new Error(`element ${index}: got ${actual[index]}, expected ${expected[index]}`);
    }
  }
}

/** Float64 reference: elements of a tensor in row-major order, read through its strides. */
export function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Naive float64 batched matmul over row-major arrays with numpy broadcasting of batch dims. */
export function referenceMatmul(
  a: number[],
  aShape: number[],
  b: number[],
  bShape: number[],
): { data: number[]; shape: number[] } {
  const m = aShape[aShape.length - 2];
  const k = aShape[aShape.length - 1];
  const n = bShape[bShape.length - 1];
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const batch: number[] = [];
  for (let axis = 0; axis < rank; axis++) {
    const x = aBatch[aBatch.length - rank + axis] ?? 1;
    const y = bBatch[bBatch.length - rank + axis] ?? 1;
    batch.push(Math.max(x, y));
  }
  const total = batch.reduce((x, y) => x * y, 1);
  const data: number[] = [];
  const offsetOf = (index: number, own: number[]) => {
    let remaining = index;
    let offset = 0;
    let stride = 1;
    const coordinates: number[] = [];
    for (let axis = rank - 1; axis >= 0; axis--) {
      coordinates[axis] = remaining % batch[axis];
      remaining = Math.floor(remaining / batch[axis]);
    }
    for (let axis = own.length - 1; axis >= 0; axis--) {
      const coordinate = own[axis] === 1 ? 0 : coordinates[rank - own.length + axis];
      offset += coordinate * stride;
      stride *= own[axis];
    }
    return offset;
  };
  for (let index = 0; index < total; index++) {
    const aBase = offsetOf(index, aBatch) * m * k;
    const bBase = offsetOf(index, bBatch) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let value = 0;
        for (let p = 0; p < k; p++) value += a[aBase + i * k + p] * b[bBase + p * n + j];
        data.push(value);
      }
    }
  }
  return { data, shape: [...batch, m, n] };
}

/**
 * The shared op suite (ops.test.ts, ops-rows.test.ts), run on every backend: the CPU backend, the CPU backend restricted to its primitive
 * kernels (every fused op then runs its composition from primitives), and the gpu.js backend in its `cpu`
 * mode (its other modes run the CPU-oracle conformance suite, conformance.test.ts, and in Chromium).
 * References are float64 loops or hand-computed values. Backends without float64 storage run the float64
 * cases in float32 at float32 tolerance. Data-dependent diagnostics (an index out of range, a row with no
 * positive weight) need a readback: the CPU's primitive kernels diagnose indices on the host, its fused
 * kernels diagnose targets and weights; the compositions and the gpu.js kernels cannot.
 */
registerBackend("cpu-primitives", () => primitivesOnly(getBackend("cpu"), "cpu-primitives"));
const backends: { name: string; options?: object; checks: "all" | "indices" | "none" }[] = [
  { name: "cpu", checks: "all" },
  { name: "cpu-primitives", checks: "indices" },
  { name: "gpujs", options: { mode: "cpu" }, checks: "none" },
];

/** float64 data where the current backend stores it, else float32. */
export function precise(data: readonly number[]): Float64Array | Float32Array {
  return getBackend().supportsDType("float64") ? Float64Array.from(data) : Float32Array.from(data);
}

/** A float64 tolerance, or float32's where the backend computes in float32. */
export function tolerance(float64: number): number {
  return getBackend().supportsDType("float64") ? float64 : Math.max(float64, 2e-6);
}

export interface BackendChecks {
  /** Out-of-range indices throw (the CPU's primitive gather and scatter kernels check on the host). */
  validatesIndices: boolean;
  /** Invalid targets and weights throw (the CPU's fused cross-entropy and multinomial kernels check them). */
  validatesFusedInputs: boolean;
}

/** `describe.each` over the backends, with the backend selected around the block. */
export function onEveryBackend(title: string, body: (checks: BackendChecks) => void): void {
  describe.each(backends)(title, ({ name, options, checks }) => {
    const previous = getBackend().name;
    beforeAll(() => {
      setBackend(name, options);
    });
    afterAll(() => {
      setBackend(previous);
    });
    body({ validatesIndices: checks !== "none", validatesFusedInputs: checks === "all" });
  });
}
