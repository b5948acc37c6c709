/**
 * Seeded pseudo-random Float32Arrays for tests (mulberry32), so failures reproduce. Test support only.
 */
export function randomArray(length: number, seed: number, spread = 1): Float32Array {
  let state = seed >>> 0;
  const array = new Float32Array(length);
  for (let index = 0; index < length; index++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const uniform = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    array[index] = (uniform * 2 - 1) * spread;
  }
  return array;
}

/** max |actual − expected| / (1 + |expected|) over all elements. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let worst = 0;
  for (let index = 0; index < actual.length; index++) {
    const a = actual[index] as number;
    const e = expected[index] as number;
    const error = Math.abs(a - e) / (1 + Math.abs(e));
    if (!(error <= worst)) worst = Number.isNaN(error) ? Number.POSITIVE_INFINITY : error;
  }
  return worst;
}
