/**
 * Multi-turn KV-cache reuse through @minimind/attention's cache, on the dense-tiny PyTorch fixture: turn 2
 * computed on turn 1's cache equals recomputing the whole history from scratch — for causal, per-turn
 * `segments` and a user-written strategy (its own file, exported API only) — appends the strategy forbids are
 * refused before anything is computed, generation continues a cache turn after turn, and decoding allocates
 * O(1) per token for the cache.
 */
import {
  type AttentionStrategy,
  bidirectional,
  causal,
  prefixLM,
  type StrategyLike,
  segments,
} from "@minimind/attention";
import { getBackend, noGrad, scope } from "@minimind/tensor";
import { afterAll, describe, expect, it } from "vitest";
import { bidirectionalSpans } from "./__fixtures__/bidirectional-spans.js";
import { configOf, maxAbsoluteDifference, readTensors } from "./__fixtures__/parity.js";
import { MiniMindForCausalLM } from "./model.js";

const config = configOf("dense-tiny");
const model = MiniMindForCausalLM.fromStateDict(
  config,
  readTensors("dense-tiny", "model.safetensors"),
  "dense-tiny",
).eval();
afterAll(() => model.dispose());

const vocab = config.vocab_size;
// A two-turn chat as token ids: [prompt 1 (6) | answer 1 (4) | prompt 2 (5) | answer 2 (3)]
const prompt1 = [1, 320, 275, 2401, 5, 88];
const answer1 = [913, 44, 1201, 2];
const prompt2 = [1, 77, 3021, 640, 9];
const answer2 = [404, 18, 2];
const turn1 = [...prompt1, ...answer1];
const turn2 = [...prompt2, ...answer2];
const history = [...turn1, ...turn2];
// prompts bidirectional within their turn, answers causal
const turnVector = [1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1];
const strategies: [string, StrategyLike][] = [
  ["causal", causal],
  ["segments (per-turn bidirectional prompts)", segments(turnVector)],
  [
    "a user-written strategy",
    bidirectionalSpans([
      [0, 6],
      [10, 15],
    ]),
  ],
];

function logitsOf(run: () => { dataSync(): unknown }): Float32Array {
  return noGrad(() => scope(() => Float32Array.from(run().dataSync() as Float32Array)));
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return maxAbsoluteDifference(a, b);
}

describe("turn 2 on turn 1's cache equals recomputing the history", () => {
  for (const [name, attention] of strategies) {
    it(name, () => {
      // from scratch: the whole history in one forward, no cache; keep turn 2's logits
      const full = logitsOf(() => model.forward({ inputIds: [history], attention }).logits);
      const expected = full.subarray(turn1.length * vocab);
      // reuse: turn 1's prompt as one chunk, its answer token by token, then turn 2 as one chunk on that cache
      const cache = model.createCache();
      try {
        logitsOf(() => model.forward({ inputIds: [prompt1], cache, attention }).logits);
        for (const token of answer1) logitsOf(() => model.forward({ inputIds: [[token]], cache, attention }).logits);
        expect(cache.length).toBe(turn1.length);
        const reused = logitsOf(() => model.forward({ inputIds: [turn2], cache, attention }).logits);
        expect(cache.length).toBe(history.length);
        const difference = maxDifference(reused, expected);
        console.log(`[cache reuse ${name}] turn 2 max |Δlogits| vs recompute ${difference.toExponential(2)}`);
        expect(difference).toBeLessThan(1e-5);
      } finally {
        cache.dispose();
      }
    });
  }

  it("the strategies really differ (so the equality above is not vacuous)", () => {
    const causalLogits = logitsOf(() => model.forward({ inputIds: [history], attention: causal }).logits);
    const segmentLogits = logitsOf(
      () => model.forward({ inputIds: [history], attention: segments(turnVector) }).logits,
    );
    expect(maxDifference(causalLogits, segmentLogits)).toBeGreaterThan(1e-3);
  });
});

