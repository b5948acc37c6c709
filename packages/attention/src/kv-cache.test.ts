import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maxRelativeError, randomArray } from "./__fixtures__/random-arrays.js";
import { KeyValueCache, planChunks } from "./kv-cache.js";
import {
  alibi,
  and,
  bidirectional,
  causal,
  document,
  padding,
  prefixLM,
  segments,
  segmentVectorFromRoles,
  slidingWindow,
  withScoreMod,
} from "./masks.js";
import { referenceAttention } from "./reference.js";
import type { AttentionStrategy } from "./strategy.js";

const BATCH = 2;
const QUERY_HEADS = 4;
const KV_HEADS = 2;
const HEAD_DIM = 8;

/** Rows [start, end) of a [batch, heads, length, dim] array, as a [batch, heads, end − start, dim] array. */
function sliceTokens(array: Float32Array, heads: number, length: number, start: number, end: number): Float32Array {
  const out = new Float32Array(BATCH * heads * (end - start) * HEAD_DIM);
  for (let row = 0; row < BATCH * heads; row++) {
    out.set(
      array.subarray((row * length + start) * HEAD_DIM, (row * length + end) * HEAD_DIM),
      row * (end - start) * HEAD_DIM,
    );
  }
  return out;
}

/** Runs the chunks through a cache and reassembles the outputs as [batch, heads, length, dim]. */
function chunkedOutput(strategy: AttentionStrategy, length: number, chunks: [number, number][], seed: number) {
  const query = randomArray(BATCH * QUERY_HEADS * length * HEAD_DIM, seed, 1.5);
  const key = randomArray(BATCH * KV_HEADS * length * HEAD_DIM, seed + 1, 1.5);
  const value = randomArray(BATCH * KV_HEADS * length * HEAD_DIM, seed + 2);
  const cache = new KeyValueCache(strategy, {
    batch: BATCH,
    queryHeads: QUERY_HEADS,
    keyValueHeads: KV_HEADS,
    headDim: HEAD_DIM,
    capacity: length,
    blockSize: 4,
  });
  const output = new Float32Array(query.length);
  for (const [start, end] of chunks) {
    const chunk = cache.forward(
      sliceTokens(query, QUERY_HEADS, length, start, end),
      sliceTokens(key, KV_HEADS, length, start, end),
      sliceTokens(value, KV_HEADS, length, start, end),
    );
    for (let row = 0; row < BATCH * QUERY_HEADS; row++) {
      output.set(
        chunk.subarray(row * (end - start) * HEAD_DIM, (row + 1) * (end - start) * HEAD_DIM),
        (row * length + start) * HEAD_DIM,
      );
    }
  }
  const shape = {
    batch: BATCH,
    queryHeads: QUERY_HEADS,
    keyValueHeads: KV_HEADS,
    queryLength: length,
    keyLength: length,
    headDim: HEAD_DIM,
  };
  const full = referenceAttention(query, key, value, shape, strategy).output;
  return { output, full, cache };
}

const chat = segmentVectorFromRoles([
  { role: "system", length: 4 },
  { role: "user", length: 5 },
  { role: "assistant", length: 3 },
  { role: "user", length: 4 },
  { role: "assistant", length: 2 },
]);

const consistent: [string, AttentionStrategy][] = [
  ["causal", causal],
  ["prefixLM(7)", prefixLM(7)],
  ["prefixLM per row", prefixLM([3, 9])],
  ["segments (chat turns)", segments(chat)],
  ["document(causal)", document([0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2])],
  ["document(prefixLM(3))", document([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2], prefixLM(3))],
  ["slidingWindow(5)", slidingWindow(5)],
  ["and(causal, padding)", and(causal, padding([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]))],
  ["causal + alibi", withScoreMod(causal, alibi(QUERY_HEADS))],
];

