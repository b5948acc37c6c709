import { afterEach, describe, expect, it } from "vitest";
import { type PackedWeight, packWeight, type QuantizedFormat, unpackWeight } from "../../../quantize.js";
import { getHeap, type HeapBlock } from "./heap.js";
import { getLastMatmulThreadCount, matmul, setMatmulThreads } from "./matmul.js";
import {
  dequantizeHeap,
  type HeapQuantizedWeight,
  matmulQuantizedHeap,
  quantizeActivations,
  setIntegerInt8Gemv,
} from "./quantized.js";

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

const blocks: HeapBlock[] = [];
function block(elements: number): HeapBlock {
  const allocated = getHeap().alloc(Math.max(1, elements));
  blocks.push(allocated);
  return allocated;
}
afterEach(() => {
  for (const allocated of blocks.splice(0)) getHeap().free(allocated);
  setMatmulThreads(2);
  setIntegerInt8Gemv(true);
});

function toHeap(packed: PackedWeight): HeapQuantizedWeight {
  const data = block(Math.ceil(packed.bytes.length / 4));
  new Uint8Array(getHeap().memory.buffer, data.ptr, packed.bytes.length).set(packed.bytes);
  let scales: HeapBlock | null = null;
  if (packed.scales !== null) {
    scales = block(packed.scales.length);
    scales.f32().set(packed.scales);
  }
  return { format: packed.format, n: packed.n, k: packed.k, data, scales };
}

/** The float32 path the kernels must match bit for bit: the dequantized weight through the float32 matmul. */
function float32Reference(a: Float32Array, rows: number, weight: Float32Array, n: number, k: number): Float32Array {
  const aBlock = block(rows * k);
  aBlock.f32().set(a);
  const bBlock = block(n * k);
  bBlock.f32().set(weight);
  const out = block(rows * n);
  const spec = { batch: 1, m: rows, n, k, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0 };
  matmul(aBlock, 0, bBlock, 0, out, 0, spec);
  return out.f32().slice(0, rows * n);
}

function run(format: QuantizedFormat, rows: number, n: number, k: number, seed: number) {
  const weightValues = values(n * k, seed);
  const a = values(rows * k, seed + 1);
  const packed = packWeight(weightValues, n, k, format);
  const heapWeight = toHeap(packed);
  // A sits after one guard element, and the element after it is NaN: the kernel must read exactly k values.
  const aBlock = block(rows * k + 2);
  aBlock.f32().fill(Number.NaN);
  aBlock.f32().set(a, 1);
  const out = block(rows * n);
  matmulQuantizedHeap(aBlock, 1, rows, heapWeight, out, 0, 2);
  const actual = out.f32().slice(0, rows * n);
  const threads = getLastMatmulThreadCount();
  const expected = float32Reference(a, rows, unpackWeight(packed), n, k);
  return { actual, expected, packed, heapWeight, weightValues, threads };
}

function expectBitEqual(actual: Float32Array, expected: Float32Array): void {
  expect(new Uint32Array(actual.buffer)).toEqual(new Uint32Array(expected.buffer));
}

const shapes: Array<[rows: number, n: number, k: number]> = [
  [1, 1, 1],
  [1, 3, 7],
  [1, 5, 8],
  [1, 7, 37],
  [1, 70, 100],
  [1, 33, 64],
  [1, 256, 1031], // k not a multiple of 32 or 8, n·k over the parallel threshold
  [1, 700, 1024],
  [2, 3, 5],
  [3, 17, 45],
  [6, 130, 64],
  [9, 64, 520],
];

describe.each(["int8", "bf16"] as const)("%s weights", (format) => {
  for (const threads of [1, 2]) {
    it.each(shapes)(
      `rows %i, W [%i, %i], ${threads} thread(s): bit-identical to the float32 matmul of the dequantized weight`,
      (rows, n, k) => {
        setMatmulThreads(threads);
        setIntegerInt8Gemv(false); // the widening GEMV; the integer one is tested below
        const { actual, expected } = run(format, rows, n, k, rows * 1000 + n * 7 + k);
        expectBitEqual(actual, expected);
      },
    );
  }

  it("uses both threads for a large GEMV and gives the same bits as one thread", () => {
    setIntegerInt8Gemv(format === "bf16"); // int8: the integer kernel (default); bf16: its only kernel
    setMatmulThreads(2);
    const two = run(format, 1, 1024, 1024, 5);
    expect(two.threads).toBe(2);
    setMatmulThreads(1);
    const one = run(format, 1, 1024, 1024, 5);
    expect(one.threads).toBe(1);
    expectBitEqual(two.actual, one.actual);
  });

  it("dequantizes exactly what the host codec unpacks", () => {
    const n = 37;
    const k = 75;
    const packed = packWeight(values(n * k, 11), n, k, format);
    const out = block(n * k + 1);
    out.f32().fill(Number.NaN);
    dequantizeHeap(toHeap(packed), out, 1, 2);
    expectBitEqual(out.f32().slice(1, 1 + n * k), unpackWeight(packed));
  });
});

/**
 * The integer int8 GEMV (int16 activations, see `quantizeActivations`) against the exact sum in float64 over
 * the stored int8 values: y = Σ_p q_p·d_w,b(p)·a_p. The kernel's error has two parts, each bounded:
 * the activations' rounding, |a_p − â_p·d_a,b| ≤ d_a,b/2·(1 + 2^-20), giving Σ_p |q_p·d_w,b|·d_a,b/2·(1 + 2^-20);
 * and float32 rounding after the exact int32 block sums — the sum's conversion, d_w·d_a, the product, and the
 * accumulation over ⌈blocks/4⌉ blocks per lane plus 2 lane additions — at most (⌈blocks/4⌉ + 5)·2^-24 relative
 * (first order) of Σ_b |d_w,b·d_a,b·Σ q·â|, bounded here by the same sum with |a| (·(1 + 2^-15)).
 */
