import { describe, expect, it } from "vitest";
import {
  abs,
  add,
  cast,
  concat,
  contiguous,
  crossEntropy,
  customOp,
  div,
  dropout,
  exp,
  expand,
  gatherRows,
  gradcheck,
  indexAddRows,
  linear,
  log,
  logSoftmax,
  matmul,
  max,
  maximum,
  mean,
  minimum,
  mul,
  neg,
  permute,
  pow,
  relu,
  reshape,
  rmsnorm,
  rope,
  rsqrt,
  sigmoid,
  silu,
  slice,
  softmax,
  sqrt,
  sub,
  sum,
  swiglu,
  type Tensor,
  takeAlongLastAxis,
  tanh,
  tensor,
  transpose,
  uniform,
  where,
} from "./index.js";
import type { PrimitiveOp } from "./internals.js";
import { cpuData, crossEntropyComposed, empty, primitiveOps, rmsnormComposed, ropeComposed } from "./internals.js";

interface GradCase {
  name: string;
  inputs: () => Tensor[];
  fn: (...inputs: Tensor[]) => Tensor;
}

let seed = 1;
/** A float64 leaf with uniform values in [low, high). */
function leaf(shape: number[], low = -1, high = 1): Tensor {
  return uniform(shape, { dtype: "float64", low, high, seed: seed++ }).requireGrad();
}
function constant(shape: number[], low = -1, high = 1): Tensor {
  return uniform(shape, { dtype: "float64", low, high, seed: seed++ });
}
function ints(values: number[], shape?: number[]): Tensor {
  return tensor(new Int32Array(values), shape ? { shape } : {});
}
/** Distinct values (so max/maximum have no ties): a shuffled ramp. */
function distinct(shape: number[]): Tensor {
  const size = shape.reduce((x, y) => x * y, 1);
  const values = new Float64Array(size);
  for (let index = 0; index < size; index++) values[index] = ((index * 7) % size) / size - 0.5;
  return tensor(values, { shape }).requireGrad();
}

const ropeTables = (positions: number, half: number) => {
  const cosValues = new Float64Array(positions * half);
  const sinValues = new Float64Array(positions * half);
  for (let position = 0; position < positions; position++) {
    for (let index = 0; index < half; index++) {
      const angle = position / 10000 ** (index / half);
      cosValues[position * half + index] = Math.cos(angle);
      sinValues[position * half + index] = Math.sin(angle);
    }
  }
  return [tensor(cosValues, { shape: [positions, half] }), tensor(sinValues, { shape: [positions, half] })];
};