describe("KeyValueCache: chunked prefill + step decode equals one full forward", () => {
  // 18 prompt tokens cut by planChunks, then 4 decode steps past the end of every per-token vector
  const PROMPT = 18;
  const LENGTH = 22;
  const steps = (): [number, number][] =>
    Array.from({ length: LENGTH - PROMPT }, (_, index): [number, number] => [PROMPT + index, PROMPT + index + 1]);

  for (const [name, strategy] of consistent) {
    it(`${name}: finest plan (each bidirectional segment one chunk, causal tokens one step each)`, () => {
      const chunks = [...planChunks(strategy, PROMPT, { batch: BATCH }), ...steps()];
      const { output, full, cache } = chunkedOutput(strategy, LENGTH, chunks, 31);
      expect(cache.length).toBe(LENGTH);
      expect(maxRelativeError(output, full)).toBeLessThan(2e-5);
    });
  }

  it("random consistent plans (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...consistent),
        fc.integer({ min: 1, max: PROMPT }),
        fc.integer({ min: 1, max: 10_000 }),
        ([, strategy], maxChunkLength, seed) => {
          const chunks = [...planChunks(strategy, PROMPT, { batch: BATCH, maxChunkLength }), ...steps()];
          const { output, full } = chunkedOutput(strategy, LENGTH, chunks, seed);
          expect(maxRelativeError(output, full)).toBeLessThan(2e-5);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("one chunk for the whole prompt, then decode", () => {
    for (const [, strategy] of consistent) {
      const { output, full } = chunkedOutput(strategy, LENGTH, [[0, PROMPT], ...steps()], 77);
      expect(maxRelativeError(output, full)).toBeLessThan(2e-5);
    }
  });
});

describe("planChunks", () => {
  it("puts each bidirectional segment in one chunk", () => {
    expect(planChunks(segments([1, 0, 0, 1, 1, 0]), 6)).toEqual([
      [0, 3],
      [3, 4],
      [4, 6],
    ]);
    expect(planChunks(prefixLM(3), 5)).toEqual([
      [0, 3],
      [3, 4],
      [4, 5],
    ]);
    expect(planChunks(causal, 5, { maxChunkLength: 2 })).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
    expect(planChunks(bidirectional, 4, { maxChunkLength: 2 })).toEqual([[0, 4]]);
  });

  it("merges segments up to maxChunkLength but never splits one", () => {
    expect(planChunks(segments([1, 0, 0, 0, 1, 1]), 6, { maxChunkLength: 2 })).toEqual([
      [0, 4],
      [4, 6],
    ]);
  });
});

describe("KeyValueCache refuses appends that break its strategy", () => {
  const make = (strategy: AttentionStrategy) =>
    new KeyValueCache(strategy, { queryHeads: 1, keyValueHeads: 1, headDim: 2, capacity: 8 });
  const tokens = (count: number) => new Float32Array(count * 2).fill(0.5);

  it("a chunk that ends inside a bidirectional segment", () => {
    const cache = make(segments([1, 0, 0, 1]));
    expect(() => cache.forward(tokens(2), tokens(2), tokens(2))).toThrow(
      /strategy "segments" refuses a chunk \[0, 2\): it ends inside a bidirectional span — token 0 \(batch row 0\) attends key 2, which is not there yet.*cuts allowed for batch row 0: 3, 4, 5, 6, 7/,
    );
    expect(cache.length).toBe(0);
    cache.forward(tokens(3), tokens(3), tokens(3));
    cache.forward(tokens(1), tokens(1), tokens(1));
    expect(cache.length).toBe(4);
  });

  it("checks the mask itself, not the strategy's declaration", () => {
    // token 0 attends key 2 as well, yet the strategy (wrongly) declares it may be cut anywhere
    const lookAhead: AttentionStrategy = {
      name: "look-ahead",
      maskMod: (_batch, _head, query, key) => key <= query || (query === 0 && key === 2),
      chunkBoundaries: () => "anywhere",
    };
    const longer = new KeyValueCache(lookAhead, { queryHeads: 1, keyValueHeads: 1, headDim: 2, capacity: 4 });
    expect(() => longer.forward(tokens(1), tokens(1), tokens(1))).toThrow(
      /token 0 \(batch row 0\) attends key 2, which is not there yet/,
    );
  });

  it("a prefix split across chunks, and a bidirectional mask with room to grow", () => {
    const prefix = make(prefixLM(4));
    expect(() => prefix.forward(tokens(3), tokens(3), tokens(3))).toThrow(/prefixLM\(4\)" refuses a chunk \[0, 3\)/);
    prefix.forward(tokens(4), tokens(4), tokens(4));
    prefix.forward(tokens(1), tokens(1), tokens(1));
    const full = make(bidirectional);
    expect(() => full.forward(tokens(4), tokens(4), tokens(4))).toThrow(/nowhere/);
    const exact = new KeyValueCache(bidirectional, { queryHeads: 1, keyValueHeads: 1, headDim: 2, capacity: 4 });
    expect(exact.forward(tokens(4), tokens(4), tokens(4))).toHaveLength(8);
  });

  it("capacity and shape errors name what is wrong", () => {
    const cache = make(causal);
    expect(() => cache.forward(tokens(9), tokens(9), tokens(9))).toThrow(/exceeds capacity 8/);
    expect(() => cache.forward(tokens(2), tokens(3), tokens(3))).toThrow(/query has 4 elements/);
    cache.forward(tokens(8), tokens(8), tokens(8));
    cache.clear();
    expect(cache.length).toBe(0);
  });
});
