import { describe, expect, it } from "vitest";
import { addInto, axpyInto, mulInto } from "./elementwise.js";
import { getHeap, type HeapBlock } from "./heap.js";

function block(values: ArrayLike<number>): HeapBlock {
  const result = getHeap().alloc(values.length);
  result.f32().set(values);
  return result;
}

/** Float32 values with a few specials, from a small LCG (independent of the code under test). */
function values(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0;
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[index] = (state / 2 ** 32 - 0.5) * 1000;
  }
  if (length > 3) out.set([Number.POSITIVE_INFINITY, -0, Number.NaN], 0);
  return out;
}

// Single float32 additions and multiplications are correctly rounded both in wasm and as Math.fround of
// the exact double result, so the references are exact.
const operations = [
  { name: "addInto", run: addInto, reference: (x: number, y: number) => Math.fround(x + y) },
  { name: "mulInto", run: mulInto, reference: (x: number, y: number) => Math.fround(x * y) },
] as const;

describe("wasm elementwise kernels", () => {
  describe.each(operations)("$name", ({ run, reference }) => {
    it.each([0, 1, 3, 4, 5, 1027])("matches float32 arithmetic for length %i, at offsets", (length) => {
      const a = values(length + 2, 1);
      const b = values(length + 1, 2);
      const aBlock = block(a);
      const bBlock = block(b);
      const out = getHeap().alloc(length + 3);
      run({ block: aBlock, offset: 2 }, { block: bBlock, offset: 1 }, { block: out, offset: 3 }, length);
      const expected = Array.from({ length }, (_, index) => reference(a[index + 2], b[index + 1]));
      expect([...out.f32().subarray(3)]).toEqual(expected);
      for (const used of [aBlock, bBlock, out]) getHeap().free(used);
    });
  });

  it("axpyInto computes a + alpha·b with alpha rounded to float32, in place", () => {
    const a = values(37, 3);
    const b = values(37, 4);
    const alpha = 0.1;
    const inPlace = block(a);
    const bBlock = block(b);
    axpyInto({ block: inPlace, offset: 0 }, alpha, { block: bBlock, offset: 0 }, { block: inPlace, offset: 0 }, 37);
    const expected = Array.from({ length: 37 }, (_, index) =>
      Math.fround(a[index] + Math.fround(Math.fround(alpha) * b[index])),
    );
    expect([...inPlace.f32()]).toEqual(expected);
  });

  it("rejects operands shorter than the length, naming the operand", () => {
    const short = getHeap().alloc(3);
    const long = getHeap().alloc(8);
    expect(() =>
      addInto({ block: long, offset: 0 }, { block: short, offset: 0 }, { block: long, offset: 0 }, 4),
    ).toThrow(/operand b has 3 elements; cannot use 4 from offset 0/);
    expect(() =>
      mulInto({ block: long, offset: 6 }, { block: long, offset: 0 }, { block: long, offset: 0 }, 4),
    ).toThrow(/operand a has 8 elements; cannot use 4 from offset 6/);
    expect(() =>
      mulInto({ block: long, offset: 0 }, { block: long, offset: 0 }, { block: long, offset: 0 }, -1),
    ).toThrow(/length -1/);
  });
});
