import { describe, expect, it } from "vitest";
import {
  adamwUpdate,
  crossEntropy,
  logSoftmax,
  mul,
  rmsnorm,
  rope,
  silu,
  softmax,
  swiglu,
  type Tensor,
  tensor,
  transpose,
  uniform,
} from "./index.js";
import {
  adamwUpdateComposed,
  crossEntropyComposed,
  logSoftmaxComposed,
  rmsnormComposed,
  ropeComposed,
  softmaxComposed,
} from "./internals.js";

/**
 * Both sides element by element, after checking they have the same, non-zero number of elements (so an empty or
 * missing result cannot pass).
 */
function expectCloseArrays(
  fast: ArrayLike<number>,
  composed: ArrayLike<number>,
  tolerance: number,
  label: string,
): void {
  expect(fast.length, `${label}: element count`).toBe(composed.length);
  expect(composed.length, `${label}: nothing to compare`).toBeGreaterThan(0);
  for (let index = 0; index < composed.length; index++) {
    const error = Math.abs(fast[index] - composed[index]);
    if (!(error <= tolerance * Math.max(1, Math.abs(composed[index])))) {
      throw new Error(`${label}, element ${index}: fused ${fast[index]} vs composed ${composed[index]}`);
    }
  }
}

function expectClose(fast: Tensor, composed: Tensor, tolerance: number, label = "values"): void {
  expect(fast.shape, `${label}: shape`).toEqual(composed.shape);
  expectCloseArrays(fast.dataSync(), composed.dataSync(), tolerance, label);
}

/** Gradient of sum(f(x) ⊙ r) w.r.t. each input, as a flat array per input; an input without one fails. */
function gradients(f: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], projection: Tensor, side: string) {
  for (const input of inputs) input.zeroGrad();
  f(...inputs)
    .mul(projection)
    .sum()
    .backward();
  const result = inputs.map((input, index) => {
    const gradient = input.grad;
    if (gradient === null) throw new Error(`${side}: input ${index} received no gradient`);
    expect(gradient.shape, `${side}: shape of the gradient of input ${index}`).toEqual(input.shape);
    return Float64Array.from(gradient.dataSync());
  });
  for (const input of inputs) input.zeroGrad();
  return result;
}

