import { describe, expect, it } from "vitest";
import { expectSameBits } from "../../../__fixtures__/same-bits.js";
import { tensor, transpose } from "../../../index.js";
import { getHeap, type HeapBlock } from "./heap.js";
import { type TranscendentalOp, transcendentalInto } from "./transcendental.js";

function block(values: ArrayLike<number>): HeapBlock {
  const result = getHeap().alloc(values.length);
  result.f32().set(values);
  return result;
}

function run(op: TranscendentalOp, values: ArrayLike<number>, length = values.length, offset = 0): Float32Array {
  const input = block(values);
  const output = getHeap().alloc(Math.max(length, 1));
  transcendentalInto(op, { block: input, offset }, { block: output, offset: 0 }, length);
  const result = output.f32().slice(0, length);
  getHeap().free(input);
  getHeap().free(output);
  return result;
}

const references: Record<TranscendentalOp, (x: number) => number> = {
  exp: (x) => Math.exp(x),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  silu: (x) => x / (1 + Math.exp(-x)),
};

const SMALLEST_NORMAL = 2 ** -126;
const SMALLEST_SUBNORMAL = 2 ** -149;
const POINTS = 1_000_000;

/** A dense sweep of float32 values across [−104, 89], where float32 exp goes from 0 to ∞. */
const sweep = new Float32Array(POINTS);
for (let index = 0; index < POINTS; index++) sweep[index] = -104 + (193 * index) / (POINTS - 1);

/** Distance in float32 steps between two non-negative float32 values (∞ is one step past the maximum). */
function ulpDistance(a: number, b: number): number {
  const bits = new Int32Array(new Float32Array([a, b]).buffer);
  return Math.abs(bits[0] - bits[1]);
}

