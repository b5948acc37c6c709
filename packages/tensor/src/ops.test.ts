import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import "./gpujs.js";
import {
  abs,
  add,
  arange,
  argmax,
  cast,
  concat,
  crossEntropy,
  div,
  embedding,
  equal,
  exp,
  expand,
  full,
  gatherRows,
  getBackend,
  indexAddRows,
  log,
  logSoftmax,
  matmul,
  max,
  maximum,
  mean,
  minimum,
  mul,
  multinomial,
  neg,
  ones,
  permute,
  pow,
  relu,
  reshape,
  rmsnorm,
  rope,
  rsqrt,
  setBackend,
  sigmoid,
  silu,
  slice,
  softmax,
  sqrt,
  squeeze,
  sub,
  sum,
  type Tensor,
  takeAlongLastAxis,
  tanh,
  tensor,
  topk,
  transpose,
  uniform,
  unsqueeze,
  where,
  zeros,
} from "./index.js";
import { primitivesOnly, registerBackend } from "./internals.js";

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let index = 0; index < expected.length; index++) {
    const error = Math.abs(actual[index] - expected[index]);
    if (!(error <= tolerance * Math.max(1, Math.abs(expected[index])))) {
      throw new Error(`element ${index}: got ${actual[index]}, expected ${expected[index]}`);
    }
  }
}

