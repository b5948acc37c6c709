import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maxRelativeError, randomArray } from "./__fixtures__/random-arrays.js";
import { simdModes, useSimdMode } from "./__fixtures__/simd-modes.js";
import { createBlockMask } from "./block-mask.js";
import { type AttentionShape, attentionBackward, attentionForward } from "./kernel.js";
import {
  alibi,
  and,
  bidirectional,
  causal,
  not,
  or,
  packedDocuments,
  padding,
  prefixLM,
  segments,
  slidingWindow,
  softcap,
  withScoreMod,
} from "./masks.js";
import { referenceAttention } from "./reference.js";
import { type AttentionStrategy, defineScoreMod, type ScoreMod, toStrategy } from "./strategy.js";

const TOLERANCE = 2e-5;

interface Case {
  strategy: AttentionStrategy;
  shape: AttentionShape;
  blockSize: number;
  queryOffset?: number;
  scoreMod?: ScoreMod;
  scale?: number;
  seed: number;
}

function run(testCase: Case) {
  const { shape, strategy, blockSize, seed } = testCase;
  const { batch, queryHeads, keyValueHeads, queryLength, keyLength, headDim } = shape;
  const query = randomArray(batch * queryHeads * queryLength * headDim, seed, 1.5);
  const key = randomArray(batch * keyValueHeads * keyLength * headDim, seed + 1, 1.5);
  const value = randomArray(batch * keyValueHeads * keyLength * headDim, seed + 2);
  const gradOutput = randomArray(query.length, seed + 3);
  const blockMask = createBlockMask(strategy, {
    batch,
    heads: queryHeads,
    queryLength,
    keyLength,
    blockSize,
    ...(testCase.queryOffset === undefined ? {} : { queryOffset: testCase.queryOffset }),
  });
  const options = {
    ...(testCase.scoreMod ? { scoreMod: testCase.scoreMod } : {}),
    ...(testCase.scale === undefined ? {} : { scale: testCase.scale }),
  };
  const forward = attentionForward({ query, key, value, shape, blockMask, ...options });
  const gradients = attentionBackward({ query, key, value, shape, blockMask, ...options, ...forward, gradOutput });
  const reference = referenceAttention(query, key, value, shape, strategy, {
    ...options,
    queryOffset: blockMask.queryOffset,
    gradOutput,
  });
  return { forward, gradients, reference };
}

function expectMatchesReference(testCase: Case): void {
  const { forward, gradients, reference } = run(testCase);
  expect(maxRelativeError(forward.output, reference.output)).toBeLessThan(TOLERANCE);
  expect(maxRelativeError(gradients.gradQuery, reference.gradQuery as Float64Array)).toBeLessThan(TOLERANCE);
  expect(maxRelativeError(gradients.gradKey, reference.gradKey as Float64Array)).toBeLessThan(TOLERANCE);
  expect(maxRelativeError(gradients.gradValue, reference.gradValue as Float64Array)).toBeLessThan(TOLERANCE);
}

const gqa = (length: number, keyLength = length): AttentionShape => ({
  batch: 2,
  queryHeads: 4,
  keyValueHeads: 2,
  queryLength: length,
  keyLength,
  headDim: 8,
});

const headDependent: AttentionStrategy = {
  name: "odd heads see one step back only",
  maskMod: (_batch, head, query, key) => key <= query && (head % 2 === 0 || query - key <= 1),
  perHead: true,
  chunkBoundaries: () => "anywhere",
};

