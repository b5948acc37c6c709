import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  alibi,
  alibiSlopes,
  and,
  bidirectional,
  causal,
  not,
  or,
  packedDocuments,
  padding,
  prefixLM,
  segments,
  segmentVectorFromRoles,
  slidingWindow,
  softcap,
} from "./masks.js";
import type { AttentionStrategy } from "./strategy.js";

/** The mask as rows of "1"/"0", evaluated pair by pair with the mask mod. */
function picture(strategy: AttentionStrategy, length: number, batch = 0): string[] {
  return Array.from({ length }, (_, query) =>
    Array.from({ length }, (_, key) => (strategy.maskMod(batch, 0, query, key) ? "1" : "0")).join(""),
  );
}

/** Brute-force classification of a block with the mask mod. */
function bruteKind(strategy: AttentionStrategy, batch: number, q0: number, q1: number, k0: number, k1: number) {
  let seenTrue = false;
  let seenFalse = false;
  for (let q = q0; q < q1; q++) {
    for (let k = k0; k < k1; k++) {
      if (strategy.maskMod(batch, 0, q, k)) seenTrue = true;
      else seenFalse = true;
    }
  }
  return seenTrue && seenFalse ? "partial" : seenTrue ? "full" : "empty";
}

/** Exact cache consistency of a cut: no query before it attends a key at or after it (within length). */
function cutIsConsistent(strategy: AttentionStrategy, batch: number, cut: number, length: number): boolean {
  for (let q = 0; q < cut; q++) for (let k = cut; k < length; k++) if (strategy.maskMod(batch, 0, q, k)) return false;
  return true;
}

describe("built-in masks (hand-computed pictures)", () => {
  it("causal is lower-triangular including the diagonal", () => {
    expect(picture(causal, 4)).toEqual(["1000", "1100", "1110", "1111"]);
  });

  it("bidirectional attends everything", () => {
    expect(picture(bidirectional, 3)).toEqual(["111", "111", "111"]);
  });

  it("prefixLM(2): the first two keys are visible to all, the rest causal", () => {
    expect(picture(prefixLM(2), 5)).toEqual(["11000", "11000", "11100", "11110", "11111"]);
  });

  it("prefixLM takes one length per batch row", () => {
    const strategy = prefixLM([0, 3]);
    expect(picture(strategy, 3, 0)).toEqual(["100", "110", "111"]);
    expect(picture(strategy, 3, 1)).toEqual(["111", "111", "111"]);
    expect(() => strategy.maskMod(2, 0, 0, 0)).toThrow(/batch row 2/);
  });

  it("segments(ar) follows big_vision's cumsum rule", () => {
    // all ones: causal
    expect(picture(segments([1, 1, 1, 1]), 4)).toEqual(picture(causal, 4));
    // [0,0,1,1]: tokens 0..1 share rank 0 (bidirectional prefix), then causal
    expect(picture(segments([0, 0, 1, 1]), 4)).toEqual(["1100", "1100", "1110", "1111"]);
    // two bidirectional turns [1,0,0][1,0] then a causal token
    expect(picture(segments([1, 0, 0, 1, 0, 1]), 6)).toEqual([
      "111000",
      "111000",
      "111000",
      "111110",
      "111110",
      "111111",
    ]);
  });

  it("segments continue causally past the end of ar", () => {
    const strategy = segments([1, 0, 0]);
    expect(picture(strategy, 5)).toEqual(["11100", "11100", "11100", "11110", "11111"]);
  });

  it("segments reject negative or fractional entries", () => {
    expect(() => segments([1, -1])).toThrow(/ar\[1\] = -1/);
    expect(() => segments([0.5])).toThrow(/ar\[0\]/);
  });

  it("slidingWindow(w) sees exactly w keys counting itself", () => {
    expect(picture(slidingWindow(2), 5)).toEqual(["10000", "11000", "01100", "00110", "00011"]);
    expect(picture(slidingWindow(1), 3)).toEqual(["100", "010", "001"]);
    // edge: q − kv = w − 1 is in, q − kv = w is out
    const window = slidingWindow(3);
    expect(window.maskMod(0, 0, 10, 8)).toBe(true);
    expect(window.maskMod(0, 0, 10, 7)).toBe(false);
    expect(() => slidingWindow(0)).toThrow(/window 0/);
  });

  it("padding hides masked keys from every query; keys past the mask are visible", () => {
    expect(picture(padding([true, false, true]), 4)).toEqual(["1011", "1011", "1011", "1011"]);
    expect(picture(and(causal, padding([0, 1, 1, 1])), 4)).toEqual(["0000", "0100", "0110", "0111"]);
  });

  it("packedDocuments(ids, causal) blocks attention across documents", () => {
    expect(picture(packedDocuments([0, 0, 1, 1, 1]), 5)).toEqual(["10000", "11000", "00100", "00110", "00111"]);
  });

  it("packedDocuments applies the inner strategy in document-local positions", () => {
    // inner prefixLM(1): in each document, its first token is visible to the whole document
    expect(picture(packedDocuments([5, 5, 5, 7, 7], prefixLM(1)), 5)).toEqual([
      "10000",
      "11000",
      "11100",
      "00010",
      "00011",
    ]);
    expect(() => packedDocuments([0, 1, 0])).toThrow(/document id 0 reappears at position 2/);
  });

  it("and / or / not combine pointwise", () => {
    expect(
      picture(
        or(slidingWindow(1), (_b, _h, _q, key) => key === 0),
        3,
      ),
    ).toEqual(["100", "110", "101"]);
    expect(picture(not(causal), 3)).toEqual(["011", "001", "000"]);
    expect(picture(and(causal, slidingWindow(2)), 3)).toEqual(picture(slidingWindow(2), 3));
    // bare mask mods are accepted
    expect(
      picture(
        and(causal, (_b, _h, _q, key) => key !== 1),
        3,
      ),
    ).toEqual(["100", "100", "101"]);
  });
});

