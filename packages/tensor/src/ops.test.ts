/**
 * The op suite, part one — elementwise ops, reductions, matmul, views and shape ops — on every backend of
 * `__fixtures__/op-suite.ts` against float64 references and hand-computed values.
 */
import { describe, expect, it } from "vitest";
import { close, onEveryBackend, precise, referenceMatmul, tolerance, values } from "./__fixtures__/op-suite.js";
import {
  abs,
  add,
  arange,
  cast,
  concat,
  div,
  equal,
  exp,
  expand,
  getBackend,
  indexAddRows,
  log,
  matmul,
  max,
  maximum,
  mean,
  minimum,
  mul,
  neg,
  ones,
  permute,
  pow,
  relu,
  reshape,
  rsqrt,
  sigmoid,
  silu,
  slice,
  sqrt,
  squeeze,
  sub,
  sum,
  takeAlongLastAxis,
  tanh,
  tensor,
  transpose,
  uniform,
  unsqueeze,
  where,
  zeros,
} from "./index.js";

onEveryBackend("ops on the $name backend", () => {
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
});
