import { describe, expect, it } from "vitest";
import { createBlockMask } from "./block-mask.js";
import { and, causal, packedDocuments, padding, prefixLM, segments, slidingWindow } from "./masks.js";
import type { AttentionStrategy } from "./strategy.js";

function bruteDense(strategy: AttentionStrategy, queryLength: number, keyLength: number, offset: number, batch = 0) {
  const dense = new Uint8Array(queryLength * keyLength);
  for (let q = 0; q < queryLength; q++) {
    for (let k = 0; k < keyLength; k++) dense[q * keyLength + k] = strategy.maskMod(batch, 0, offset + q, k) ? 1 : 0;
  }
  return dense;
}

describe("BlockMask", () => {
  it("refuses a head-dependent mask that does not declare perHead, naming the head and position", () => {
    const byHead: AttentionStrategy = {
      name: "by-head",
      maskMod: (_batch, head, query, key) => key <= query && (head === 0 || key > 0),
      chunkBoundaries: () => "anywhere",
    };
    expect(() => createBlockMask(byHead, { heads: 4, queryLength: 32 })).toThrow(
      /strategy "by-head" gives head 1 a different mask than head 0 \(batch row 0, query 0, key 0\) but does not declare perHead: true/,
    );
    expect(createBlockMask({ ...byHead, perHead: true }, { heads: 4, queryLength: 32 }).headGroups).toBe(4);
    expect(createBlockMask(byHead, { heads: 1, queryLength: 32 }).headGroups).toBe(1);
  });

  it("classifies causal T=256 in 64-blocks as 6 full, 4 partial (diagonal), 6 empty", () => {
    const mask = createBlockMask(causal, { queryLength: 256 });
    expect(mask.counts()).toEqual({ full: 6, partial: 4, empty: 6 });
    expect(Array.from(mask.fullBlocks(0, 0, 3))).toEqual([0, 1, 2]);
    expect(Array.from(mask.partialBlocks(0, 0, 3))).toEqual([3]);
    expect(Array.from(mask.fullBlocks(0, 0, 0))).toEqual([]);
    expect(mask.renderText({ blocks: true })).toBe(["▒···", "█▒··", "██▒·", "███▒"].join("\n"));
  });

  it("built-ins build in O(blocks): one classification per block and no mask evaluation", () => {
    let classified = 0;
    let evaluated = 0;
    const counted: AttentionStrategy = {
      ...causal,
      maskMod: (...args) => {
        evaluated++;
        return causal.maskMod(...args);
      },
      classifyBlock: (...args) => {
        classified++;
        return causal.classifyBlock?.(...args) ?? "partial";
      },
    };
    const mask = createBlockMask(counted, { batch: 2, heads: 8, queryLength: 4096, blockSize: 64 });
    expect(classified).toBe(2 * 64 * 64); // head-independent: one group for all 8 heads
    // the mask itself is evaluated only by the head-independence probe: a 16 × 16 grid per other head, for
    // the first and last batch row — never per element of the 4096 × 4096 mask
    expect(evaluated).toBe(2 * 16 * 16 * 8);
    expect(mask.headGroups).toBe(1);
  });

  it("toDense equals the mask evaluated pair by pair, for built-ins, offsets and the fallback", () => {
    const strategies: AttentionStrategy[] = [
      causal,
      prefixLM(7),
      segments([1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 1, 1]),
      packedDocuments([0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3], prefixLM(2)),
      slidingWindow(3),
      and(causal, padding([0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1])),
    ];
    for (const strategy of strategies) {
      for (const [queryLength, keyLength] of [
        [13, 13],
        [4, 13],
        [1, 13],
      ] as const) {
        const mask = createBlockMask(strategy, { queryLength, keyLength, blockSize: 3 });
        expect(mask.toDense()).toEqual(bruteDense(strategy, queryLength, keyLength, keyLength - queryLength));
      }
    }
    const bare = (_b: number, _h: number, query: number, key: number) => (query * key) % 4 !== 1;
    const fallback = createBlockMask(bare, { queryLength: 9, blockSize: 4 });
    expect(fallback.toDense()).toEqual(
      bruteDense({ name: "", maskMod: bare, chunkBoundaries: () => "nowhere" }, 9, 9, 0),
    );
  });

  it("decode alignment: one query after 9 cached keys sees all 10 causal keys", () => {
    const mask = createBlockMask(causal, { queryLength: 1, keyLength: 10, blockSize: 4 });
    expect(mask.queryOffset).toBe(9);
    expect(mask.renderText()).toBe("██████████");
    expect(createBlockMask(causal, { queryLength: 1, keyLength: 10, queryOffset: 0 }).renderText()).toBe("█·········");
  });

  it("analyze: false marks every block partial (the dense way) with the same mask", () => {
    const mask = createBlockMask(causal, { queryLength: 8, blockSize: 4, analyze: false });
    expect(mask.counts()).toEqual({ full: 0, partial: 4, empty: 0 });
    expect(mask.toDense()).toEqual(bruteDense(causal, 8, 8, 0));
  });

  it("renders text and SVG pictures", () => {
    const mask = createBlockMask(segments([1, 0, 0, 1, 1]), { queryLength: 5, blockSize: 2 });
    expect(mask.renderText()).toBe(["███··", "███··", "███··", "████·", "█████"].join("\n"));
    const svg = mask.renderSvg({ cellSize: 4 });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"')).toBe(true);
    expect(svg).toContain("<title>segments</title>");
    // 18 attended cells, each one rect, plus the background
    expect(svg.match(/<rect /g)?.length).toBe(1 + 18);
  });

  it("rejects bad sizes with the field at fault", () => {
    expect(() => createBlockMask(causal, { queryLength: 4, blockSize: 0 })).toThrow(/blockSize = 0/);
    expect(() => createBlockMask(causal, { queryLength: 8, keyLength: 4 })).toThrow(/queryOffset = -4/);
  });
});
