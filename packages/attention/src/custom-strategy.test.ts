/**
 * The README's custom strategy ("attention sink: BOS + sliding window"), written the way a user would in
 * their own package — only the exported types and functions — and held to the same bar as the built-ins.
 */
import { tensor } from "@minimind/tensor";
import { describe, expect, it } from "vitest";
import { maxRelativeError, randomArray } from "./__fixtures__/random-arrays.js";
import {
  type AttentionStrategy,
  attentionForward,
  type BlockKind,
  createBlockMask,
  KeyValueCache,
  planChunks,
  scaledDotProductAttention,
} from "./index.js";
import { referenceAttention } from "./reference.js";

/** Every query sees the first `sinks` tokens plus its last `window` tokens (itself included). */
function attentionSink(window: number, sinks = 1): AttentionStrategy {
  return {
    name: `attentionSink(${sinks}, ${window})`,
    maskMod: (_batch, _head, query, key) => key <= query && (key < sinks || query - key < window),
    classifyBlock: (_batch, _head, queryStart, queryEnd, keyStart, keyEnd): BlockKind => {
      if (keyStart > queryEnd - 1) return "empty"; // all keys in the future
      if (keyStart >= sinks && queryStart - (keyEnd - 1) >= window) return "empty"; // too far, no sinks
      const causalFull = keyEnd - 1 <= queryStart;
      if (causalFull && (keyEnd <= sinks || queryEnd - 1 - keyStart < window)) return "full";
      return "partial";
    },
    chunkBoundaries: () => "anywhere", // never attends a later key
  };
}

describe("a user-defined strategy: attention sink (BOS + sliding window)", () => {
  const strategy = attentionSink(3);

  it("draws the expected picture", () => {
    expect(createBlockMask(strategy, { queryLength: 6, blockSize: 2 }).renderText()).toBe(
      ["█·····", "██····", "███···", "████··", "█·███·", "█··███"].join("\n"),
    );
  });

  it("its block classifier is exact where it claims full or empty", () => {
    for (let blockSize = 1; blockSize <= 5; blockSize++) {
      const mask = createBlockMask(strategy, { queryLength: 23, blockSize });
      const dense = mask.toDense();
      for (let query = 0; query < 23; query++) {
        for (let key = 0; key < 23; key++) {
          expect(dense[query * 23 + key]).toBe(strategy.maskMod(0, 0, query, key) ? 1 : 0);
        }
      }
    }
  });

  it("the kernel and step-by-step decoding match the dense reference", () => {
    const shape = { batch: 1, queryHeads: 2, keyValueHeads: 1, queryLength: 17, keyLength: 17, headDim: 4 };
    const query = randomArray(2 * 17 * 4, 51, 1.5);
    const key = randomArray(17 * 4, 52, 1.5);
    const value = randomArray(17 * 4, 53);
    const blockMask = createBlockMask(strategy, { heads: 2, queryLength: 17, blockSize: 4 });
    const reference = referenceAttention(query, key, value, shape, strategy).output;
    expect(maxRelativeError(attentionForward({ query, key, value, shape, blockMask }).output, reference)).toBeLessThan(
      2e-5,
    );
    const cache = new KeyValueCache({ layers: 1, maxLength: 17, blockSize: 4 });
    const decoded = new Float32Array(query.length);
    const queries = tensor(query, { shape: [1, 2, 17, 4] });
    const keys = tensor(key, { shape: [1, 1, 17, 4] });
    const values = tensor(value, { shape: [1, 1, 17, 4] });
    for (const [start, end] of planChunks(strategy, 17)) {
      cache.checkAppend(strategy, end - start, { heads: 2 });
      const fetched = cache.updateAndFetch(
        0,
        keys.slice([0, 0, start, 0], [1, 1, end, 4]),
        values.slice([0, 0, start, 0], [1, 1, end, 4]),
      );
      const chunkQuery = queries.slice([0, 0, start, 0], [1, 2, end, 4]);
      const output = scaledDotProductAttention(chunkQuery, fetched.key, fetched.value, { strategy, blockSize: 4 });
      const rows = output.dataSync() as Float32Array;
      decoded.set(rows.subarray(0, (end - start) * 4), start * 4);
      decoded.set(rows.subarray((end - start) * 4), (17 + start) * 4);
    }
    expect(maxRelativeError(decoded, reference)).toBeLessThan(2e-5);
  });
});