describe("appends the strategy forbids are refused, before anything is computed", () => {
  it("a chunk ending inside a bidirectional prompt (segments and the user-written strategy)", () => {
    for (const attention of [segments(turnVector), bidirectionalSpans([[0, 6]]) as AttentionStrategy]) {
      const cache = model.createCache();
      expect(() => model.forward({ inputIds: [prompt1.slice(0, 3)], cache, attention })).toThrow(
        /refuses a chunk \[0, 3\): token 0 \(batch row 0\) attends key 3, which is not there yet/,
      );
      expect(cache.length).toBe(0);
      model.forward({ inputIds: [prompt1], cache, attention }); // the whole prompt: allowed
      expect(cache.length).toBe(6);
      cache.dispose();
    }
  });

  it("the issue's case: prefixLM(7) prefilled 3 + 4 no longer gives silently wrong logits", () => {
    const cache = model.createCache();
    expect(() => model.forward({ inputIds: [prompt1.slice(0, 3)], cache, attention: prefixLM(7) })).toThrow(
      /strategy "prefixLM\(7\)" refuses a chunk \[0, 3\).*Cuts it allows for batch row 0: 7, 8/,
    );
    expect(() => model.forward({ inputIds: [prompt1], cache, attention: bidirectional })).toThrow(
      /refuses a chunk \[0, 6\)/,
    );
    cache.dispose();
  });

  it("turn 2 under a prefix-LM over the whole history (it would change what turn 1 saw)", () => {
    const cache = model.createCache();
    model.forward({ inputIds: [turn1], cache, attention: prefixLM(6) });
    expect(() => model.forward({ inputIds: [turn2], cache, attention: prefixLM(15) })).toThrow(
      /cached token 0 \(batch row 0\) attends key 10: the strategy changed what an earlier token sees/,
    );
    expect(cache.length).toBe(turn1.length);
    cache.dispose();
  });
});

describe("generation continues a cache turn after turn", () => {
  for (const [name, attention] of strategies) {
    it(`${name}: two generate calls on one cache equal one call on the whole history`, async () => {
      const cache = model.createCache();
      try {
        const first = (
          await model.generate([prompt1], { maxNewTokens: 4, attention, cache, eosTokenId: [] })
        )[0] as number[];
        const soFar = [...prompt1, ...first];
        expect(cache.length).toBe(soFar.length - 1); // the last generated token is not fed yet
        const next = [...soFar.slice(cache.length), ...prompt2];
        const second = (await model.generate([next], { maxNewTokens: 3, attention, cache, eosTokenId: [] }))[0];
        const fresh = (
          await model.generate([[...soFar, ...prompt2]], { maxNewTokens: 3, attention, eosTokenId: [] })
        )[0];
        expect(second).toEqual(fresh);
      } finally {
        cache.dispose();
      }
    });
  }
});

describe("decode allocates O(1) per token for the cache", () => {
  it("500 tokens: the bytes allocated per step do not grow like a copied cache", async () => {
    const backend = getBackend();
    const allocate = backend.allocate.bind(backend);
    const bytesPer = { float32: 4, int32: 4, float64: 8, bool: 1 } as Record<string, number>;
    let allocated = 0;
    backend.allocate = (dtype, length, zeroed) => {
      allocated += length * (bytesPer[dtype] ?? 8);
      return allocate(dtype, length, zeroed);
    };
    const perStep: number[] = [];
    try {
      // 500 decode steps: prefill 1 token, then 499 steps, counting the bytes each step allocates
      const stream = await model.generate([[1]], { maxNewTokens: 1, eosTokenId: [] }); // warm up kernels and pools
      expect(stream[0]).toHaveLength(1);
      const cache = model.createCache();
      noGrad(() => {
        let token = [[1]];
        for (let step = 0; step < 500; step++) {
          const before = allocated;
          const next = scope(() => {
            const { logits } = model.forward({ inputIds: token, cache, logitsToKeep: 1 });
            return (logits.argmax().dataSync() as Int32Array)[0] as number;
          });
          perStep.push(allocated - before);
          token = [[next]];
        }
      });
      expect(cache.length).toBe(500);
      // storage grew in steps of 256 (to 256, then 512): 2 growths × K and V × 2 layers
      const positionBytes = config.num_key_value_heads * config.head_dim * 4;
      expect(cache.bytesAllocated).toBe((256 + 512) * positionBytes * 2 * config.num_hidden_layers);
      cache.dispose();
    } finally {
      backend.allocate = allocate;
    }
    const mean = (from: number) => perStep.slice(from, from + 20).reduce((sum, bytes) => sum + bytes, 0) / 20;
    const slope = (mean(440) - mean(120)) / 320; // extra bytes per step per position held
    // A cache that copies its keys and values each step adds 2 · layers · Hkv · D · 4 = 512 bytes per position;
    // what remains here (attention scores over the keys) is a fraction of that.
    const copyingSlope = 2 * config.num_hidden_layers * config.num_key_value_heads * config.head_dim * 4;
    console.log(
      `[decode allocation] ${mean(120).toFixed(0)} B/step at ~130 positions, ${mean(440).toFixed(0)} at ~450: ${slope.toFixed(1)} B per position (a copying cache: ≥ ${copyingSlope})`,
    );
    expect(slope).toBeLessThan(copyingSlope / 2);
  });
});
