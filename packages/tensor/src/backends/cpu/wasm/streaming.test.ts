import { afterEach, describe, expect, it } from "vitest";
import { expectSameBits } from "../../../__fixtures__/same-bits.js";
import {
  adamwStep,
  crossEntropyBackwardRows,
  crossEntropyRows,
  rmsnormBackwardRows,
  rmsnormRows,
} from "../row-kernels.js";
import { getHeap, type HeapBlock } from "./heap.js";
import { getLastMatmulThreadCount, getMatmulThreads, setMatmulThreads } from "./matmul.js";
import {
  adamwHeap,
  binaryHeap,
  crossEntropyBackwardHeap,
  crossEntropyHeap,
  rmsnormBackwardHeap,
  rmsnormHeap,
  swigluBackwardHeap,
  swigluHeap,
} from "./streaming.js";
import type { StreamingBinaryOp } from "./streaming-kernels.js";
import { transcendentalInto } from "./transcendental.js";

const threads = getMatmulThreads();
afterEach(() => setMatmulThreads(threads));

/** Seeded values spread over many magnitudes, with the special values at fixed places. */
function values(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0;
  const specials = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** -149, -(2 ** -130)];
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const unit = state / 2 ** 32;
    out[index] =
      index % 97 < specials.length ? (specials[index % 97] as number) : (unit - 0.5) * 2 ** ((state & 63) - 20);
  }
  return out;
}

function block(data: ArrayLike<number>): HeapBlock {
  const result = getHeap().alloc(Math.max(data.length, 1));
  result.f32().set(data);
  return result;
}

function read(source: HeapBlock, length: number): Float32Array {
  return source.f32().slice(0, length);
}

function free(...blocks: HeapBlock[]): void {
  for (const each of blocks) getHeap().free(each);
}

/** The JavaScript semantics the kernels must reproduce: float64 arithmetic, one rounding to float32 per op. */
const javascript: Record<StreamingBinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
};

// Lengths around the 4-lane body and its tail, and past the threshold where jobs split over threads.
const LENGTHS = [0, 1, 3, 4, 7, 4099, 200_003];