/** Every primitive op has at least one case; `tsc` and the test below both enforce it. */
const primitiveCases: { [P in PrimitiveOp]: GradCase[] } = {
  add: [
    { name: "broadcast", inputs: () => [leaf([2, 3]), leaf([3])], fn: add },
    { name: "transposed", inputs: () => [leaf([3, 2]), leaf([2, 3])], fn: (a, b) => add(transpose(a), b) },
  ],
  sub: [{ name: "broadcast", inputs: () => [leaf([2, 1, 3]), leaf([4, 1])], fn: sub }],
  mul: [
    { name: "broadcast", inputs: () => [leaf([2, 3]), leaf([2, 1])], fn: mul },
    { name: "same input", inputs: () => [leaf([4])], fn: (a) => mul(a, a) },
  ],
  div: [{ name: "broadcast", inputs: () => [leaf([2, 3]), leaf([3], 0.5, 2)], fn: div }],
  pow: [
    { name: "tensor exponent", inputs: () => [leaf([2, 3], 0.5, 2), leaf([2, 3])], fn: pow },
    { name: "scalar exponent", inputs: () => [leaf([3], 0.5, 2)], fn: (a) => pow(a, 3) },
  ],
  maximum: [{ name: "no ties", inputs: () => [distinct([2, 3]), leaf([3], -0.05, 0.05)], fn: maximum }],
  neg: [{ name: "plain", inputs: () => [leaf([3])], fn: neg }],
  exp: [{ name: "sliced", inputs: () => [leaf([3, 4])], fn: (x) => exp(slice(x, [1, 1], [3, 4])) }],
  log: [{ name: "positive", inputs: () => [leaf([5], 0.5, 2)], fn: log }],
  sqrt: [{ name: "positive", inputs: () => [leaf([5], 0.5, 2)], fn: sqrt }],
  rsqrt: [{ name: "positive", inputs: () => [leaf([5], 0.5, 2)], fn: rsqrt }],
  abs: [{ name: "away from 0", inputs: () => [distinct([6])], fn: (x) => abs(add(x, 0.01)) }],
  sigmoid: [{ name: "plain", inputs: () => [leaf([2, 3], -3, 3)], fn: sigmoid }],
  silu: [{ name: "transposed", inputs: () => [leaf([3, 2], -3, 3)], fn: (x) => silu(transpose(x)) }],
  where: [
    {
      name: "broadcast condition",
      inputs: () => [tensor(new Uint8Array([1, 0, 1]), { shape: [3] }), leaf([2, 3]), leaf([2, 1])],
      fn: where,
    },
  ],
  sum: [
    { name: "axis 1 keepdim", inputs: () => [leaf([2, 3, 4])], fn: (x) => sum(x, 1, true) },
    { name: "all", inputs: () => [leaf([2, 3])], fn: (x) => sum(x) },
    {
      name: "axes 0,2 of a permuted view",
      inputs: () => [leaf([2, 3, 4])],
      fn: (x) => sum(permute(x, [2, 0, 1]), [0, 2]),
    },
  ],
  max: [
    { name: "last axis", inputs: () => [distinct([3, 4])], fn: (x) => max(x, -1) },
    { name: "axis 0 keepdim", inputs: () => [distinct([3, 4])], fn: (x) => max(x, 0, true) },
  ],
  matmul: [
    { name: "batched · shared", inputs: () => [leaf([2, 3, 4]), leaf([4, 5])], fn: matmul },
    { name: "broadcast batch dims", inputs: () => [leaf([2, 1, 3, 4]), leaf([3, 4, 2])], fn: matmul },
    {
      name: "transposed operands",
      inputs: () => [leaf([4, 3]), leaf([5, 4])],
      fn: (a, b) => matmul(transpose(a), transpose(b)),
    },
    {
      name: "strided batch",
      inputs: () => [leaf([3, 2, 4]), leaf([2, 4, 3])],
      fn: (a, b) => matmul(permute(a, [1, 0, 2]), b),
    },
  ],
  reshape: [{ name: "of a transposed view", inputs: () => [leaf([3, 4])], fn: (x) => reshape(transpose(x), [2, 6]) }],
  permute: [
    { name: "3-d", inputs: () => [leaf([2, 3, 4]), constant([4, 2, 3])], fn: (x, c) => mul(permute(x, [2, 0, 1]), c) },
  ],
  expand: [
    { name: "two axes", inputs: () => [leaf([3, 1]), constant([2, 3, 4])], fn: (x, c) => mul(expand(x, [2, 3, 4]), c) },
  ],
  slice: [{ name: "interior", inputs: () => [leaf([4, 5])], fn: (x) => slice(x, [1, -4], [3, 4]) }],
  concat: [
    { name: "axis 1", inputs: () => [leaf([2, 3]), leaf([2, 2])], fn: (a, b) => concat([a, b], 1) },
    {
      name: "axis 0 with a view",
      inputs: () => [leaf([2, 3]), leaf([3, 1])],
      fn: (a, b) => concat([a, transpose(b)], 0),
    },
  ],
  contiguous: [{ name: "transposed", inputs: () => [leaf([2, 3])], fn: (x) => contiguous(transpose(x)) }],
  cast: [{ name: "float64 → float64", inputs: () => [leaf([2, 3])], fn: (x) => cast(transpose(x), "float64") }],
  gatherRows: [{ name: "repeated ids", inputs: () => [leaf([5, 3]), ints([1, 4, 1, 0], [2, 2])], fn: gatherRows }],
  indexAddRows: [
    { name: "repeated ids", inputs: () => [leaf([4, 3]), ints([0, 2, 0]), leaf([3, 3])], fn: indexAddRows },
  ],
  takeAlongLastAxis: [
    { name: "picks", inputs: () => [leaf([2, 5]), ints([4, 0, 4, 1, 1, 2], [2, 3])], fn: takeAlongLastAxis },
  ],
  softmax: [
    { name: "last axis", inputs: () => [leaf([3, 5], -2, 2)], fn: (x) => softmax(x) },
    { name: "axis 0", inputs: () => [leaf([3, 4], -2, 2)], fn: (x) => softmax(x, 0) },
  ],
  logSoftmax: [{ name: "transposed", inputs: () => [leaf([5, 3], -2, 2)], fn: (x) => logSoftmax(transpose(x)) }],
  rmsnorm: [{ name: "3-d", inputs: () => [leaf([2, 3, 4]), leaf([4], 0.5, 1.5)], fn: (x, w) => rmsnorm(x, w, 1e-6) }],
  rope: [
    {
      name: "[heads, positions, dim]",
      inputs: () => [leaf([2, 3, 4]), ...ropeTables(3, 2)],
      fn: (x, c, s) => rope(x, c, s),
    },
    {
      name: "[positions, heads, dim] with sequenceAxis -3",
      inputs: () => [leaf([3, 2, 6]), ...ropeTables(3, 3)],
      fn: (x, c, s) => rope(x, c, s, { sequenceAxis: -3 }),
    },
  ],
  swiglu: [
    {
      name: "gate strided (transposed)",
      inputs: () => [leaf([3, 2], -3, 3), leaf([2, 3])],
      fn: (gate, up) => swiglu(transpose(gate), up),
    },
  ],
  crossEntropy: [
    {
      name: "with an ignored target",
      inputs: () => [leaf([4, 5], -2, 2), ints([1, -100, 4, 0])],
      fn: (logits, targets) => crossEntropy(logits, targets),
    },
  ],
};

