import { describe, expect, it } from "vitest";
import { WordCache } from "./word-cache.js";

describe("WordCache", () => {
  it("finds a word by a range of any text, not by string identity", () => {
    const cache = new WordCache(8);
    cache.set("say hello", 4, 9, [1, 2]);
    expect(cache.get("hello world", 0, 5)).toEqual([1, 2]);
    expect(cache.get("hell", 0, 4)).toBeUndefined();
    expect(cache.get("hellos", 0, 6)).toBeUndefined();
    expect(cache.get("", 0, 0)).toBeUndefined();
  });

  it("keeps colliding words apart and starts over when half full", () => {
    const cache = new WordCache(8);
    const words = ["a", "b", "c", "d"];
    words.forEach((word, index) => {
      cache.set(word, 0, 1, [index]);
    });
    expect(words.map((word) => cache.get(word, 0, 1))).toEqual([[0], [1], [2], [3]]);
    expect(cache.size).toBe(4);
    cache.set("e", 0, 1, [4]); // the fifth word in 8 slots: the cache is cleared first
    expect(cache.size).toBe(1);
    expect(cache.get("a", 0, 1)).toBeUndefined();
    expect(cache.get("e", 0, 1)).toEqual([4]);
  });
});
