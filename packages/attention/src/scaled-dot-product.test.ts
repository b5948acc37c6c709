import { assign, backward, scope, type Tensor, tensor } from "@minimind/tensor";
import { describe, expect, it } from "vitest";
import { maxRelativeError, randomArray } from "./__fixtures__/random-arrays.js";
import { simdModes, useSimdMode } from "./__fixtures__/simd-modes.js";
import { and, causal, packedDocuments, padding, prefixLM, segments, slidingWindow, softcap } from "./masks.js";
import { referenceAttention } from "./reference.js";
import {
  scaledDotProductAttention,
  scaledDotProductAttentionComposed,
  selectAttentionKernel,
} from "./scaled-dot-product.js";
import type { AttentionStrategy } from "./strategy.js";

const TOLERANCE = 2e-5;

interface Inputs {
  query: Float32Array;
  key: Float32Array;
  value: Float32Array;
  weights: Float32Array;
  queryShape: number[];
  keyShape: number[];
}

function inputs(
  batch: number,
  queryHeads: number,
  keyValueHeads: number,
  queryLength: number,
  keyLength: number,
  seed: number,
): Inputs {
  const headDim = 8;
  const queryShape = [batch, queryHeads, queryLength, headDim];
  const keyShape = [batch, keyValueHeads, keyLength, headDim];
  const querySize = batch * queryHeads * queryLength * headDim;
  const keySize = batch * keyValueHeads * keyLength * headDim;
  return {
    query: randomArray(querySize, seed, 1.5),
    key: randomArray(keySize, seed + 1, 1.5),
    value: randomArray(keySize, seed + 2),
    weights: randomArray(querySize, seed + 3),
    queryShape,
    keyShape,
  };
}

type Attention = (query: Tensor, key: Tensor, value: Tensor) => Tensor;

/** Output and input gradients of loss = Σ output · weights. */
function outputAndGradients(data: Inputs, attention: Attention) {
  return scope(() => {
    const query = tensor(data.query, { shape: data.queryShape }).requireGrad();
    const key = tensor(data.key, { shape: data.keyShape }).requireGrad();
    const value = tensor(data.value, { shape: data.keyShape }).requireGrad();
    const output = attention(query, key, value);
    const loss = output.mul(tensor(data.weights, { shape: data.queryShape })).sum();
    backward(loss);
    const read = (t: Tensor | null) => Float32Array.from((t as Tensor).dataSync() as Float32Array);
    return {
      output: read(output),
      gradQuery: read(query.grad),
      gradKey: read(key.grad),
      gradValue: read(value.grad),
    };
  });
}

function expectSame(a: ReturnType<typeof outputAndGradients>, b: ReturnType<typeof outputAndGradients>) {
  expect(maxRelativeError(a.output, b.output)).toBeLessThan(TOLERANCE);
  expect(maxRelativeError(a.gradQuery, b.gradQuery)).toBeLessThan(TOLERANCE);
  expect(maxRelativeError(a.gradKey, b.gradKey)).toBeLessThan(TOLERANCE);
  expect(maxRelativeError(a.gradValue, b.gradValue)).toBeLessThan(TOLERANCE);
}