describe("segmentVectorFromRoles", () => {
  it("makes user/system/tool turns bidirectional and assistant tokens causal", () => {
    const roles = ["system", "system", "user", "user", "user", "assistant", "assistant", "tool", "tool"];
    expect(segmentVectorFromRoles(roles)).toEqual([1, 0, 1, 0, 0, 1, 1, 1, 0]);
  });

  it("accepts run-length lists and splits same-role turns", () => {
    expect(
      segmentVectorFromRoles([
        { role: "user", length: 2 },
        { role: "user", length: 2 },
        { role: "assistant", length: 2 },
      ]),
    ).toEqual([1, 0, 1, 0, 1, 1]);
    expect(segmentVectorFromRoles(["user", "user", "user"], { turns: [0, 0, 1] })).toEqual([1, 0, 1]);
  });

  it("treats template markup as causal and honours custom bidirectional roles", () => {
    expect(segmentVectorFromRoles(["template", "template", "user", "user"])).toEqual([1, 1, 1, 0]);
    expect(segmentVectorFromRoles(["user", "user"], { bidirectionalRoles: [] })).toEqual([1, 1]);
  });

  it("rejects a turns vector of the wrong length", () => {
    expect(() => segmentVectorFromRoles(["user"], { turns: [0, 0] })).toThrow(/turns has 2 entries for 1 tokens/);
  });
});

describe("score mods", () => {
  it("alibi slopes match the paper for 8 heads: 1/2, 1/4, …, 1/256", () => {
    expect(alibiSlopes(8)).toEqual([1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256]);
    // 6 heads: 4-head slopes then every other slope of the 8-head list
    expect(alibiSlopes(6)).toEqual([1 / 4, 1 / 16, 1 / 64, 1 / 256, 1 / 2, 1 / 8]);
  });

  it("alibi adds slope · (kv − q); softcap is cap · tanh(score / cap) with its derivative", () => {
    const mod = alibi(8);
    expect(mod(1, 0, 2, 5, 3)).toBeCloseTo(1 + (1 / 8) * (3 - 5), 12);
    expect(mod.derivative?.(1, 0, 2, 5, 3)).toBe(1);
    const cap = softcap(5);
    expect(cap(10, 0, 0, 0, 0)).toBeCloseTo(5 * Math.tanh(2), 12);
    const step = 1e-6;
    const numeric = (cap(3 + step, 0, 0, 0, 0) - cap(3 - step, 0, 0, 0, 0)) / (2 * step);
    expect(cap.derivative?.(3, 0, 0, 0, 0)).toBeCloseTo(numeric, 8);
  });
});

