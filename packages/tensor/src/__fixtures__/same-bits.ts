/**
 * Bit-for-bit comparison of float32 results for the kernel tests: equal lengths, then every element with the
 * same bits — except that any NaN matches any NaN (JavaScript stores a canonical NaN, wasm keeps payloads). The
 * first differing element fails with its index and both values.
 */
import { expect } from "vitest";

export function expectSameBits(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const a = new Int32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Int32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let index = 0; index < a.length; index++) {
    if (a[index] !== b[index] && !(Number.isNaN(actual[index]) && Number.isNaN(expected[index]))) {
      expect([index, actual[index]]).toEqual([index, expected[index]]);
    }
  }
}