// every test runs on each build of the tiled kernel (wasm relaxed SIMD, plain SIMD, JavaScript)
for (const { mode, skip } of simdModes) {
  describe.skipIf(skip !== false)(
    `[${mode}] scaledDotProductAttention on tensors equals the composition of tensor primitives`,
    () => {
      useSimdMode(mode);
      const cases: [string, AttentionStrategy][] = [
        ["causal", causal],
        ["prefixLM(4)", prefixLM(4)],
        ["segments", segments([1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1])],
        ["packedDocuments(prefixLM(2))", packedDocuments([0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2], prefixLM(2))],
        ["slidingWindow(3)", slidingWindow(3)],
        ["and(causal, padding) with fully-masked rows", and(causal, padding([[0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1]]))],
      ];
      for (const [name, strategy] of cases) {
        it(`${name}: forward and gradients, GQA 4:2, batch 2`, () => {
          const data = inputs(2, 4, 2, 11, 11, 41);
          const fast = outputAndGradients(data, (q, k, v) =>
            scaledDotProductAttention(q, k, v, { strategy, blockSize: 4 }),
          );
          const composed = outputAndGradients(data, (q, k, v) =>
            scaledDotProductAttentionComposed(q, k, v, { strategy }),
          );
          expect(fast.output.every(Number.isFinite) && fast.gradQuery.every(Number.isFinite)).toBe(true);
          expectSame(fast, composed);
        });
      }

      it("decode offsets: 3 queries after 8 cached keys, and a custom scale", () => {
        const data = inputs(1, 4, 1, 3, 11, 43);
        const options = { strategy: segments([1, 0, 0, 1, 0, 1, 1, 1, 1, 0, 0]), scale: 0.7, blockSize: 2 };
        expectSame(
          outputAndGradients(data, (q, k, v) => scaledDotProductAttention(q, k, v, options)),
          outputAndGradients(data, (q, k, v) => scaledDotProductAttentionComposed(q, k, v, options)),
        );
      });

      it("score mods flow through forward and backward (against the float64 reference)", () => {
        const data = inputs(1, 2, 2, 7, 7, 47);
        const scoreMod = softcap(0.8);
        const fast = outputAndGradients(data, (q, k, v) =>
          scaledDotProductAttention(q, k, v, { strategy: causal, scoreMod }),
        );
        const shape = { batch: 1, queryHeads: 2, keyValueHeads: 2, queryLength: 7, keyLength: 7, headDim: 8 };
        const reference = referenceAttention(data.query, data.key, data.value, shape, causal, {
          scoreMod,
          gradOutput: data.weights,
        });
        expect(maxRelativeError(fast.output, reference.output)).toBeLessThan(TOLERANCE);
        expect(maxRelativeError(fast.gradQuery, reference.gradQuery as Float64Array)).toBeLessThan(TOLERANCE);
        expect(maxRelativeError(fast.gradKey, reference.gradKey as Float64Array)).toBeLessThan(TOLERANCE);
      });

      it("rejects inputs of the wrong rank or mismatched heads, naming the tensor", () => {
        const q = tensor(new Float32Array(3 * 8), { shape: [1, 3, 8] });
        const k = tensor(new Float32Array(2 * 3 * 8), { shape: [1, 2, 3, 8] });
        expect(() => scaledDotProductAttention(q, k, k)).toThrow(/query has shape \[1, 3, 8\]; expected rank 4/);
        const q3 = tensor(new Float32Array(3 * 3 * 8), { shape: [1, 3, 3, 8] });
        expect(() => scaledDotProductAttention(q3, k, k)).toThrow(
          /query heads 3 must be a multiple of key\/value heads 2/,
        );
      });
    },
  );

  describe.skipIf(skip !== false)(
    `[${mode}] the kernel is chosen from the mask and the backend, not from the caller`,
    () => {
      useSimdMode(mode);
      const shapeFor = (queryLength: number, keyLength: number) => inputs(2, 4, 2, queryLength, keyLength, 91);
      const tensors = (data: Inputs) => ({
        query: tensor(data.query, { shape: data.queryShape }),
        key: tensor(data.key, { shape: data.keyShape }),
        value: tensor(data.value, { shape: data.keyShape }),
      });

      // With SIMD on, the SIMD tiled kernel runs everything (it beats the matmuls even unmasked); "off" shows
      // the JavaScript choice.
      const allVisibleKernel = mode === "off" ? "unmasked" : "tiled";

      it(`a decode step that sees every key runs ${allVisibleKernel} — however the strategy is composed`, () => {
        scope(() => {
          const { query, key, value } = tensors(shapeFor(1, 19));
          const allVisible = padding(new Array(19).fill(1));
          for (const strategy of [causal, and(causal, allVisible), segments([1, 1, 1]), prefixLM(3)]) {
            expect(selectAttentionKernel(query, key, value, { strategy })).toBe(allVisibleKernel);
          }
          // a masked key, a window that hides old keys, or a score mod needs the tiled kernel
          const padded = and(causal, padding([0, ...new Array(18).fill(1)]));
          expect(selectAttentionKernel(query, key, value, { strategy: padded })).toBe("tiled");
          expect(selectAttentionKernel(query, key, value, { strategy: slidingWindow(4) })).toBe("tiled");
          expect(selectAttentionKernel(query, key, value, { strategy: causal, scoreMod: softcap(5) })).toBe("tiled");
          // a causal prefill is masked
          const prefill = tensors(shapeFor(19, 19));
          expect(selectAttentionKernel(prefill.query, prefill.key, prefill.value)).toBe("tiled");
        });
      });

      it(`the all-visible path (${allVisibleKernel}) equals the reference, with gradients`, () => {
        const data = shapeFor(3, 23);
        const strategy = and(prefixLM(23), padding(new Array(23).fill(true))); // every query sees every key
        const fast = outputAndGradients(data, (q, k, v) => {
          expect(selectAttentionKernel(q, k, v, { strategy })).toBe(allVisibleKernel);
          return scaledDotProductAttention(q, k, v, { strategy });
        });
        const composed = outputAndGradients(data, (q, k, v) =>
          scaledDotProductAttentionComposed(q, k, v, { strategy }),
        );
        const shape = { batch: 2, queryHeads: 4, keyValueHeads: 2, queryLength: 3, keyLength: 23, headDim: 8 };
        expect(
          maxRelativeError(fast.output, referenceAttention(data.query, data.key, data.value, shape, strategy).output),
        ).toBeLessThan(TOLERANCE);
        for (const name of ["gradQuery", "gradKey", "gradValue"] as const) {
          expect(maxRelativeError(fast[name], composed[name])).toBeLessThan(TOLERANCE);
        }
      });

      it("reads keys and values that are the first rows of a larger buffer (a KV cache view) in place", () => {
        const data = shapeFor(5, 11);
        const strategy = prefixLM(7); // masked: the tiled kernel
        const shape = { batch: 2, queryHeads: 4, keyValueHeads: 2, queryLength: 5, keyLength: 11, headDim: 8 };
        const expected = referenceAttention(data.query, data.key, data.value, shape, strategy).output;
        scope(() => {
          const { query, key, value } = tensors(data);
          // [2, 2, 11, 8] placed in the first 11 of 16 rows per (batch, head) of a bigger buffer
          const roomy = (source: Tensor) => {
            const buffer = tensor(new Float32Array(2 * 2 * 16 * 8).fill(Number.NaN), { shape: [2, 2, 16, 8] });
            const view = buffer.slice([0, 0, 0, 0], [2, 2, 11, 8]);
            assign(view, source);
            return view;
          };
          const keyView = roomy(key);
          const valueView = roomy(value);
          expect(keyView.isContiguous).toBe(false);
          expect(selectAttentionKernel(query, keyView, valueView, { strategy })).toBe("tiled");
          const output = scaledDotProductAttention(query, keyView, valueView, { strategy });
          expect(maxRelativeError(output.dataSync() as Float32Array, expected)).toBeLessThan(TOLERANCE);
        });
      });
    },
  );

  describe.skipIf(skip !== false)(`[${mode}] non-finite inputs`, () => {
    useSimdMode(mode);
    it("a NaN score reaches the output on every kernel, so a prefill and a decode step agree", () => {
      scope(() => {
        const data = inputs(1, 2, 1, 1, 9, 5);
        const queryValues = Float32Array.from(data.query);
        queryValues[2] = Number.NaN; // query head 0: every one of its scores is NaN (as with a NaN q_proj)
        const query = tensor(queryValues, { shape: data.queryShape });
        const keys = tensor(data.key, { shape: data.keyShape });
        const values = tensor(data.value, { shape: data.keyShape });
        // one query that sees every key: the unmasked kernel with SIMD off; a padded strategy: the tiled kernel
        const tiledStrategy = and(causal, padding([0, 1, 1, 1, 1, 1, 1, 1, 1]));
        expect(selectAttentionKernel(query, keys, values)).toBe(mode === "off" ? "unmasked" : "tiled");
        expect(selectAttentionKernel(query, keys, values, { strategy: tiledStrategy })).toBe("tiled");
        for (const strategy of [causal, tiledStrategy]) {
          const output = scaledDotProductAttention(query, keys, values, { strategy }).dataSync() as Float32Array;
          // head 0 is NaN throughout (not zeros, as if fully masked); head 1 is untouched
          expect(output.subarray(0, 8).every((value) => Number.isNaN(value))).toBe(true);
          expect(output.subarray(8).every((value) => Number.isFinite(value))).toBe(true);
        }
      });
    });
  });
}
