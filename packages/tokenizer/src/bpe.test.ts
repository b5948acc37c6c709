import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MergeTable, mergeWordByHeap, mergeWordByScan, NO_MERGE } from "./bpe.js";

/** Reference BPE, written for clarity: apply the lowest-rank merge at its leftmost place until none applies. */
function referenceMerge(merges: ReadonlyArray<readonly [number, number, number]>, word: number[]): number[] {
  const symbols = [...word];
  const rankOf = (left: number, right: number) => merges.findIndex(([a, b]) => a === left && b === right);
  for (;;) {
    let best = -1;
    let at = -1;
    for (let index = 0; index + 1 < symbols.length; index++) {
      const rank = rankOf(symbols[index] as number, symbols[index + 1] as number);
      if (rank >= 0 && (best < 0 || rank < best)) {
        best = rank;
        at = index;
      }
    }
    if (at < 0) return symbols;
    symbols.splice(at, 2, (merges[best] as readonly [number, number, number])[2]);
  }
}

const run = (kind: "scan" | "heap", table: MergeTable, word: number[]): number[] => {
  const symbols = Int32Array.from(word);
  const length =
    kind === "scan"
      ? mergeWordByScan(table, symbols, word.length, new Int32Array(word.length + 1))
      : mergeWordByHeap(table, symbols, word.length);
  return Array.from(symbols.subarray(0, length));
};

describe("MergeTable", () => {
  it("finds ranks and merged ids; a repeated pair takes its last rank, as in Hugging Face", () => {
    const table = new MergeTable([
      [1, 2, 10],
      [10, 3, 11],
      [1, 2, 12],
    ]);
    expect(table.size).toBe(2);
    expect(table.rank(1, 2)).toBe(2);
    expect(table.mergedAt(table.find(1, 2))).toBe(12);
    expect(table.rank(10, 3)).toBe(1);
    expect(table.rank(2, 1)).toBe(NO_MERGE);
    expect(table.find(3, 3)).toBe(-1);
  });
});

describe("word merging", () => {
  // a=1 b=2 c=3; merges: (a,b)→ab=4, (ab,c)→abc=5, (b,c)→bc=6, (a,a)→aa=7
  const merges = [
    [1, 2, 4],
    [4, 3, 5],
    [2, 3, 6],
    [1, 1, 7],
  ] as const;
  const table = new MergeTable(merges);

  it.each(["scan", "heap"] as const)("%s: applies merges by rank, leftmost first", (kind) => {
    expect(run(kind, table, [1, 2, 3])).toEqual([5]); // ab, then abc (rank 1 beats bc's rank 2)
    expect(run(kind, table, [2, 3, 1, 2])).toEqual([6, 4]); // ab first (rank 0), then bc
    expect(run(kind, table, [1, 1, 1])).toEqual([7, 1]); // leftmost of overlapping equal pairs
    expect(run(kind, table, [1, 1, 1, 1])).toEqual([7, 7]);
    expect(run(kind, table, [3])).toEqual([3]);
    expect(run(kind, table, [])).toEqual([]);
  });

  it("scan and heap agree with a plain reference on random tables and words", () => {
    const arbitraryCase = fc
      .record({
        merges: fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })), {
          maxLength: 20,
          selector: ([a, b]) => `${a},${b}`,
        }),
        word: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 200 }),
      })
      .map(({ merges: pairs, word }) => ({
        // Each merge makes a fresh id; later merges may use earlier results.
        merges: pairs.map(([a, b], index) => [index > 0 && a === 5 ? 100 + index - 1 : a, b, 100 + index] as const),
        word,
      }));
    fc.assert(
      fc.property(arbitraryCase, ({ merges: randomMerges, word }) => {
        const randomTable = new MergeTable(randomMerges);
        const expected = referenceMerge(randomMerges, word);
        expect(run("scan", randomTable, word)).toEqual(expected);
        expect(run("heap", randomTable, word)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});