function expectSameGradients(
  fast: (...inputs: Tensor[]) => Tensor,
  composed: (...inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  outputShape: number[],
  tolerance: number,
): void {
  const projection = uniform(outputShape, { seed: 99, low: -1, high: 1, dtype: inputs[0].dtype });
  const fastGradients = gradients(fast, inputs, projection, "fused");
  const composedGradients = gradients(composed, inputs, projection, "composed");
  expect(fastGradients.length).toBe(inputs.length);
  expect(composedGradients.length).toBe(inputs.length);
  inputs.forEach((_, inputIndex) => {
    expectCloseArrays(
      fastGradients[inputIndex],
      composedGradients[inputIndex],
      tolerance,
      `gradient of input ${inputIndex}`,
    );
  });
}

describe("fused ops agree with their compositions from primitives (float32)", () => {
  it("softmax and log-softmax, values and gradients", () => {
    const x = uniform([4, 7], { seed: 1, low: -4, high: 4 }).requireGrad();
    expectClose(softmax(x), softmaxComposed(x), 1e-6);
    expectClose(logSoftmax(x), logSoftmaxComposed(x), 1e-6);
    expectSameGradients((a) => softmax(a), softmaxComposed, [x], [4, 7], 1e-5);
    expectSameGradients((a) => logSoftmax(a), logSoftmaxComposed, [x], [4, 7], 1e-5);
    // A non-contiguous input.
    const y = uniform([7, 4], { seed: 2 });
    expectClose(softmax(transpose(y)), softmaxComposed(transpose(y)), 1e-6);
  });

  it("rmsnorm, values and gradients of x and weight", () => {
    const x = uniform([2, 3, 8], { seed: 3, low: -2, high: 2 }).requireGrad();
    const weight = uniform([8], { seed: 4, low: 0.5, high: 1.5 }).requireGrad();
    expectClose(rmsnorm(x, weight), rmsnormComposed(x, weight), 1e-5);
    expectSameGradients(
      (a, w) => rmsnorm(a, w),
      (a, w) => rmsnormComposed(a, w),
      [x, weight],
      [2, 3, 8],
      1e-4,
    );
  });

  it("swiglu equals mul(silu(gate), up) bit for bit on the CPU, values and both gradients", () => {
    // Large enough for the threaded wasm kernel; and a strided gate, which the kernel copies first.
    const shape = [3, 50, 700];
    const gate = uniform(shape, { seed: 7, low: -12, high: 12 }).requireGrad();
    const up = uniform(shape, { seed: 8, low: -3, high: 3 }).requireGrad();
    const unfused = (g: Tensor, u: Tensor) => mul(silu(g), u);
    expectClose(swiglu(gate, up), unfused(gate, up), 0);
    expectSameGradients(swiglu, unfused, [gate, up], shape, 0);
    // A strided gate: the unfused silu runs JavaScript's Math.exp on it, the fused kernel copies it and runs
    // the float32 wasm exp, so the two are a few float32 steps apart here instead of equal.
    const columns = uniform([9, 7], { seed: 9, low: -6, high: 6 }).requireGrad();
    const rows = uniform([7, 9], { seed: 10 }).requireGrad();
    expectSameGradients(
      (g, u) => swiglu(transpose(g), u),
      (g, u) => unfused(transpose(g), u),
      [columns, rows],
      [7, 9],
      1e-6,
    );
    expect(() => swiglu(gate, rows)).toThrow(
      "[swiglu] shapes [3,50,700] and [7,9] are incompatible: gate and up must have one shape",
    );
  });

  it("rope, values and gradients, for both sequence-axis layouts", () => {
    const positions = 5;
    const half = 4;
    const angles = Array.from({ length: positions }, (_, p) =>
      Array.from({ length: half }, (_, j) => p / 10000 ** (j / half)),
    );
    const cos = tensor(angles.map((row) => row.map(Math.cos)));
    const sin = tensor(angles.map((row) => row.map(Math.sin)));
    const bhtd = uniform([2, 3, positions, 2 * half], { seed: 5 }).requireGrad();
    expectClose(rope(bhtd, cos, sin), ropeComposed(bhtd, cos, sin), 1e-6);
    expectSameGradients(
      (x) => rope(x, cos, sin),
      (x) => ropeComposed(x, cos, sin),
      [bhtd],
      [2, 3, positions, 2 * half],
      1e-5,
    );
    const bthd = uniform([2, positions, 3, 2 * half], { seed: 6 }).requireGrad();
    const options = { sequenceAxis: 1 };
    expectClose(rope(bthd, cos, sin, options), ropeComposed(bthd, cos, sin, options), 1e-6);
    expectSameGradients(
      (x) => rope(x, cos, sin, options),
      (x) => ropeComposed(x, cos, sin, options),
      [bthd],
      [2, positions, 3, 2 * half],
      1e-5,
    );
  });

  it("cross-entropy with ignored targets, value and gradient", () => {
    const logits = uniform([2, 5, 11], { seed: 7, low: -3, high: 3 }).requireGrad();
    const targets = tensor(new Int32Array([3, -100, 0, 10, 7, -100, -100, 1, 2, 5]), { shape: [2, 5] });
    expectClose(crossEntropy(logits, targets), crossEntropyComposed(logits, targets), 1e-6);
    expectSameGradients(
      (x) => crossEntropy(x, targets),
      (x) => crossEntropyComposed(x, targets),
      [logits],
      [],
      1e-6,
    );
  });

  it("AdamW: fused in-place step equals the composed step over several steps", () => {
    const make = (seed: number) => uniform([3, 5], { seed, low: -1, high: 1 });
    const fastParam = make(8);
    const composedParam = make(8);
    const fastM = make(9).mul(0);
    const fastV = make(9).mul(0);
    const composedM = make(9).mul(0);
    const composedV = make(9).mul(0);
    for (let step = 1; step <= 5; step++) {
      const grad = make(20 + step);
      const options = { learningRate: 1e-2, weightDecay: 0.1, step };
      adamwUpdate(fastParam, grad, fastM, fastV, options);
      adamwUpdateComposed(composedParam, grad, composedM, composedV, options);
    }
    expectClose(fastParam, composedParam, 1e-6, "param");
    expectClose(fastM, composedM, 1e-6, "m");
    expectClose(fastV, composedV, 1e-6, "v");
  });

  it("AdamW first step matches the closed form", () => {
    // After one step from m = v = 0: m̂ = g, v̂ = g², so p ← p(1 − lr·wd) − lr·g/(|g| + ε).
    const param = tensor([1, -2, 0.5]);
    const grad = tensor([0.5, -1, 2]);
    const m = tensor([0, 0, 0]);
    const v = tensor([0, 0, 0]);
    adamwUpdate(param, grad, m, v, { learningRate: 0.1, weightDecay: 0.01, epsilon: 1e-8, step: 1 });
    const expected = [1, -2, 0.5].map((p, i) => {
      const g = [0.5, -1, 2][i];
      return p * (1 - 0.1 * 0.01) - (0.1 * g) / (Math.abs(g) + 1e-8);
    });
    expectClose(param, tensor(expected), 1e-6);
  });
});
