import { afterEach, describe, expect, it } from "vitest";
import { getHeap, type HeapBlock } from "./heap.js";
import { KC, MC, MR, NC, NR } from "./job.js";
import { getLastMatmulThreadCount, getMatmulThreads, type MatmulSpec, matmul, setMatmulThreads } from "./matmul.js";

/** Deterministic float32 values in [-1, 1) (a small LCG, independent of the code under test). */
function values(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0;
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[index] = state / 2 ** 31 - 1;
  }
  return out;
}

interface Reference {
  value: Float64Array;
  /** Σ_p |a_p·b_p| per output element: the scale of the float32 rounding error. */
  magnitude: Float64Array;
}

/** Float64 naive reference of the same spec (reading the same float32 inputs). */
function reference(
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  initial: Float32Array,
  spec: MatmulSpec,
): Reference {
  const { batch, m, n, k } = spec;
  const value = new Float64Array(batch * m * n);
  const magnitude = new Float64Array(batch * m * n);
  for (let index = 0; index < batch; index++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = spec.accumulate ? initial[(index * m + i) * n + j] : 0;
        let size = Math.abs(sum);
        for (let p = 0; p < k; p++) {
          const x = a[aOffset + index * spec.aBatchStride + (spec.transA ? p * m + i : i * k + p)];
          const y = b[bOffset + index * spec.bBatchStride + (spec.transB ? j * k + p : p * n + j)];
          sum += x * y;
          size += Math.abs(x * y);
        }
        value[(index * m + i) * n + j] = sum;
        magnitude[(index * m + i) * n + j] = size;
      }
    }
  }
  return { value, magnitude };
}

/**
 * Checks every element against the standard float32 summation bound |error| ≤ γ·Σ|a·b|, γ = (k+1)u/(1-(k+1)u),
 * u = 2^-24 (k products and k additions, plus the accumulated initial value).
 */
function expectClose(actual: Float32Array, expected: Reference, k: number): void {
  const u = 2 ** -24;
  const gamma = ((k + 2) * u) / (1 - (k + 2) * u);
  let worst = 0;
  let worstIndex = -1;
  for (let index = 0; index < expected.value.length; index++) {
    const excess = Math.abs(actual[index] - expected.value[index]) - gamma * expected.magnitude[index];
    if (excess > worst) {
      worst = excess;
      worstIndex = index;
    }
  }
  if (worstIndex >= 0) {
    expect.fail(
      `element ${worstIndex}: got ${actual[worstIndex]}, expected ${expected.value[worstIndex]} (bound ${gamma * expected.magnitude[worstIndex]})`,
    );
  }
}

function block(data: Float32Array): HeapBlock {
  const result = getHeap().alloc(data.length);
  result.f32().set(data);
  return result;
}

function runCase(
  spec: MatmulSpec,
  options: { aOffset?: number; bOffset?: number; outOffset?: number; seed?: number } = {},
): Float32Array {
  const { aOffset = 0, bOffset = 0, outOffset = 0, seed = 1 } = options;
  const aLength = aOffset + (spec.batch - 1) * spec.aBatchStride + spec.m * spec.k;
  const bLength = bOffset + (spec.batch - 1) * spec.bBatchStride + spec.k * spec.n;
  const outLength = spec.batch * spec.m * spec.n;
  const a = values(aLength, seed);
  const b = values(bLength, seed + 1);
  const initial = values(outLength, seed + 2);
  const heap = getHeap();
  const aBlock = block(a);
  const bBlock = block(b);
  const outBlock = heap.alloc(outOffset + outLength);
  outBlock.f32().set(initial, outOffset);
  matmul(aBlock, aOffset, bBlock, bOffset, outBlock, outOffset, spec);
  const result = outBlock.f32().slice(outOffset, outOffset + outLength);
  expectClose(result, reference(a, aOffset, b, bOffset, initial, spec), spec.k);
  for (const used of [aBlock, bBlock, outBlock]) heap.free(used);
  return result;
}

function plain(m: number, n: number, k: number, extra: Partial<MatmulSpec> = {}): MatmulSpec {
  return { batch: 1, m, n, k, transA: false, transB: false, aBatchStride: m * k, bBatchStride: k * n, ...extra };
}

const shapes: Array<[number, number, number]> = [
  [1, 1, 1],
  [2, 3, 1],
  [MR, NR, 4],
  [MR + 1, NR + 1, 5],
  [7, 13, 17],
  [13, 17, KC + 3],
  [MC + 7, 2 * NR + 3, 9],
  [31, 37, 2 * KC + 1],
  [5, NC + 11, 3],
  [1, 7, 5],
  [1, 4099, 9],
  [1, 37, 263],
  [97, 1, 31],
  [3, 5, 1],
];