const builtIns: [string, AttentionStrategy][] = [
  ["causal", causal],
  ["bidirectional", bidirectional],
  ["prefixLM(5)", prefixLM(5)],
  ["prefixLM per row", prefixLM([3, 11])],
  ["segments", segments([1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1])],
  [
    "segments per row",
    segments([
      [1, 0, 0, 1, 1, 1, 1],
      [0, 0, 0, 0, 0, 1, 1, 0, 0, 1],
    ]),
  ],
  ["packedDocuments(causal)", packedDocuments([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 4, 4])],
  [
    "packedDocuments(prefixLM(2))",
    packedDocuments([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2], prefixLM(2)),
  ],
  ["slidingWindow(4)", slidingWindow(4)],
  [
    "and(causal, padding)",
    and(
      causal,
      padding([
        [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        [1, 1, 1, 0, 1],
      ]),
    ),
  ],
  ["or(slidingWindow, prefixLM)", or(slidingWindow(2), prefixLM(3))],
  ["not(slidingWindow)", not(slidingWindow(3))],
  ["bare mask mod (fallback classification)", toStrategy((_b, _h, query, key) => (query + key) % 3 !== 0)],
  ["head-dependent", headDependent],
];

for (const { mode, skip } of simdModes) {
  describe.skipIf(skip !== false)(
    `[${mode}${skip ? `: ${skip}` : ""}] attention kernel equals the dense float64 reference`,
    () => {
      useSimdMode(mode);

      for (const [name, strategy] of builtIns) {
        it(`${name}: forward and backward, GQA 4:2, batch 2, blocks of 4`, () => {
          expectMatchesReference({ strategy, shape: gqa(19), blockSize: 4, seed: 11 });
        });
      }

      it("block size 1 and block size larger than the sequence give the same as the reference", () => {
        expectMatchesReference({ strategy: packedDocuments([0, 0, 1, 1, 1, 2]), shape: gqa(6), blockSize: 1, seed: 3 });
        expectMatchesReference({ strategy: prefixLM(2), shape: gqa(6), blockSize: 64, seed: 4 });
      });

      it("score mods: alibi and softcap, forward and backward", () => {
        expectMatchesReference({ strategy: causal, shape: gqa(13), blockSize: 4, scoreMod: alibi(4), seed: 5 });
        expectMatchesReference({
          strategy: segments([0, 0, 0, 1, 1, 0, 1]),
          shape: gqa(13),
          blockSize: 3,
          scoreMod: softcap(0.5),
          seed: 6,
        });
        // a strategy carrying its own score mod
        expectMatchesReference({
          strategy: withScoreMod(slidingWindow(5), softcap(1)),
          shape: gqa(11),
          blockSize: 4,
          seed: 7,
        });
      });

      it("a custom scale is honoured", () => {
        expectMatchesReference({ strategy: causal, shape: gqa(9), blockSize: 4, scale: 0.9, seed: 8 });
      });

      it("query offset (bottom-right alignment): 5 queries after 12 cached keys", () => {
        for (const strategy of [
          causal,
          prefixLM(14),
          segments([1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1]),
          slidingWindow(3),
        ]) {
          expectMatchesReference({ strategy, shape: gqa(5, 17), blockSize: 4, seed: 9 });
        }
        // explicit top-left alignment too
        expectMatchesReference({ strategy: causal, shape: gqa(5, 17), blockSize: 4, queryOffset: 0, seed: 10 });
      });

      it("fully-masked rows give zero output and zero gradient, never NaN", () => {
        const shape = gqa(8);
        for (const strategy of [and(causal, padding([0, 0, 0, 1, 1, 1, 1, 1])), not(bidirectional)]) {
          const { forward, gradients, reference } = run({ strategy, shape, blockSize: 4, seed: 12 });
          for (const array of [forward.output, gradients.gradQuery, gradients.gradKey, gradients.gradValue]) {
            expect(array.every((entry) => Number.isFinite(entry))).toBe(true);
          }
          expect(maxRelativeError(forward.output, reference.output)).toBeLessThan(TOLERANCE);
          expect(maxRelativeError(gradients.gradQuery, reference.gradQuery as Float64Array)).toBeLessThan(TOLERANCE);
        }
        // row 0 of and(causal, padding([0,0,0,1,…])) sees nothing: exact zeros and lse −∞
        const { forward } = run({
          strategy: and(causal, padding([0, 0, 0, 1, 1, 1, 1, 1])),
          shape,
          blockSize: 4,
          seed: 13,
        });
        expect(Array.from(forward.output.subarray(0, 8))).toEqual(new Array(8).fill(0));
        expect(forward.logSumExp[0]).toBe(Number.NEGATIVE_INFINITY);
      });

      it("a score mod that returns −∞ masks like the mask mod does", () => {
        const scoreMod = defineScoreMod(
          (score, _b, _h, query, key) => (query - key > 2 ? Number.NEGATIVE_INFINITY : score),
          () => 1,
        );
        const viaScore = run({ strategy: causal, shape: gqa(9), blockSize: 4, scoreMod, seed: 14 });
        const viaMask = run({ strategy: slidingWindow(3), shape: gqa(9), blockSize: 4, seed: 14 });
        expect(maxRelativeError(viaScore.forward.output, viaMask.reference.output)).toBeLessThan(TOLERANCE);
        expect(maxRelativeError(viaScore.gradients.gradKey, viaMask.reference.gradKey as Float64Array)).toBeLessThan(
          TOLERANCE,
        );
      });

      it("refuses a backward through a score mod without derivative, and mismatched block masks", () => {
        const shape = gqa(4);
        const scoreMod: ScoreMod = (score) => score * 2;
        expect(() => run({ strategy: causal, shape, blockSize: 4, scoreMod, seed: 1 })).toThrow(
          /no derivative.*defineScoreMod/,
        );
        const blockMask = createBlockMask(causal, { batch: 2, heads: 4, queryLength: 5, blockSize: 4 });
        const data = randomArray(2 * 4 * 4 * 8, 1);
        const kv = randomArray(2 * 2 * 4 * 8, 2);
        expect(() => attentionForward({ query: data, key: kv, value: kv, shape, blockMask })).toThrow(
          /rebuild it with createBlockMask/,
        );
        expect(() =>
          attentionForward({ query: data, key: kv, value: kv, shape: { ...shape, keyValueHeads: 3 }, blockMask }),
        ).toThrow(/multiple of keyValueHeads 3/);
      });
    },
  );
}

describe("the reference itself", () => {
  it("its analytic backward matches central finite differences of its forward (float64)", () => {
    const shape: AttentionShape = {
      batch: 1,
      queryHeads: 2,
      keyValueHeads: 1,
      queryLength: 4,
      keyLength: 5,
      headDim: 3,
    };
    const strategy = withScoreMod(segments([0, 0, 1, 0, 1]), softcap(0.7));
    const query = Float64Array.from(randomArray(2 * 4 * 3, 21, 1.5));
    const key = Float64Array.from(randomArray(5 * 3, 22, 1.5));
    const value = Float64Array.from(randomArray(5 * 3, 23));
    const gradOutput = Float64Array.from(randomArray(2 * 4 * 3, 24));
    const loss = (q: Float64Array, k: Float64Array, v: Float64Array) => {
      const { output } = referenceAttention(q, k, v, shape, strategy);
      return output.reduce((sum, entry, index) => sum + entry * (gradOutput[index] as number), 0);
    };
    const analytic = referenceAttention(query, key, value, shape, strategy, { gradOutput });
    const step = 1e-6;
    const numeric = (array: Float64Array) =>
      Array.from(array, (_, index) => {
        const saved = array[index] as number;
        array[index] = saved + step;
        const plus = loss(query, key, value);
        array[index] = saved - step;
        const minus = loss(query, key, value);
        array[index] = saved;
        return (plus - minus) / (2 * step);
      });
    expect(maxRelativeError(analytic.gradQuery as Float64Array, numeric(query))).toBeLessThan(1e-7);
    expect(maxRelativeError(analytic.gradKey as Float64Array, numeric(key))).toBeLessThan(1e-7);
    expect(maxRelativeError(analytic.gradValue as Float64Array, numeric(value))).toBeLessThan(1e-7);
  });
});

for (const { mode, skip } of simdModes) {
  describe.skipIf(skip !== false)(`[${mode}] fuzzing the kernel against the reference (fast-check)`, () => {
    useSimdMode(mode);
    it("random lengths, segment vectors, document boundaries, block sizes and head groupings", () => {
      const caseArbitrary = fc
        .record({
          length: fc.integer({ min: 1, max: 20 }),
          cached: fc.integer({ min: 0, max: 6 }),
          blockSize: fc.integer({ min: 1, max: 8 }),
          keyValueHeads: fc.integer({ min: 1, max: 2 }),
          group: fc.integer({ min: 1, max: 3 }),
          kind: fc.constantFrom("segments", "document", "prefix", "window", "padding"),
          seed: fc.integer({ min: 1, max: 1_000_000 }),
        })
        .chain((base) => {
          const total = base.length + base.cached;
          return fc
            .record({
              ar: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: total, maxLength: total }),
              documentSizes: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 6 }),
              number: fc.integer({ min: 1, max: total }),
              keep: fc.array(fc.boolean(), { minLength: total, maxLength: total }),
            })
            .map((extra) => ({ ...base, ...extra }));
        });
      fc.assert(
        fc.property(caseArbitrary, (c) => {
          const strategy =
            c.kind === "segments"
              ? segments(c.ar)
              : c.kind === "document"
                ? packedDocuments(
                    c.documentSizes.flatMap((size, id) => Array<number>(size).fill(id)),
                    c.number % 2 ? causal : slidingWindow(c.number),
                  )
                : c.kind === "prefix"
                  ? prefixLM(c.number)
                  : c.kind === "window"
                    ? slidingWindow(c.number)
                    : and(causal, padding(c.keep));
          const shape: AttentionShape = {
            batch: 1,
            queryHeads: c.keyValueHeads * c.group,
            keyValueHeads: c.keyValueHeads,
            queryLength: c.length,
            keyLength: c.length + c.cached,
            headDim: 4,
          };
          expectMatchesReference({ strategy, shape, blockSize: c.blockSize, seed: c.seed });
        }),
        { numRuns: 120 },
      );
    });
  });
}