describe("int8 integer GEMV", () => {
  for (const threads of [1, 2]) {
    it.each(shapes.filter(([rows]) => rows === 1))(
      `rows %i, W [%i, %i], ${threads} thread(s): within the stated bound of the exact product`,
      (_rows, n, k) => {
        setMatmulThreads(threads);
        const { actual, packed } = run("int8", 1, n, k, 1000 + n * 7 + k);
        const a = values(k, 1000 + n * 7 + k + 1);
        const quantized = new Int8Array(packed.bytes.buffer);
        const scales = packed.scales as Float32Array;
        const rowBytes = Math.ceil(k / 32) * 32;
        const blocks = Math.ceil(k / 32);
        const activationScales = Array.from({ length: blocks }, (_, block) => {
          const slice = Array.from(a.subarray(block * 32, Math.min(k, block * 32 + 32)), Math.abs);
          return Math.fround(Math.max(...slice) / 32767);
        });
        for (let j = 0; j < n; j++) {
          let exact = 0;
          let activationPart = 0;
          let magnitude = 0;
          for (let p = 0; p < k; p++) {
            const block = Math.floor(p / 32);
            const w = (quantized[j * rowBytes + p] as number) * (scales[j * blocks + block] as number);
            exact += w * (a[p] as number);
            activationPart += (Math.abs(w) * (activationScales[block] as number)) / 2;
            magnitude += Math.abs(w * (a[p] as number));
          }
          const rounding = (Math.ceil(blocks / 4) + 5) * 2 ** -24 * magnitude * (1 + 2 ** -15);
          expect(Math.abs((actual[j] as number) - exact)).toBeLessThanOrEqual(
            activationPart * (1 + 2 ** -20) + rounding,
          );
        }
      },
    );
  }

  it("a non-finite activation block gives NaN outputs (float32 would give non-finite ones)", () => {
    const packed = packWeight(values(4 * 40, 1), 4, 40, "int8");
    const a = block(40);
    a.f32().set(values(40, 2));
    a.f32()[35] = Number.POSITIVE_INFINITY;
    const out = block(4);
    matmulQuantizedHeap(a, 0, 1, toHeap(packed), out, 0, 1);
    expect(Array.from(out.f32().subarray(0, 4)).every(Number.isNaN)).toBe(true);
  });

  it("rounds activations to int16 per block of 32 with |a − â·d| ≤ d/2, zero-padded", () => {
    const k = 45;
    const a = block(k + 1);
    a.f32().set(values(k + 1, 9));
    const addresses = quantizeActivations(a, 1, k);
    const heap = getHeap();
    const ints = new Int16Array(heap.memory.buffer, addresses.values, 64);
    const scales = new Float32Array(heap.memory.buffer, addresses.scales, 2);
    const source = a.f32();
    for (let p = 0; p < 64; p++) {
      if (p >= k) {
        expect(ints[p]).toBe(0);
        continue;
      }
      const scale = scales[Math.floor(p / 32)] as number;
      const error = Math.abs((source[p + 1] as number) - (ints[p] as number) * scale);
      expect(error).toBeLessThanOrEqual((scale / 2) * (1 + 2 ** -20));
    }
    expect(Math.max(...Array.from(ints.subarray(0, 32), Math.abs))).toBe(32767);
  });
});

describe("the codec", () => {
  it("int8: |w − dequantized| ≤ max|block| / 254 (half a step), scales per block of 32", () => {
    const n = 9;
    const k = 70;
    const weight = values(n * k, 3).map((value, index) => value * (1 + (index % 5) * 10)); // varied magnitudes
    const packed = packWeight(weight, n, k, "int8");
    const back = unpackWeight(packed);
    expect(packed.scales?.length).toBe(n * 3);
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p++) {
        const start = j * k + Math.floor(p / 32) * 32;
        const block = weight.subarray(start, Math.min(j * k + k, start + 32 - ((start - j * k) % 32)));
        const largest = Math.max(...Array.from(block, Math.abs));
        const error = Math.abs((weight[j * k + p] as number) - (back[j * k + p] as number));
        expect(error).toBeLessThanOrEqual((largest / 254) * (1 + 2 ** -20));
      }
    }
  });

  it("bf16: rounds to nearest even, relative error ≤ 2^-8 (half a unit in the 8th bit), padding rows to 8 values", () => {
    const weight = new Float32Array([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -Math.PI, 1e-30, 65504, 0, -0]);
    const packed = packWeight(weight, 1, 8, "bf16");
    const back = unpackWeight(packed);
    expect(back[1]).toBe(1); // tie → even
    expect(back[2]).toBe(1 + 2 ** -6); // tie → even (up)
    for (let index = 0; index < weight.length; index++) {
      const value = weight[index] as number;
      expect(Math.abs((back[index] as number) - value)).toBeLessThanOrEqual(Math.abs(value) * 2 ** -8);
    }
    expect(packWeight(new Float32Array(9), 1, 9, "bf16").bytes.length).toBe(32);
  });

  it("int8 refuses a non-finite weight, naming its index", () => {
    const weight = new Float32Array(40);
    weight[33] = Number.POSITIVE_INFINITY;
    expect(() => packWeight(weight, 1, 40, "int8")).toThrow(/Infinity at flat index 33/);
  });
});