describe("wasm matmul", () => {
  afterEach(() => setMatmulThreads(2));

  describe.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])("transA %s, transB %s", (transA, transB) => {
    it.each(shapes)("m=%i n=%i k=%i matches a float64 reference", (m, n, k) => {
      runCase(plain(m, n, k, { transA, transB }));
    });

    it("accumulates into the output (m=19 n=23 k=29, and GEMV)", () => {
      runCase(plain(19, 23, 29, { transA, transB, accumulate: true }));
      runCase(plain(1, 23, 29, { transA, transB, accumulate: true }));
      runCase(plain(19, 23, KC + 29, { transA, transB, accumulate: true }));
    });
  });

  it("reads operands at element offsets and writes the output at an offset", () => {
    runCase(plain(11, 9, 7), { aOffset: 5, bOffset: 13, outOffset: 3 });
    runCase(plain(1, 9, 7, { transB: true }), { aOffset: 1, bOffset: 2, outOffset: 7 });
  });

  it("runs batches with strides, gaps between entries and broadcast (stride 0) operands", () => {
    runCase({ batch: 3, m: 5, n: 7, k: 6, transA: false, transB: false, aBatchStride: 0, bBatchStride: 6 * 7 });
    runCase({ batch: 4, m: 5, n: 7, k: 6, transA: false, transB: true, aBatchStride: 5 * 6 + 3, bBatchStride: 0 });
    runCase({ batch: 2, m: 1, n: 9, k: 6, transA: true, transB: false, aBatchStride: 6, bBatchStride: 54 + 1 });
    runCase({
      batch: 5,
      m: 33,
      n: 17,
      k: 40,
      transA: true,
      transB: true,
      aBatchStride: 0,
      bBatchStride: 0,
      accumulate: true,
    });
  });

  it("gives identical results on 1 and on N threads", () => {
    const cases: MatmulSpec[] = [
      plain(257, 300, 301),
      plain(64, 1000, 96, { transB: true, accumulate: true }),
      // GEMV only goes parallel when B is large (see matmul.ts): 8.5M and 2.1M weights.
      plain(1, 65_600, 129),
      plain(1, 16_400, 129, { transB: true }),
      { batch: 3, m: 70, n: 90, k: 100, transA: true, transB: false, aBatchStride: 7000, bBatchStride: 0 },
    ];
    for (const spec of cases) {
      setMatmulThreads(1);
      const single = runCase(spec, { seed: 5 });
      expect(getLastMatmulThreadCount()).toBe(1);
      for (const threads of [2, 3]) {
        setMatmulThreads(threads);
        expect(getMatmulThreads()).toBe(threads);
        expect(runCase(spec, { seed: 5 })).toEqual(single);
        expect(getLastMatmulThreadCount()).toBe(threads);
      }
    }
  });

  it("copies plain Float32Array operands through the heap", () => {
    const spec = plain(9, 10, 11, { accumulate: true });
    const a = values(1 + 9 * 11, 3);
    const b = values(10 * 11, 4);
    const out = values(2 + 90, 5);
    const initial = out.slice(2);
    matmul(a, 1, b, 0, out, 2, spec);
    expectClose(out.subarray(2), reference(a, 1, b, 0, initial, spec), 11);
  });

  it("writes zeros (or leaves the output) when k = 0, and nothing when the output is empty", () => {
    const out = getHeap().alloc(6);
    out.f32().fill(4);
    matmul(new Float32Array(0), 0, new Float32Array(0), 0, out, 0, { ...plain(2, 3, 0), accumulate: true });
    expect([...out.f32()]).toEqual([4, 4, 4, 4, 4, 4]);
    matmul(new Float32Array(0), 0, new Float32Array(0), 0, out, 0, plain(2, 3, 0));
    expect([...out.f32()]).toEqual([0, 0, 0, 0, 0, 0]);
    matmul(new Float32Array(0), 0, new Float32Array(0), 0, out, 0, plain(0, 3, 5));
    getHeap().free(out);
  });

  it("rejects operands too short for the spec, and bad specs, naming the field", () => {
    const small = new Float32Array(5);
    expect(() => matmul(small, 0, new Float32Array(6), 0, new Float32Array(4), 0, plain(2, 2, 3))).toThrow(
      /operand a has 5 elements but the spec reads 6 from offset 0/,
    );
    expect(() =>
      matmul(new Float32Array(6), 0, new Float32Array(6), 0, new Float32Array(4), 1, plain(2, 2, 3)),
    ).toThrow(/operand out has 4 elements/);
    expect(() => matmul(small, 0, small, 0, small, 0, plain(2, 2.5, 3))).toThrow(/spec.n = 2.5/);
    expect(() => setMatmulThreads(0)).toThrow(/positive integer/);
  });
});