/** Float64 reference: elements of a tensor in row-major order, read through its strides. */
function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Naive float64 batched matmul over row-major arrays with numpy broadcasting of batch dims. */
function referenceMatmul(
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
 * The shared op suite, run on every backend: the CPU backend, the CPU backend restricted to its primitive
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
function precise(data: readonly number[]): Float64Array | Float32Array {
  return getBackend().supportsDType("float64") ? Float64Array.from(data) : Float32Array.from(data);
}

/** A float64 tolerance, or float32's where the backend computes in float32. */
function tolerance(float64: number): number {
  return getBackend().supportsDType("float64") ? float64 : Math.max(float64, 2e-6);
}

describe.each(backends)("ops on the $name backend", ({ name: backendName, options, checks }) => {
  const previous = getBackend().name;
  const validatesIndices = checks !== "none";
  const validatesFusedInputs = checks === "all";
  beforeAll(() => {
    setBackend(backendName, options);
  });
  afterAll(() => {
    setBackend(previous);
  });

  describe("elementwise ops", () => {
    it("add/sub/mul/div broadcast against hand-computed values", () => {
      const a = tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const b = tensor([10, 20, 30]);
      const column = tensor([[2], [4]]);
      expect(add(a, b).toArray()).toEqual([
        [11, 22, 33],
        [14, 25, 36],
      ]);
      expect(sub(b, a).toArray()).toEqual([
        [9, 18, 27],
        [6, 15, 24],
      ]);
      expect(mul(a, column).toArray()).toEqual([
        [2, 4, 6],
        [16, 20, 24],
      ]);
      expect(div(a, column).toArray()).toEqual([
        [0.5, 1, 1.5],
        [1, 1.25, 1.5],
      ]);
      expect(add(3, a).toArray()).toEqual([
        [4, 5, 6],
        [7, 8, 9],
      ]);
      expect(a.sub(1).mul(2).toArray()).toEqual([
        [0, 2, 4],
        [6, 8, 10],
      ]);
    });

    it("int32 arithmetic stays int32", () => {
      const a = tensor(new Int32Array([1, 2, 3]));
      const result = add(a, 2);
      expect(result.dtype).toBe("int32");
      expect(values(result)).toEqual([3, 4, 5]);
    });

    it("unary ops match Math in float64", () => {
      const input = [-2, -0.5, 0.25, 1, 3];
      const positive = [0.25, 0.5, 1, 2, 9];
      const x = tensor(precise(input));
      const p = tensor(precise(positive));
      close(
        values(neg(x)),
        input.map((v) => -v),
        tolerance(1e-15),
      );
      close(values(exp(x)), input.map(Math.exp), tolerance(1e-15));
      close(values(abs(x)), input.map(Math.abs), tolerance(1e-15));
      close(values(log(p)), positive.map(Math.log), tolerance(1e-15));
      close(values(sqrt(p)), positive.map(Math.sqrt), tolerance(1e-15));
      close(
        values(rsqrt(p)),
        positive.map((v) => 1 / Math.sqrt(v)),
        tolerance(1e-15),
      );
      close(
        values(sigmoid(x)),
        input.map((v) => 1 / (1 + Math.exp(-v))),
        tolerance(1e-15),
      );
      close(
        values(silu(x)),
        input.map((v) => v / (1 + Math.exp(-v))),
        tolerance(1e-15),
      );
      close(values(tanh(x)), input.map(Math.tanh), tolerance(1e-14));
      close(
        values(relu(x)),
        input.map((v) => Math.max(v, 0)),
        0,
      );
      close(
        values(pow(p, 1.5)),
        positive.map((v) => v ** 1.5),
        tolerance(1e-15),
      );
    });

    it("maximum, minimum and where", () => {
      const a = tensor([1, 5, 3]);
      const b = tensor([[2], [4]]);
      expect(maximum(a, b).toArray()).toEqual([
        [2, 5, 3],
        [4, 5, 4],
      ]);
      expect(minimum(a, b).toArray()).toEqual([
        [1, 2, 2],
        [1, 4, 3],
      ]);
      const condition = tensor(new Uint8Array([1, 0, 1]));
      expect(where(condition, a, 0).toArray()).toEqual([1, 0, 3]);
      expect(where(equal(a, 5), -1, a).toArray()).toEqual([1, -1, 3]);
    });

    it("reads non-contiguous inputs (transposed, sliced, expanded)", () => {
      const base = arange(12).reshape([3, 4]);
      const transposed = transpose(base);
      expect(transposed.isContiguous).toBe(false);
      expect(add(transposed, 0).toArray()).toEqual([
        [0, 4, 8],
        [1, 5, 9],
        [2, 6, 10],
        [3, 7, 11],
      ]);
      const sliced = slice(base, [1, 1], [3, 3]);
      expect(mul(sliced, 10).toArray()).toEqual([
        [50, 60],
        [90, 100],
      ]);
      const expanded = expand(tensor([[1], [2]]), [2, 3]);
      expect(
        add(
          expanded,
          transpose(
            tensor([
              [0, 1],
              [2, 3],
              [4, 5],
            ]),
          ),
        ).toArray(),
      ).toEqual([
        [1, 3, 5],
        [3, 5, 7],
      ]);
    });
  });

  describe("reductions", () => {
    const shape = [2, 3, 4];
    const data = Array.from({ length: 24 }, (_, index) => ((index * 5) % 24) - 11.5);
    const at = (i: number, j: number, k: number) => data[i * 12 + j * 4 + k];

    it("sum/mean/max over axes with keepdim against float64 loops", () => {
      const x = tensor(new Float32Array(data), { shape });
      const sum1: number[] = [];
      const max02: number[] = [];
      for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) sum1.push(at(i, 0, k) + at(i, 1, k) + at(i, 2, k));
      for (let j = 0; j < 3; j++) {
        let best = Number.NEGATIVE_INFINITY;
        for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) best = Math.max(best, at(i, j, k));
        max02.push(best);
      }
      const summed = sum(x, 1, true);
      expect(summed.shape).toEqual([2, 1, 4]);
      close(values(summed), sum1);
      close(
        values(mean(x, 1)),
        sum1.map((v) => v / 3),
      );
      const maxed = max(x, [0, 2]);
      expect(maxed.shape).toEqual([3]);
      close(values(maxed), max02);
      close(values(sum(x)), [data.reduce((s, v) => s + v, 0)]);
      expect(sum(x, -1).shape).toEqual([2, 3]);
    });

    it("max and sum of int32 tensors, negative values included", () => {
      const x = tensor(new Int32Array([-5, -2, -9, -7, 3, -1]), { shape: [2, 3] });
      expect(max(x, 1).toArray()).toEqual([-2, 3]);
      expect(max(x, 0).toArray()).toEqual([-5, 3, -1]);
      expect(sum(x, 1).toArray()).toEqual([-16, -5]);
      expect(max(x).dtype).toBe("int32");
    });

    it("reduces a permuted view", () => {
      const x = tensor(new Float32Array(data), { shape });
      const permuted = permute(x, [2, 0, 1]); // [4, 2, 3]
      const reduced = sum(permuted, [1, 2]); // over i, j → per k
      const expected = [0, 1, 2, 3].map((k) => {
        let total = 0;
        for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) total += at(i, j, k);
        return total;
      });
      close(values(reduced), expected);
    });
  });

  describe("matmul", () => {
    const cases: [string, number[], number[]][] = [
      ["plain", [3, 4], [4, 5]],
      ["row vector", [1, 7], [7, 9]],
      ["batched with shared right operand", [2, 3, 4], [4, 5]],
      ["broadcast batch dims", [2, 1, 3, 4], [3, 4, 2]],
      ["shared left operand", [3, 4], [2, 4, 5]],
      ["sizes that leave partial kernel tiles", [67, 131], [131, 93]],
      ["batched partial tiles", [3, 13, 29], [3, 29, 11]],
    ];
    for (const [name, aShape, bShape] of cases) {
      it(`${name}: ${JSON.stringify(aShape)} · ${JSON.stringify(bShape)}`, () => {
        const a = uniform(aShape, { seed: 1, low: -1, high: 1 });
        const b = uniform(bShape, { seed: 2, low: -1, high: 1 });
        const reference = referenceMatmul(values(a), aShape, values(b), bShape);
        const result = matmul(a, b);
        expect(result.shape).toEqual(reference.shape);
        close(values(result), reference.data, 1e-5);
      });
    }

    it("transposed and strided operands (no copy needed for transposes)", () => {
      const a = uniform([4, 3], { seed: 3 });
      const b = uniform([5, 4], { seed: 4 });
      const reference = referenceMatmul(values(transpose(a)), [3, 4], values(transpose(b)), [4, 5]);
      close(values(matmul(transpose(a), transpose(b))), reference.data, 1e-5);
      const batched = uniform([3, 2, 4], { seed: 5 });
      const right = uniform([2, 4, 3], { seed: 6 });
      const permuted = permute(batched, [1, 0, 2]); // [2, 3, 4], batch stride 4 and row stride 8
      const expected = referenceMatmul(values(permuted), [2, 3, 4], values(right), [2, 4, 3]);
      close(values(matmul(permuted, right)), expected.data, 1e-5);
    });

    it("an empty inner dimension gives zeros", () => {
      expect(matmul(ones([2, 0]), ones([0, 3])).toArray()).toEqual([
        [0, 0, 0],
        [0, 0, 0],
      ]);
    });

    it("rejects incompatible shapes naming the op and both shapes", () => {
      expect(() => matmul(zeros([2, 3]), zeros([4, 5]))).toThrow(
        "[matmul] shapes [2,3] and [4,5] are incompatible: inner dimensions 3 and 4 differ",
      );
      expect(() => matmul(zeros([2, 2, 3]), zeros([3, 3, 4]))).toThrow(
        "[matmul] shapes [2,2,3] and [3,3,4] are incompatible: batch dimensions [2] and [3] do not broadcast",
      );
      expect(() => matmul(zeros([3]), zeros([3, 4]))).toThrow("[matmul] shapes [3] and [3,4] are incompatible");
    });
  });

  describe("views and shape ops", () => {
    it("reshape, permute, slice and expand share storage; reshape of a strided view copies", () => {
      const x = arange(6).reshape([2, 3]);
      const viewed = reshape(x, [3, 2]);
      expect(viewed.storage).toBe(x.storage);
      expect(viewed.toArray()).toEqual([
        [0, 1],
        [2, 3],
        [4, 5],
      ]);
      expect(reshape(x, [-1]).shape).toEqual([6]);
      const transposed = transpose(x);
      expect(transposed.storage).toBe(x.storage);
      const flattened = reshape(transposed, [6]);
      expect(flattened.storage).not.toBe(x.storage);
      expect(values(flattened)).toEqual([0, 3, 1, 4, 2, 5]);
      expect(slice(x, [0, 1]).storage).toBe(x.storage);
      expect(slice(x, [0, -2], [1, 3]).toArray()).toEqual([[1, 2]]);
      expect(expand(tensor([1, 2, 3]), [2, 3]).strides).toEqual([0, 1]);
      expect(squeeze(unsqueeze(x, 0)).shape).toEqual([2, 3]);
      expect(unsqueeze(x, -1).shape).toEqual([2, 3, 1]);
    });

    it("concat along each axis", () => {
      const a = tensor([
        [1, 2],
        [3, 4],
      ]);
      const b = tensor([[5, 6]]);
      expect(concat([a, b], 0).toArray()).toEqual([
        [1, 2],
        [3, 4],
        [5, 6],
      ]);
      expect(concat([a, transpose(b)], 1).toArray()).toEqual([
        [1, 2, 5],
        [3, 4, 6],
      ]);
    });

    it("cast converts dtypes (truncation to int, nonzero to bool)", () => {
      const x = tensor([-1.5, 0, 2.7]);
      const asInt = cast(x, "int32");
      expect(asInt.dtype).toBe("int32");
      expect(values(asInt)).toEqual([-1, 0, 2]);
      expect(values(cast(x, "bool"))).toEqual([1, 0, 1]);
      if (getBackend().supportsDType("float64")) expect(cast(x, "float64").dataSync()).toBeInstanceOf(Float64Array);
    });

    it("rejects bad shapes and dtypes with the op and shapes named", () => {
      expect(() => add(zeros([2, 3]), zeros([4, 3]))).toThrow(
        "[add] shapes [2,3] and [4,3] are incompatible: dimension 0 is 2 vs 4 and neither is 1",
      );
      expect(() => add(zeros([2]), tensor(new Int32Array([1, 2])))).toThrow(
        "[add] dtypes float32 and int32 of shapes [2] and [2] differ; cast one first",
      );
      expect(() => reshape(zeros([2, 3]), [4, 2])).toThrow("[reshape] shapes [2,3] and [4,2] are incompatible");
      expect(() => slice(zeros([2, 3]), [0, 2], [2, 5])).toThrow(
        "[slice] range 2:5 on axis 1 is out of bounds for shape [2,3]",
      );
      expect(() => concat([zeros([2, 3]), zeros([2, 4])], 0)).toThrow(
        "[concat] shapes [2,3] and [2,4] differ outside axis 0",
      );
      expect(() => exp(tensor(new Int32Array([1])))).toThrow("[exp] expects a float32 or float64 tensor, got int32");
      expect(() => expand(zeros([2, 3]), [3, 3])).toThrow("[expand] shapes [2,3] and [3,3] are incompatible");
      expect(() => permute(zeros([2, 3]), [0, 0])).toThrow("[permute] axes [0,0] are not a permutation");
      expect(() => sum(zeros([2, 3]), 2)).toThrow("[sum] axis 2 is out of range for a tensor of rank 2");
      expect(() => where(tensor(new Uint8Array([1, 0])), zeros([3]), 0)).toThrow(
        "[where] shapes [2] and [3] are incompatible: dimension 0 is 2 vs 3 and neither is 1",
      );
      expect(() => indexAddRows(zeros([3, 2]), tensor(new Int32Array([0])), zeros([2, 2]))).toThrow(
        "[indexAddRows] shapes [3,2] and [2,2] are incompatible: expected base [rows, width] and source [1,2]",
      );
      expect(() => takeAlongLastAxis(zeros([2, 3]), tensor(new Int32Array([0, 1, 2]), { shape: [3, 1] }))).toThrow(
        "[takeAlongLastAxis] shapes [2,3] and [3,1] are incompatible",
      );
      expect(() => mean(tensor(new Int32Array([1, 2])))).toThrow(
        "[mean] expects a float32 or float64 tensor, got int32",
      );
    });

    it("refuses a disposed tensor", () => {
      const x = zeros([2]);
      x.dispose();
      expect(() => add(x, 1)).toThrow("[add] tensor of shape [2] was used after dispose()");
    });
  });

  describe("gather and scatter", () => {
    // Created in each test (on that test's backend), not when the suite is collected.
    let table: Tensor;
    beforeEach(() => {
      table = tensor([
        [0, 1],
        [10, 11],
        [20, 21],
      ]);
    });

    it("embedding / gatherRows picks rows for ids of any shape", () => {
      const ids = tensor(new Int32Array([2, 0, 2, 1]), { shape: [2, 2] });
      const out = embedding(table, ids);
      expect(out.shape).toEqual([2, 2, 2]);
      expect(out.toArray()).toEqual([
        [
          [20, 21],
          [0, 1],
        ],
        [
          [20, 21],
          [10, 11],
        ],
      ]);
      if (validatesIndices) {
        expect(() => gatherRows(table, tensor(new Int32Array([3])))).toThrow(
          "[gather] index 3 at position 0 is outside [0, 3)",
        );
      }
      expect(() => gatherRows(table, tensor([1]))).toThrow("[gatherRows] indices must be int32, got float32");
    });

    it("indexAddRows adds repeated rows", () => {
      const out = indexAddRows(zeros([3, 2]), tensor(new Int32Array([1, 1, 0])), ones([3, 2]));
      expect(out.toArray()).toEqual([
        [1, 1],
        [2, 2],
        [0, 0],
      ]);
    });

    it("takeAlongLastAxis picks per row", () => {
      const x = tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const picked = takeAlongLastAxis(x, tensor(new Int32Array([2, 0, 1, 1]), { shape: [2, 2] }));
      expect(picked.toArray()).toEqual([
        [3, 1],
        [5, 5],
      ]);
    });
  });

  describe("softmax, norms, rope, cross-entropy (values)", () => {
    it("softmax and log-softmax against hand-computed values", () => {
      const x = tensor(precise([0, Math.log(2), Math.log(5)]), { shape: [1, 3] });
      close(values(softmax(x)), [1 / 8, 2 / 8, 5 / 8], tolerance(1e-15));
      close(values(logSoftmax(x)), [Math.log(1 / 8), Math.log(2 / 8), Math.log(5 / 8)], tolerance(1e-14));
      // Along axis 0 through a transposed view.
      close(values(softmax(transpose(x), 0)), [1 / 8, 2 / 8, 5 / 8], tolerance(1e-15));
      // Huge logits do not overflow.
      close(values(softmax(tensor([[1000, 1000]]))), [0.5, 0.5]);
    });

    it("rmsnorm against a float64 loop", () => {
      const x = [1, 2, 3, 4, -1, 0, 1, 2];
      const w = [1, 0.5, 2, -1];
      const expected: number[] = [];
      for (let row = 0; row < 2; row++) {
        const slice4 = x.slice(row * 4, row * 4 + 4);
        const r = 1 / Math.sqrt(slice4.reduce((s, v) => s + v * v, 0) / 4 + 1e-6);
        slice4.forEach((v, j) => {
          expected.push(v * r * w[j]);
        });
      }
      close(values(rmsnorm(tensor(precise(x), { shape: [2, 4] }), tensor(precise(w)))), expected, tolerance(1e-14));
      expect(() => rmsnorm(zeros([2, 4]), zeros([3]))).toThrow(
        "[rmsnorm] shapes [2,4] and [3] are incompatible: weight must be [4]",
      );
    });

    it("rope rotates each half-pair by the position's angle", () => {
      // x [positions=2, dim=4]; pair (x[j], x[j+2]) rotated by θ(position, j).
      const angles = [
        [0.1, 0.2],
        [0.3, 0.4],
      ];
      const cos = tensor(angles.map((row) => row.map(Math.cos)));
      const sin = tensor(angles.map((row) => row.map(Math.sin)));
      const x = tensor([
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ]);
      const expected: number[] = [];
      const rows = [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ];
      rows.forEach((row, position) => {
        const out = new Array<number>(4);
        for (let j = 0; j < 2; j++) {
          const angle = angles[position][j];
          out[j] = row[j] * Math.cos(angle) - row[j + 2] * Math.sin(angle);
          out[j + 2] = row[j + 2] * Math.cos(angle) + row[j] * Math.sin(angle);
        }
        expected.push(...out);
      });
      close(values(rope(x, cos, sin)), expected, 1e-6);
      expect(() => rope(zeros([3, 4]), zeros([2, 2]), zeros([2, 2]))).toThrow(
        "[rope] shapes [3,4] and [2,2] (cos) are incompatible: expected cos [3,2]",
      );
    });

    it("cross-entropy is the mean over kept targets (ignoreIndex -100 by default)", () => {
      const logits = tensor(precise([0, Math.log(3), 0, 0, 5, 5, 1, 2, 3]), { shape: [3, 3] });
      const targets = tensor(new Int32Array([1, -100, 0]));
      // Row 0: p(1) = 3/5; row 2: p(0) = e/(e+e²+e³).
      const row0 = -Math.log(3 / 5);
      const row2 = -Math.log(Math.E / (Math.E + Math.E ** 2 + Math.E ** 3));
      close(values(crossEntropy(logits, targets)), [(row0 + row2) / 2], tolerance(1e-14));
      close(
        values(crossEntropy(logits, tensor(new Int32Array([-1, -1, 2])), { ignoreIndex: -1 })),
        [-Math.log(Math.E ** 3 / (Math.E + Math.E ** 2 + Math.E ** 3))],
        tolerance(1e-14),
      );
      expect(values(crossEntropy(logits, tensor(new Int32Array([-100, -100, -100]))))).toEqual([0]);
      expect(() => crossEntropy(logits, tensor(new Int32Array([1, 2])))).toThrow(
        "[crossEntropy] shapes [3,3] and [2] are incompatible",
      );
      if (validatesFusedInputs) {
        expect(() => crossEntropy(logits, tensor(new Int32Array([1, 3, 0])))).toThrow(
          "[crossEntropy] target 3 at row 1 is outside [0, 3)",
        );
      }
    });
  });

  describe("no-grad ops", () => {
    it("argmax and topk", () => {
      const x = tensor([
        [1, 9, 3, 9],
        [7, 2, 8, 0],
      ]);
      expect(argmax(x).toArray()).toEqual([1, 2]);
      const { values: top, indices } = topk(x, 3);
      expect(top.toArray()).toEqual([
        [9, 9, 3],
        [8, 7, 2],
      ]);
      expect(indices.toArray()).toEqual([
        [1, 3, 2],
        [2, 0, 1],
      ]);
      expect(() => topk(x, 5)).toThrow("[topk] k = 5 must be an integer in [1, 4] for shape [2,4]");
    });

    it("multinomial never picks zero-weight classes and follows the weights", () => {
      const weights = tensor([[0, 1, 0, 3]]);
      const draws = multinomial(weights, { samples: 4000, seed: 11 });
      const counts = [0, 0, 0, 0];
      for (const value of draws.dataSync()) counts[value]++;
      expect(counts[0]).toBe(0);
      expect(counts[2]).toBe(0);
      // 3:1 odds; 4000 draws put the share of class 3 within 0.75 ± 0.03 with overwhelming probability.
      expect(Math.abs(counts[3] / 4000 - 0.75)).toBeLessThan(0.03);
      if (validatesFusedInputs) {
        expect(() => multinomial(tensor([[0, 0]]))).toThrow("[multinomial] row 0 has no positive weight");
      }
      expect(full([2], 1).toArray()).toEqual([1, 1]);
    });
  });
});
