/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna, 2018) with its 128-bit state filled by
 * splitmix32 from a 32-bit seed. All arithmetic is 32-bit integer (Math.imul, >>>), so a seed produces the
 * same stream in every JavaScript engine and process. Floats in [0, 1) take the top 24 bits (exact in
 * float32); normals use Box–Muller on two such draws (in float64, then rounded to the tensor's dtype).
 *
 * Every random op takes an optional `seed`: with it, the op uses a fresh generator seeded with that value
 * (fully reproducible regardless of call order); without it, it draws from the global generator, which
 * `manualSeed(seed)` resets (reproducible given the same sequence of calls). Default global seed: 0.
 * Not here: counter-based parallel streams (kernels here run on one thread at a time).
 */

function splitmix32(state: number): () => number {
  let value = state >>> 0;
  return () => {
    value = (value + 0x9e3779b9) >>> 0;
    let z = value;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class RandomGenerator {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`[random] seed ${seed} must be an integer`);
    const next = splitmix32(seed);
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotateLeft(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotateLeft(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1), 24-bit resolution. */
  nextFloat(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** Fill with uniforms in [low, high). */
  fillUniform(target: { [index: number]: number; length: number }, low: number, high: number): void {
    const span = high - low;
    for (let index = 0; index < target.length; index++) target[index] = low + span * this.nextFloat();
  }

  /** Fill with normals N(mean, std²) by Box–Muller (pairs of draws; u1 kept away from 0). */
  fillNormal(target: { [index: number]: number; length: number }, mean: number, std: number): void {
    for (let index = 0; index < target.length; index += 2) {
      const u1 = (this.nextFloat() * 16777215 + 1) / 16777216;
      const u2 = this.nextFloat();
      const radius = Math.sqrt(-2 * Math.log(u1));
      target[index] = mean + std * radius * Math.cos(2 * Math.PI * u2);
      if (index + 1 < target.length) target[index + 1] = mean + std * radius * Math.sin(2 * Math.PI * u2);
    }
  }
}

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

let globalGenerator = new RandomGenerator(0);

/** Reset the global generator. */
export function manualSeed(seed: number): void {
  globalGenerator = new RandomGenerator(seed);
}

/** A fresh generator for an explicit seed, else the global one. */
export function generatorFor(seed: number | undefined): RandomGenerator {
  return seed === undefined ? globalGenerator : new RandomGenerator(seed);
}
