/**
 * Seeded randomness for data order and augmentations: splitmix32 hashing of (seed, stream, counter) into
 * uniforms, and a seeded Fisher–Yates permutation. Every draw is a pure function of its inputs, so a data
 * position (epoch, batch) fully determines what comes next and a resumed run replays it exactly; there is no
 * hidden generator state to save. Not here: tensor randomness (dropout draws from @minimind/tensor's own
 * generator, reseeded per optimizer step by the trainer).
 */

/** One round of splitmix32's finaliser: a well-mixed 32-bit unsigned integer from any 32-bit input. */
export function mix32(value: number): number {
  let z = (value + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A generator of uniforms in [0, 1) keyed by integers: the same keys always give the same stream. */
export function seededUniform(...keys: readonly number[]): () => number {
  let state = 0x243f6a88;
  for (const key of keys) {
    if (!Number.isInteger(key)) throw new Error(`[random] key ${key} must be an integer`);
    state = mix32((state ^ (key >>> 0)) >>> 0);
    state = mix32((state + Math.floor(key / 2 ** 32)) >>> 0);
  }
  return () => {
    state = mix32(state);
    return (state >>> 8) / 16777216;
  };
}

/** A permutation of 0 … length−1, Fisher–Yates driven by `seededUniform(seed, epoch)`. */
export function seededPermutation(length: number, seed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(length);
  for (let index = 0; index < length; index++) order[index] = index;
  const uniform = seededUniform(seed, epoch, 0x5eed);
  for (let index = length - 1; index > 0; index--) {
    const other = Math.floor(uniform() * (index + 1));
    const held = order[index] as number;
    order[index] = order[other] as number;
    order[other] = held;
  }
  return order;
}