describe("wasm transcendental kernels", () => {
  const results = {
    exp: run("exp", sweep),
    sigmoid: run("sigmoid", sweep),
    silu: run("silu", sweep),
  };

  it("exp is within 4e-7 relative error of Math.exp on [−87, 88] and within 2 float32 steps everywhere", () => {
    let maxRelative = 0;
    let maxSteps = 0;
    for (let index = 0; index < POINTS; index++) {
      const x = sweep[index];
      const exact = Math.exp(x);
      const actual = results.exp[index];
      if (x >= -87 && x <= 88) maxRelative = Math.max(maxRelative, Math.abs(actual - exact) / exact);
      maxSteps = Math.max(maxSteps, ulpDistance(actual, Math.fround(exact)));
    }
    expect(maxRelative).toBeLessThanOrEqual(4e-7);
    expect(maxSteps).toBeLessThanOrEqual(2);
  });

  it("exp keeps subnormal results within one subnormal step", () => {
    let maxError = 0;
    for (let index = 0; index < POINTS && sweep[index] <= -87.4; index++) {
      maxError = Math.max(maxError, Math.abs(results.exp[index] - Math.exp(sweep[index])));
    }
    expect(maxError).toBeLessThanOrEqual(SMALLEST_SUBNORMAL);
  });

  it.each(["sigmoid", "silu"] as const)("%s is within 4e-7 relative error of the float64 formula", (op) => {
    const reference = references[op];
    let maxRelative = 0;
    let maxTinyError = 0;
    let nans = 0;
    for (let index = 0; index < POINTS; index++) {
      const x = sweep[index];
      const exact = reference(x);
      const actual = results[op][index];
      if (Number.isNaN(actual)) nans++;
      if (x >= -88 && Math.abs(exact) >= SMALLEST_NORMAL) {
        maxRelative = Math.max(maxRelative, Math.abs(actual - exact) / Math.abs(exact));
      } else {
        // exp(−x) overflows float32 below −88.72: the result is 0, the exact value below 2e−36 in magnitude.
        maxTinyError = Math.max(maxTinyError, Math.abs(actual - exact));
      }
    }
    expect(nans).toBe(0);
    expect(maxRelative).toBeLessThanOrEqual(4e-7);
    expect(maxTinyError).toBeLessThan(2e-36);
  });

  it("handles zeros, infinities, NaN and the overflow and underflow thresholds like Math.exp", () => {
    const inf = Number.POSITIVE_INFINITY;
    const specials = [0, -0, inf, -inf, Number.NaN, 88.72, 88.73, 89, 1e30, -103.97, -103.98, -104, -1e30, 1e-30];
    const expected = specials.map((x) => Math.fround(Math.exp(Math.fround(x))));
    expect([...run("exp", specials)]).toEqual(expected);
    expect(Number.isFinite(expected[5]) && expected[6] === inf && expected[9] > 0 && expected[10] === 0).toBe(true);
    expect([...run("sigmoid", [0, inf, -inf, Number.NaN, 3e38, -3e38, -100])]).toEqual([
      0.5,
      1,
      0,
      Number.NaN,
      1,
      0,
      0,
    ]);
    // silu(−∞) is −∞/∞ = NaN, as in the JavaScript kernel; finite inputs never give NaN.
    expect([...run("silu", [0, inf, -inf, Number.NaN, 3e38, -3e38, -100])]).toEqual([
      0,
      inf,
      Number.NaN,
      Number.NaN,
      Math.fround(3e38),
      -0,
      -0,
    ]);
  });

  it.each(["exp", "sigmoid", "silu"] as const)(
    "%s gives the same bits in the scalar tail as in the SIMD body, for every length and offset",
    (op) => {
      // Three elements per call: all of them go through the scalar tail.
      const scalar = new Float32Array(POINTS);
      const input = block(sweep);
      const output = getHeap().alloc(POINTS);
      for (let start = 0; start < POINTS; start += 3) {
        const length = Math.min(3, POINTS - start);
        transcendentalInto(op, { block: input, offset: start }, { block: output, offset: start }, length);
      }
      scalar.set(output.f32());
      getHeap().free(input);
      getHeap().free(output);
      expectSameBits(scalar, results[op]);
      for (let length = 0; length <= 9; length++) {
        for (const offset of [0, 1, 3]) {
          const start = 123_457 + length * 11;
          const values = sweep.subarray(start - offset, start + length);
          expectSameBits(run(op, values, length, offset), results[op].subarray(start, start + length));
        }
      }
    },
  );

  it("rejects operands shorter than the length", () => {
    const short = getHeap().alloc(3);
    expect(() => transcendentalInto("exp", { block: short, offset: 1 }, { block: short, offset: 0 }, 3)).toThrow(
      /operand x has 3 elements; cannot use 3 from offset 1/,
    );
    expect(() => transcendentalInto("silu", { block: short, offset: 0 }, { block: short, offset: 0 }, 1.5)).toThrow(
      /length 1.5/,
    );
    getHeap().free(short);
  });

  it("backs exp, sigmoid and silu of contiguous float32 tensors; strided and float64 tensors keep the JavaScript path", () => {
    const values = Array.from({ length: 6 * 7 }, (_, index) => (index - 20) * 0.37);
    const x = tensor(new Float32Array(values), { shape: [6, 7] });
    const x64 = tensor(new Float64Array(values), { shape: [6, 7] });
    const transposed = transpose(x, 0, 1);
    for (const op of ["exp", "sigmoid", "silu"] as const) {
      const fast = x[op]().dataSync();
      expectSameBits(new Float32Array(fast), run(op, new Float32Array(values)));
      expect([...x64[op]().dataSync()]).toEqual(values.map(references[op]));
      const strided = transposed[op]().dataSync();
      for (let row = 0; row < 7; row++) {
        for (let column = 0; column < 6; column++) {
          const exact = references[op](Math.fround(values[column * 7 + row]));
          expect(strided[row * 6 + column]).toBe(Math.fround(exact));
        }
      }
    }
  });
});