const compoundCases: GradCase[] = [
  { name: "mean", inputs: () => [leaf([2, 3])], fn: (x) => mean(x, 1) },
  { name: "minimum", inputs: () => [distinct([2, 3]), leaf([3], -0.05, 0.05)], fn: minimum },
  { name: "tanh", inputs: () => [leaf([4], -2, 2)], fn: tanh },
  { name: "relu", inputs: () => [distinct([6])], fn: (x) => relu(add(x, 0.01)) },
  { name: "dropout (seeded)", inputs: () => [leaf([4, 4])], fn: (x) => dropout(x, 0.25, { seed: 7 }) },
  { name: "linear", inputs: () => [leaf([2, 3]), leaf([4, 3]), leaf([4])], fn: (x, w, b) => linear(x, w, b) },
  { name: "rmsnormComposed", inputs: () => [leaf([2, 4]), leaf([4])], fn: (x, w) => rmsnormComposed(x, w) },
  { name: "ropeComposed", inputs: () => [leaf([3, 4]), ...ropeTables(3, 2)], fn: (x, c, s) => ropeComposed(x, c, s) },
  {
    name: "crossEntropyComposed",
    inputs: () => [leaf([3, 4]), ints([3, -100, 1])],
    fn: (logits, targets) => crossEntropyComposed(logits, targets),
  },
];

describe("gradcheck (float64 central differences)", () => {
  it("has a case for every primitive op in the table", () => {
    expect(Object.keys(primitiveCases).sort()).toEqual([...primitiveOps].sort());
    for (const op of primitiveOps) expect(primitiveCases[op].length).toBeGreaterThan(0);
  });

  for (const op of primitiveOps) {
    for (const testCase of primitiveCases[op]) {
      it(`${op}: ${testCase.name}`, () => {
        const result = gradcheck(testCase.fn, testCase.inputs());
        expect(result.failures).toEqual([]);
        expect(result.ok).toBe(true);
      });
    }
  }

  for (const testCase of compoundCases) {
    it(`compound ${testCase.name}`, () => {
      const result = gradcheck(testCase.fn, testCase.inputs());
      expect(result.failures).toEqual([]);
    });
  }

  it("customOp: a cube op with a hand-written backward", () => {
    const cube = customOp({
      name: "cube",
      forward: (x) => mul(mul(x, x), x),
      backward: (g, { inputs: [x] }) => [mul(g, mul(mul(x, x), 3))],
    });
    const result = gradcheck((x) => cube(x), [leaf([3, 2])]);
    expect(result.failures).toEqual([]);
  });

  it("customOp over raw CPU arrays (cpuData/empty), as a flash-attention kernel would be written", () => {
    // softplus(x) = log(1 + eˣ), derivative σ(x), both computed on the raw elements.
    const softplus = customOp({
      name: "softplus",
      forward: (x) => {
        const out = empty(x.shape, { dtype: x.dtype });
        const input = cpuData(x.contiguous());
        const output = cpuData(out);
        for (let index = 0; index < output.length; index++) output[index] = Math.log1p(Math.exp(input[index]));
        return out;
      },
      backward: (g, { inputs: [x] }) => {
        const gradient = empty(x.shape, { dtype: x.dtype });
        const input = cpuData(x.contiguous());
        const upstream = cpuData(g.contiguous());
        const output = cpuData(gradient);
        for (let index = 0; index < output.length; index++)
          output[index] = upstream[index] / (1 + Math.exp(-input[index]));
        return [gradient];
      },
    });
    const result = gradcheck((x) => softplus(transpose(x)), [leaf([3, 4], -3, 3)]);
    expect(result.failures).toEqual([]);
  });

  it("reports a wrong derivative", () => {
    const wrong = customOp({
      name: "wrongSquare",
      forward: (x) => mul(x, x),
      backward: (g, { inputs: [x] }) => [mul(g, x)],
    });
    const result = gradcheck((x) => wrong(x), [leaf([3], 0.5, 1)]);
    expect(result.ok).toBe(false);
    expect(result.failures.length).toBe(3);
  });
});
