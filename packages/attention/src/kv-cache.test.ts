import { memory, scope, type Tensor, tensor } from "@minimind/tensor";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maxRelativeError, randomArray } from "./__fixtures__/random-arrays.js";
import { KeyValueCache, planChunks } from "./kv-cache.js";
import {
  alibi,
  and,
  bidirectional,
  causal,
  packedDocuments,
  padding,
  prefixLM,
  segments,
  segmentVectorFromRoles,
  slidingWindow,
  withScoreMod,
} from "./masks.js";
import { referenceAttention } from "./reference.js";
import { scaledDotProductAttention } from "./scaled-dot-product.js";
import type { AttentionStrategy } from "./strategy.js";

const BATCH = 2;
const QUERY_HEADS = 4;
const KV_HEADS = 2;
const HEAD_DIM = 8;
const LAYERS = 2;

/** A [batch, heads, length, dim] tensor of `array`. */
function asTensor(array: Float32Array, heads: number, length: number): Tensor {
  return tensor(array, { shape: [BATCH, heads, length, HEAD_DIM] });
}

/**
 * Runs the chunks through a two-layer cache (layer 1 gets the keys and values negated, so a layer mix-up
 * shows) and reassembles layer 0's outputs as [batch, heads, length, dim].
 */
function chunkedOutput(strategy: AttentionStrategy, length: number, chunks: [number, number][], seed: number) {
  const query = randomArray(BATCH * QUERY_HEADS * length * HEAD_DIM, seed, 1.5);
  const key = randomArray(BATCH * KV_HEADS * length * HEAD_DIM, seed + 1, 1.5);
  const value = randomArray(BATCH * KV_HEADS * length * HEAD_DIM, seed + 2);
  const cache = new KeyValueCache({ layers: LAYERS, maxLength: 64, step: 8, blockSize: 4 });
  const output = new Float32Array(query.length);
  const output1 = new Float32Array(query.length);
  scope(() => {
    const queries = asTensor(query, QUERY_HEADS, length);
    const keys = asTensor(key, KV_HEADS, length);
    const values = asTensor(value, KV_HEADS, length);
    for (const [start, end] of chunks) {
      cache.checkAppend(strategy, end - start, { batch: BATCH, heads: QUERY_HEADS });
      const chunkQuery = queries.slice([0, 0, start, 0], [BATCH, QUERY_HEADS, end, HEAD_DIM]);
      const chunkKey = keys.slice([0, 0, start, 0], [BATCH, KV_HEADS, end, HEAD_DIM]);
      const chunkValue = values.slice([0, 0, start, 0], [BATCH, KV_HEADS, end, HEAD_DIM]);
      for (const [layer, target] of [output, output1].entries()) {
        const sign = layer === 0 ? 1 : -1;
        const fetched = cache.updateAndFetch(layer, chunkKey.mul(sign), chunkValue.mul(sign));
        const chunk = scaledDotProductAttention(chunkQuery, fetched.key, fetched.value, { strategy, blockSize: 4 });
        const values = chunk.dataSync() as Float32Array;
        for (let row = 0; row < BATCH * QUERY_HEADS; row++) {
          target.set(
            values.subarray(row * (end - start) * HEAD_DIM, (row + 1) * (end - start) * HEAD_DIM),
            (row * length + start) * HEAD_DIM,
          );
        }
      }
    }
  });
  const shape = {
    batch: BATCH,
    queryHeads: QUERY_HEADS,
    keyValueHeads: KV_HEADS,
    queryLength: length,
    keyLength: length,
    headDim: HEAD_DIM,
  };
  const full = referenceAttention(query, key, value, shape, strategy).output;
  const negated = (array: Float32Array) => array.map((entry) => -entry);
  const full1 = referenceAttention(query, negated(key), negated(value), shape, strategy).output;
  return { output, full, output1, full1, cache };
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
  ["packedDocuments(causal)", packedDocuments([0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2])],
  [
    "packedDocuments(prefixLM(3))",
    packedDocuments([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2], prefixLM(3)),
  ],
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
      const { output, full, output1, full1, cache } = chunkedOutput(strategy, LENGTH, chunks, 31);
      expect(cache.length).toBe(LENGTH);
      expect(maxRelativeError(output, full)).toBeLessThan(2e-5);
      expect(maxRelativeError(output1, full1)).toBeLessThan(2e-5);
      cache.dispose();
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
          const { output, full, cache } = chunkedOutput(strategy, LENGTH, chunks, seed);
          cache.dispose();
          expect(maxRelativeError(output, full)).toBeLessThan(2e-5);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("one chunk for the whole prompt, then decode", () => {
    for (const [, strategy] of consistent) {
      const { output, full, cache } = chunkedOutput(strategy, LENGTH, [[0, PROMPT], ...steps()], 77);
      cache.dispose();
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
  const make = (maxLength = 8) => new KeyValueCache({ layers: 1, maxLength });

  it("a chunk that ends inside a bidirectional segment", () => {
    const cache = make();
    const strategy = segments([1, 0, 0, 1]);
    expect(() => cache.checkAppend(strategy, 2)).toThrow(
      /strategy "segments" refuses a chunk \[0, 2\): token 0 \(batch row 0\) attends key 2, which is not there yet.*Cuts it allows for batch row 0: 3, 4, 5, 6, 7/,
    );
    expect(cache.length).toBe(0);
    expect(cache.checkAppend(strategy, 3)).toBe(0);
  });

  it("checks the mask itself, not the strategy's declaration", () => {
    // token 0 attends key 2 as well, yet the strategy (wrongly) declares it may be cut anywhere
    const lookAhead: AttentionStrategy = {
      name: "look-ahead",
      maskMod: (_batch, _head, query, key) => key <= query || (query === 0 && key === 2),
      chunkBoundaries: () => "anywhere",
    };
    expect(() => make(4).checkAppend(lookAhead, 1)).toThrow(
      /token 0 \(batch row 0\) attends key 2, which is not there yet/,
    );
  });

  it("a prefix split across chunks; a bidirectional mask only when the chunk fills maxLength", () => {
    expect(() => make().checkAppend(prefixLM(4), 3)).toThrow(/prefixLM\(4\)" refuses a chunk \[0, 3\)/);
    expect(make().checkAppend(prefixLM(4), 4)).toBe(0);
    expect(() => make().checkAppend(bidirectional, 4)).toThrow(/Cuts it allows for batch row 0: nowhere/);
    expect(make(4).checkAppend(bidirectional, 4)).toBe(0);
  });

  it("refuses a changed strategy that makes cached tokens attend the new chunk (prefix-LM over a whole chat)", () => {
    const cache = make(16);
    const turn1 = segments([1, 0, 0, 1, 1]); // a 3-token prompt, two answer tokens
    cache.checkAppend(turn1, 5);
    cache.updateAndFetch(
      0,
      tensor(new Float32Array(5 * 2), { shape: [1, 1, 5, 2] }),
      tensor(new Float32Array(5 * 2), { shape: [1, 1, 5, 2] }),
    );
    // turn 2 under prefixLM over the whole history: token 0 would now see the new prompt at 5–7
    expect(() => cache.checkAppend(prefixLM(8), 3)).toThrow(
      /cached token 0 \(batch row 0\) attends key 5: the strategy changed what an earlier token sees/,
    );
    expect(cache.canAppend(prefixLM(8), 3)).toBe(false);
    // per-turn segments over the longer history keep turn 1 as it was
    expect(cache.canAppend(segments([1, 0, 0, 1, 1, 1, 0, 0]), 3)).toBe(true);
    expect(cache.length).toBe(5); // asking changes nothing
    expect(cache.checkAppend(segments([1, 0, 0, 1, 1, 1, 0, 0]), 3)).toBe(5);
  });

  it("maxLength, batch, layer order and shape errors name what is wrong", () => {
    const cache = make();
    expect(() => cache.checkAppend(causal, 9)).toThrow(/appending 9 tokens at 0 passes maxLength 8/);
    const chunk = (batch: number, length: number) =>
      tensor(new Float32Array(batch * length * 2), { shape: [batch, 1, length, 2] });
    expect(() => cache.updateAndFetch(0, chunk(1, 2), chunk(1, 2))).toThrow(/were not announced; call checkAppend/);
    cache.checkAppend(causal, 2);
    expect(() => cache.updateAndFetch(0, chunk(1, 3), chunk(1, 3))).toThrow(
      /3 positions \[0, 3\) of batch 1 were not announced/,
    );
    cache.updateAndFetch(0, chunk(1, 2), chunk(1, 2));
    expect(() => cache.checkAppend(causal, 1, { batch: 2 })).toThrow(/holds batch 1; this chunk has batch 2/);
    expect(() => cache.updateAndFetch(1, chunk(1, 1), chunk(1, 1))).toThrow(/layer 1 is outside \[0, 1\)/);
    const twoLayers = new KeyValueCache({ layers: 2, maxLength: 8 });
    twoLayers.checkAppend(causal, 2);
    twoLayers.updateAndFetch(0, chunk(1, 2), chunk(1, 2));
    expect(() => twoLayers.checkAppend(causal, 1)).toThrow(
      /reached only some layers \(positions per layer: 2, 0\); call truncate\(0\)/,
    );
    twoLayers.truncate(0);
    expect(twoLayers.checkAppend(causal, 1, { batch: 2 })).toBe(0);
    cache.dispose();
    twoLayers.dispose();
  });
});

describe("KeyValueCache storage", () => {
  it("writes in place and grows in steps: 500 single-token appends allocate storage ⌈500/step⌉ times", () => {
    const step = 64;
    const cache = new KeyValueCache({ layers: 2, maxLength: 1024, step });
    const heads = 2;
    const dim = 4;
    const token = (position: number, layer: number) =>
      tensor(
        Float32Array.from({ length: heads * dim }, (_, index) => position * 100 + layer * 10 + index),
        {
          shape: [1, heads, 1, dim],
        },
      );
    const bytesPerPosition = heads * dim * 4;
    let storageBefore = memory().tensors;
    for (let position = 0; position < 500; position++) {
      scope(() => {
        cache.checkAppend(causal, 1);
        for (let layer = 0; layer < 2; layer++) {
          const { key, value } = cache.updateAndFetch(layer, token(position, layer), token(position, layer).neg());
          expect(key.shape).toEqual([1, heads, position + 1, dim]);
          if (position % 97 === 0 || position === 499) {
            const keys = key.dataSync() as Float32Array;
            const values = value.dataSync() as Float32Array;
            // every earlier position kept its values (growth copied them), head-major layout
            for (let earlier = 0; earlier <= position; earlier += 37) {
              for (let head = 0; head < heads; head++) {
                const at = (head * (position + 1) + earlier) * dim;
                expect(keys[at]).toBe(earlier * 100 + layer * 10 + head * dim);
                expect(values[at]).toBe(-(earlier * 100 + layer * 10 + head * dim));
              }
            }
          }
        }
      });
      if (position === 0) storageBefore = memory().tensors;
      // nothing but the cache's own four storage tensors outlives a step
      expect(memory().tensors).toBe(storageBefore);
    }
    expect(cache.length).toBe(500);
    expect(cache.capacity).toBe(512);
    // growth at 64, 128, …, 512 positions: 8 allocations of keys and values per layer, each the new capacity
    const grownTo = Array.from({ length: 8 }, (_, index) => (index + 1) * step);
    const expected = grownTo.reduce((sum, capacity) => sum + capacity * bytesPerPosition, 0) * 2 * 2;
    expect(cache.bytesAllocated).toBe(expected);
    // a concatenating cache allocates Σ t = 125,250 positions per tensor over 500 steps; this one 2,304
    expect(cache.bytesAllocated / (2 * 2 * bytesPerPosition)).toBe(2304);
    cache.dispose();
  });
});