describe("wasm streaming kernels", () => {
  it("binary + − × ÷ equal JavaScript's float32 results bit for bit, contiguous or with a broadcast scalar", () => {
    for (const length of LENGTHS) {
      const x = values(length, 1);
      const y = values(length, 2);
      const scalarX = values(3, 3).subarray(2);
      const scalarY = Float32Array.of(-0.375);
      for (const op of ["add", "sub", "mul", "div"] as const) {
        for (const [xScalar, yScalar] of [
          [false, false],
          [true, false],
          [false, true],
        ] as const) {
          const left = xScalar ? scalarX : x;
          const right = yScalar ? scalarY : y;
          // Operands at an offset inside their blocks, as views of a larger tensor are.
          const leftBlock = block([9, 9, ...left]);
          const rightBlock = block([9, ...right]);
          const out = getHeap().alloc(Math.max(length, 1));
          binaryHeap(
            op,
            { block: leftBlock, offset: 2, scalar: xScalar },
            { block: rightBlock, offset: 1, scalar: yScalar },
            { block: out, offset: 0 },
            length,
          );
          const expected = new Float32Array(length);
          for (let index = 0; index < length; index++) {
            expected[index] = javascript[op](left[xScalar ? 0 : index] as number, right[yScalar ? 0 : index] as number);
          }
          expectSameBits(read(out, length), expected);
          free(leftBlock, rightBlock, out);
        }
      }
    }
  });

  it("AdamW equals the JavaScript kernel bit for bit over several steps", () => {
    for (const length of [1, 2, 5, 200_001]) {
      const param = values(length, 4).map((value) => (Number.isFinite(value) ? value : 0.5));
      const hostParam = Float32Array.from(param);
      const hostM = new Float32Array(length);
      const hostV = new Float32Array(length);
      const paramBlock = block(param);
      const mBlock = block(hostM);
      const vBlock = block(hostV);
      for (let step = 1; step <= 3; step++) {
        const grad = values(length + 3, 10 + step).map((value) => (Number.isFinite(value) ? value : -2));
        const gradBlock = block(grad);
        const hyper = { learningRate: 1e-3 * step, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1, step };
        adamwStep(hostParam, grad, 3, hostM, hostV, length, hyper);
        adamwHeap(
          { block: paramBlock, offset: 0 },
          { block: gradBlock, offset: 3 },
          { block: mBlock, offset: 0 },
          { block: vBlock, offset: 0 },
          length,
          hyper,
        );
        free(gradBlock);
      }
      expectSameBits(read(paramBlock, length), hostParam);
      expectSameBits(read(mBlock, length), hostM);
      expectSameBits(read(vBlock, length), hostV);
      free(paramBlock, mBlock, vBlock);
    }
  });

  /** silu and sigmoid as the transcendental kernels compute them (what the unfused ops run). */
  function transcendental(op: "silu" | "sigmoid", x: Float32Array): Float32Array {
    const input = block(x);
    const output = getHeap().alloc(Math.max(x.length, 1));
    transcendentalInto(op, { block: input, offset: 0 }, { block: output, offset: 0 }, x.length);
    const result = read(output, x.length);
    free(input, output);
    return result;
  }

  it("SwiGLU forward and backward equal the unfused ops (silu kernel, then mul; mul's and silu's rules)", () => {
    const f = Math.fround;
    for (const length of LENGTHS) {
      const gate = values(length, 5).map((value) => value / 2 ** 8);
      const up = values(length, 6);
      const gradOut = values(length, 7);
      const silu = transcendental("silu", gate);
      const sigmoid = transcendental("sigmoid", gate);
      const expectedOut = new Float32Array(length);
      const expectedGradGate = new Float32Array(length);
      const expectedGradUp = new Float32Array(length);
      for (let index = 0; index < length; index++) {
        const g = gate[index] as number;
        const s = sigmoid[index] as number;
        expectedOut[index] = (silu[index] as number) * (up[index] as number);
        expectedGradUp[index] = (gradOut[index] as number) * (silu[index] as number);
        const inner = f(s * f(1 + f(g * f(1 - s))));
        expectedGradGate[index] = f((gradOut[index] as number) * (up[index] as number)) * inner;
      }
      const [gateBlock, upBlock, gradBlock] = [gate, up, gradOut].map(block) as [HeapBlock, HeapBlock, HeapBlock];
      const [out, gradGate, gradUp] = [0, 0, 0].map(() => getHeap().alloc(Math.max(length, 1))) as [
        HeapBlock,
        HeapBlock,
        HeapBlock,
      ];
      const at = (each: HeapBlock) => ({ block: each, offset: 0 });
      swigluHeap(at(gateBlock), at(upBlock), at(out), length);
      swigluBackwardHeap(at(gateBlock), at(upBlock), at(gradBlock), at(gradGate), at(gradUp), length);
      expectSameBits(read(out, length), expectedOut);
      expectSameBits(read(gradGate, length), expectedGradGate);
      expectSameBits(read(gradUp, length), expectedGradUp);
      free(gateBlock, upBlock, gradBlock, out, gradGate, gradUp);
    }
  });

  it("rmsnorm forward and backward equal the JavaScript row kernels bit for bit, on one thread or two", () => {
    const shapes = [
      [1, 1],
      [3, 7],
      [5, 64],
      [2, 513],
      [1024, 512],
      [333, 65],
    ] as const;
    for (const [rows, width] of shapes) {
      const finite = (seed: number, length: number) =>
        values(length, seed).map((value) => (Number.isFinite(value) ? value / 2 ** 10 : 0.25));
      const x = finite(rows + width, rows * width);
      const weight = finite(3, width);
      const gradient = finite(4, rows * width);
      const epsilon = 1e-5;
      const expected = new Float32Array(rows * width);
      rmsnormRows(x, 0, weight, 0, epsilon, expected, rows, width);
      const expectedGradX = new Float32Array(rows * width);
      const expectedGradWeight = new Float32Array(width);
      rmsnormBackwardRows(x, 0, weight, 0, gradient, 0, epsilon, expectedGradX, expectedGradWeight, rows, width);
      for (const count of [1, 2]) {
        setMatmulThreads(count);
        const [xBlock, weightBlock, gradientBlock] = [x, weight, gradient].map(block) as [
          HeapBlock,
          HeapBlock,
          HeapBlock,
        ];
        const out = getHeap().alloc(rows * width);
        const gradX = getHeap().alloc(rows * width);
        const gradWeight = block(new Float32Array(width).fill(7)); // overwritten, not added to
        const at = (each: HeapBlock) => ({ block: each, offset: 0 });
        rmsnormHeap(at(xBlock), at(weightBlock), at(out), rows, width, epsilon);
        rmsnormBackwardHeap(
          at(xBlock),
          at(weightBlock),
          at(gradientBlock),
          at(gradX),
          at(gradWeight),
          rows,
          width,
          epsilon,
        );
        expectSameBits(read(out, rows * width), expected);
        expectSameBits(read(gradX, rows * width), expectedGradX);
        expectSameBits(read(gradWeight, width), expectedGradWeight);
        free(xBlock, weightBlock, gradientBlock, out, gradX, gradWeight);
      }
    }
  });

  it("cross-entropy and its gradient equal the JavaScript row kernels bit for bit, ignored rows included", () => {
    for (const [rows, classes] of [
      [1, 1],
      [3, 5],
      [7, 333],
      [64, 6400],
    ] as const) {
      // Logits over a wide range (exp underflows to subnormals and 0 in places), one −∞ logit, targets with
      // ignored rows (−100) between kept ones.
      const logits = values(rows * classes, rows + classes).map((value) =>
        Number.isFinite(value) ? Math.max(-800, Math.min(800, value)) : 3,
      );
      logits[Math.min(2, logits.length - 1)] = Number.NEGATIVE_INFINITY;
      const targets = Int32Array.from({ length: rows }, (_, row) => (row % 3 === 1 ? -100 : (row * 7919) % classes));
      const expectedLoss = crossEntropyRows(logits, 0, targets, 0, -100, rows, classes);
      const expectedGradient = new Float32Array(rows * classes);
      crossEntropyBackwardRows(logits, 0, targets, 0, -100, 0.75, expectedGradient, rows, classes);
      for (const count of [1, 2]) {
        setMatmulThreads(count);
        const logitsBlock = block([9, ...logits]);
        const targetsBlock = getHeap().alloc(rows + 1);
        targetsBlock.i32().set(targets, 1);
        const out = getHeap().alloc(rows * classes);
        const loss = crossEntropyHeap(
          { block: logitsBlock, offset: 1 },
          { block: targetsBlock, offset: 1 },
          rows,
          classes,
          -100,
        );
        crossEntropyBackwardHeap(
          { block: logitsBlock, offset: 1 },
          { block: targetsBlock, offset: 1 },
          { block: out, offset: 0 },
          rows,
          classes,
          -100,
          0.75,
        );
        expect(Object.is(loss, expectedLoss), `loss ${loss} vs ${expectedLoss} (${rows}×${classes})`).toBe(true);
        expectSameBits(read(out, rows * classes), expectedGradient);
        free(logitsBlock, targetsBlock, out);
      }
    }
  });

  it("cross-entropy names a target out of range, as the JavaScript kernel does", () => {
    const logits = block(new Float32Array(6));
    const targets = getHeap().alloc(2);
    targets.i32().set([1, 3]);
    const at = (each: HeapBlock) => ({ block: each, offset: 0 });
    const message = "[crossEntropy] target 3 at row 1 is outside [0, 3); use ignoreIndex to skip rows";
    expect(() => crossEntropyHeap(at(logits), at(targets), 2, 3, -100)).toThrow(message);
    expect(() => crossEntropyBackwardHeap(at(logits), at(targets), at(logits), 2, 3, -100, 1)).toThrow(message);
    free(logits, targets);
  });

  it("splits a large call over the threads, with the same bits on one thread", () => {
    const length = 300_001;
    const x = block(values(length, 8));
    const y = block(values(length, 9));
    const results = [1, 2].map((count) => {
      setMatmulThreads(count);
      const out = getHeap().alloc(length);
      swigluHeap({ block: x, offset: 0 }, { block: y, offset: 0 }, { block: out, offset: 0 }, length);
      const used = getLastMatmulThreadCount();
      const result = read(out, length);
      free(out);
      return { used, result };
    });
    expect(results.map(({ used }) => used)).toEqual([1, 2]);
    expectSameBits(results[1]?.result as Float32Array, results[0]?.result as Float32Array);
    free(x, y);
  });

  it("names the operand that does not fit its block", () => {
    const small = getHeap().alloc(4);
    expect(() =>
      binaryHeap(
        "add",
        { block: small, offset: 2, scalar: false },
        { block: small, offset: 0, scalar: false },
        { block: small, offset: 0 },
        4,
      ),
    ).toThrow("[wasm binary] operand x has 4 elements; cannot use 4 from offset 2");
    expect(() =>
      binaryHeap(
        "add",
        { block: small, offset: 0, scalar: true },
        { block: small, offset: 1, scalar: true },
        { block: small, offset: 0 },
        4,
      ),
    ).toThrow("at most one operand may be a broadcast scalar");
    free(small);
  });
});
