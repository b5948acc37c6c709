/**
 * The op suite, part two — gathers and scatters, softmax, norms, rope, cross-entropy and the ops without
 * gradients — on every backend of `__fixtures__/op-suite.ts` against float64 references and hand-computed values.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { close, onEveryBackend, precise, tolerance, values } from "./__fixtures__/op-suite.js";
import {
  argmax,
  crossEntropy,
  embedding,
  full,
  gatherRows,
  indexAddRows,
  logSoftmax,
  multinomial,
  ones,
  rmsnorm,
  rope,
  softmax,
  type Tensor,
  takeAlongLastAxis,
  tensor,
  topk,
  transpose,
  zeros,
} from "./index.js";

onEveryBackend("row ops on the $name backend", ({ validatesIndices, validatesFusedInputs }) => {
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
