import { describe, expect, it } from "vitest";
import { seededPermutation, seededUniform } from "./random.js";

describe("seeded randomness", () => {
  it("permutations hold every index once, depend on seed and epoch, and repeat for the same keys", () => {
    const first = seededPermutation(1000, 7, 0);
    expect([...first].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, index) => index));
    expect(seededPermutation(1000, 7, 0)).toEqual(first);
    expect(seededPermutation(1000, 7, 1)).not.toEqual(first);
    expect(seededPermutation(1000, 8, 0)).not.toEqual(first);
  });

  it("uniforms lie in [0, 1) with a mean near 1/2 and a fraction below 0.2 near 0.2", () => {
    const uniform = seededUniform(3, 4);
    let sum = 0;
    let below = 0;
    let outside = 0;
    const count = 100_000;
    for (let draw = 0; draw < count; draw++) {
      const value = uniform();
      if (!(value >= 0 && value < 1)) outside++;
      sum += value;
      if (value < 0.2) below++;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / count - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(below / count - 0.2)).toBeLessThan(0.01);
  });
});
