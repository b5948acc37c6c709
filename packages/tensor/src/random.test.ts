import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { seededDraws } from "./__fixtures__/seeded-draws-shared.js";
import { manualSeed, randn, randnValues, uniform, uniformValues } from "./index.js";
import { RandomGenerator } from "./random.js";

describe("seeded PRNG (xoshiro128** seeded by splitmix32)", () => {
  it("produces the reference xoshiro128** stream for a known state", () => {
    // Independent reference: the algorithm written out directly from Blackman & Vigna's definition.
    const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
    let z = 0;
    const splitmix = () => {
      z = (z + 0x9e3779b9) >>> 0;
      let r = z;
      r = Math.imul(r ^ (r >>> 16), 0x85ebca6b) >>> 0;
      r = Math.imul(r ^ (r >>> 13), 0xc2b2ae35) >>> 0;
      return (r ^ (r >>> 16)) >>> 0;
    };
    z = 2024;
    const s = [splitmix(), splitmix(), splitmix(), splitmix()];
    const reference: number[] = [];
    for (let i = 0; i < 5; i++) {
      reference.push(Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0);
      const t = (s[1] << 9) >>> 0;
      s[2] = (s[2] ^ s[0]) >>> 0;
      s[3] = (s[3] ^ s[1]) >>> 0;
      s[1] = (s[1] ^ s[2]) >>> 0;
      s[0] = (s[0] ^ s[3]) >>> 0;
      s[2] = (s[2] ^ t) >>> 0;
      s[3] = rotl(s[3], 11);
    }
    const generator = new RandomGenerator(2024);
    expect(Array.from({ length: 5 }, () => generator.nextUint32())).toEqual(reference);
  });

  it("same seed gives the same tensor; different seeds differ; manualSeed resets the global stream", () => {
    expect(randn([4, 4], { seed: 1 }).dataSync()).toEqual(randn([4, 4], { seed: 1 }).dataSync());
    expect(randn([4, 4], { seed: 1 }).dataSync()).not.toEqual(randn([4, 4], { seed: 2 }).dataSync());
    manualSeed(5);
    const first = uniform([6]).dataSync();
    manualSeed(5);
    expect(uniform([6]).dataSync()).toEqual(first);
  });

  it("normal draws have the right moments", () => {
    const values = randn([20000], { seed: 3, dtype: "float64" }).dataSync();
    let mean = 0;
    for (const value of values) mean += value / values.length;
    let variance = 0;
    for (const value of values) variance += (value - mean) ** 2 / values.length;
    // Standard errors: mean 1/√n ≈ 0.007, variance √(2/n) ≈ 0.01; bounds are 5 standard errors.
    expect(Math.abs(mean)).toBeLessThan(0.036);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it("gives identical tensors in a separate process", () => {
    const child = fileURLToPath(new URL("./__fixtures__/seeded-draws.ts", import.meta.url));
    const packageRoot = fileURLToPath(new URL("..", import.meta.url));
    const output = execFileSync(process.execPath, ["--import", "tsx", child], { cwd: packageRoot, encoding: "utf8" });
    expect(JSON.parse(output)).toEqual(seededDraws());
  });
});

describe("randnValues and uniformValues", () => {
  it("holds exactly what randn(shape, same options) holds, on the host", () => {
    const values = randnValues(12, { seed: 5, std: 0.02 });
    expect(values).toBeInstanceOf(Float32Array);
    expect(Array.from(values)).toEqual(Array.from(randn([3, 4], { seed: 5, std: 0.02 }).dataSync()));
    expect(() => randnValues(-1)).toThrow("[randnValues] size -1 must be a non-negative integer");
    const draws = uniformValues(5, { seed: 9, low: -1, high: 2, dtype: "float64" });
    expect(draws).toBeInstanceOf(Float64Array);
    expect(Array.from(draws)).toEqual(
      Array.from(uniform([5], { seed: 9, low: -1, high: 2, dtype: "float64" }).dataSync()),
    );
  });
});