/** Random strategies with their lengths, for the property tests. */
const lengthArbitrary = fc.integer({ min: 1, max: 24 });
const strategyArbitrary = lengthArbitrary.chain((length) =>
  fc
    .oneof(
      fc.constant(causal),
      fc.constant(bidirectional),
      fc.integer({ min: 0, max: length }).map((prefix) => prefixLM(prefix)),
      fc.array(fc.integer({ min: 0, max: 2 }), { minLength: length, maxLength: length }).map((ar) => segments(ar)),
      fc.integer({ min: 1, max: 6 }).map((window) => slidingWindow(window)),
      fc.array(fc.boolean(), { minLength: length, maxLength: length }).map((mask) => and(causal, padding(mask))),
      fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }).chain((sizes) =>
        fc
          .oneof(
            fc.constant(causal),
            fc.integer({ min: 0, max: 3 }).map((prefix) => prefixLM(prefix)),
            fc.integer({ min: 1, max: 3 }).map((window) => slidingWindow(window)),
          )
          .map((inner) =>
            packedDocuments(
              sizes.flatMap((size, id) => Array<number>(size).fill(id)),
              inner,
            ),
          ),
      ),
      fc.integer({ min: 1, max: 4 }).map((window) => or(slidingWindow(window), prefixLM(2))),
      fc.integer({ min: 1, max: 4 }).map((window) => not(slidingWindow(window))),
    )
    .map((strategy) => ({ strategy, length })),
);

describe("block classification and cache metadata (property tests)", () => {
  it("every classifier agrees with brute force on random blocks", () => {
    fc.assert(
      fc.property(
        strategyArbitrary,
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 1, max: 8 }),
        ({ strategy }, q0, qn, k0, kn) => {
          const kind = strategy.classifyBlock?.(0, 0, q0, q0 + qn, k0, k0 + kn);
          const brute = bruteKind(strategy, 0, q0, q0 + qn, k0, k0 + kn);
          // "partial" is always allowed; "full" and "empty" must be exact
          if (kind === "partial") return true;
          expect(kind).toBe(brute);
          return true;
        },
      ),
      { numRuns: 400 },
    );
  });

  it("the built-ins classify exactly (never a needless partial) on single-kind blocks of causal masks", () => {
    expect(causal.classifyBlock?.(0, 0, 4, 8, 0, 4)).toBe("full");
    expect(causal.classifyBlock?.(0, 0, 0, 4, 4, 8)).toBe("empty");
    expect(causal.classifyBlock?.(0, 0, 0, 4, 0, 4)).toBe("partial");
  });

  it("declared chunk boundaries are exactly the consistent cuts", () => {
    fc.assert(
      fc.property(strategyArbitrary, ({ strategy, length }) => {
        const boundaries = strategy.chunkBoundaries(0, length);
        for (let cut = 1; cut < length; cut++) {
          const declared = boundaries === "anywhere" || (boundaries !== "nowhere" && boundaries.includes(cut));
          // a declared cut must be consistent (the KV cache relies on it when planning chunks)
          if (declared) expect(cutIsConsistent(strategy, 0, cut, length)).toBe(true);
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it("segments and prefixLM declare every consistent cut", () => {
    const ar = [1, 0, 0, 1, 1, 0, 1];
    expect(segments(ar).chunkBoundaries(0, 7)).toEqual([3, 4, 6]);
    expect(prefixLM(3).chunkBoundaries(0, 5)).toEqual([3, 4]);
    expect(causal.chunkBoundaries(0, 5)).toBe("anywhere");
    expect(bidirectional.chunkBoundaries(0, 5)).toBe("nowhere");
    expect(packedDocuments([0, 0, 1, 1, 1], prefixLM(2)).chunkBoundaries(0, 5)).toEqual([2, 4]);
    expect(packedDocuments([0, 0, 1], causal).chunkBoundaries(0, 3)).toBe("anywhere");
    expect(and(causal, padding([1, 0, 1])).chunkBoundaries(0, 3)).toBe("anywhere");
  });
});
