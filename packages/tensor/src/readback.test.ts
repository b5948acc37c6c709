/**
 * Upload (`tensor(typedArray)`) and readback (`dataSync()`, `data()`) on the CPU backend copy bit for bit:
 * NaN payloads (quiet and signalling, either sign), -0, infinities and subnormals come back as they went
 * in, for whole buffers, for contiguous views at odd element offsets (copied straight out of the heap) and
 * for strided views (copied by the copy kernel first); results are copies, never views of the shared heap.
 * Speed is the bench's business (`pnpm bench memory`, `pnpm bench matmul`), not this file's.
 */
import { describe, expect, it } from "vitest";
import { copyIntoArray, copyOfArray } from "./dtype.js";
import { tensor } from "./index.js";

/** float32 bit patterns that a value-converting copy could change. */
const FLOAT32_SPECIALS = [
  0x7fc00000, // the canonical quiet NaN
  0x7fc00001, // quiet NaN, payload 1
  0xffffffff, // negative quiet NaN, all payload bits
  0x7f800001, // signalling NaN, payload 1
  0xff800001, // negative signalling NaN
  0x7fbfffff, // signalling NaN, largest payload
  0x80000000, // -0
  0x00000000, // +0
  0x7f800000, // +Infinity
  0xff800000, // -Infinity
  0x00000001, // smallest subnormal
  0x807fffff, // largest negative subnormal
  0x7f7fffff, // largest finite
];

/** `length` float32 values whose bits cycle through the specials, then arbitrary patterns. */
function float32Bits(length: number, seed: number): Uint32Array {
  const bits = new Uint32Array(length);
  let state = seed >>> 0;
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bits[index] = index % 3 === 0 ? (FLOAT32_SPECIALS[(index / 3) % FLOAT32_SPECIALS.length] as number) : state;
  }
  return bits;
}

function bitsOf(array: Float32Array | Int32Array): Uint32Array {
  return new Uint32Array(array.buffer, array.byteOffset, array.length);
}

/** The first element whose bits differ, as text (or "same"): fast on a million elements, unlike toEqual. */
function firstDifference(actual: Uint32Array, expected: Uint32Array): string {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  for (let index = 0; index < actual.length; index++) {
    if (actual[index] !== expected[index]) {
      return `element ${index}: 0x${actual[index]?.toString(16)}, expected 0x${expected[index]?.toString(16)}`;
    }
  }
  return "same";
}

describe("float32 upload and readback are bit-exact", () => {
  for (const length of [1, 3, 13, 1024 * 1024 + 7]) {
    it(`${length} elements through tensor(), dataSync() and data()`, async () => {
      const bits = float32Bits(length, length);
      const x = tensor(new Float32Array(bits.buffer), { shape: [length] });
      const read = x.dataSync() as Float32Array;
      expect(read).toBeInstanceOf(Float32Array);
      expect(read.length).toBe(length);
      expect(firstDifference(bitsOf(read), bits)).toBe("same");
      expect(firstDifference(bitsOf((await x.data()) as Float32Array), bits)).toBe("same");
      x.dispose();
    });
  }

  it("reads back a copy: a plain ArrayBuffer that later writes to it do not reach the tensor", () => {
    const x = tensor(new Float32Array([1, 2, 3]));
    const first = x.dataSync() as Float32Array;
    expect(first.buffer).toBeInstanceOf(ArrayBuffer);
    expect(first.byteOffset).toBe(0);
    first[0] = 42;
    expect(Array.from(x.dataSync())).toEqual([1, 2, 3]);
    x.dispose();
  });

  it("uploads from a typed array that starts at an odd element offset of its buffer", () => {
    const bits = float32Bits(40, 7);
    const source = new Float32Array(bits.buffer, 3 * 4, 29);
    const x = tensor(source);
    expect(firstDifference(bitsOf(x.dataSync() as Float32Array), bits.subarray(3, 32))).toBe("same");
    x.dispose();
  });

  it("reads contiguous views at odd element offsets (row slices, 1-d ranges) bit for bit", async () => {
    const rows = 7;
    const columns = 9;
    const bits = float32Bits(rows * columns, 11);
    const x = tensor(new Float32Array(bits.buffer), { shape: [rows, columns] });
    const middleRows = x.slice([3, 0], [6, columns]);
    expect(middleRows.isContiguous).toBe(true);
    expect(
      firstDifference(bitsOf(middleRows.dataSync() as Float32Array), bits.subarray(3 * columns, 6 * columns)),
    ).toBe("same");
    expect(
      firstDifference(bitsOf((await middleRows.data()) as Float32Array), bits.subarray(3 * columns, 6 * columns)),
    ).toBe("same");
    const flat = x.reshape([rows * columns]).slice([5], [rows * columns - 2]);
    expect(firstDifference(bitsOf(flat.dataSync() as Float32Array), bits.subarray(5, rows * columns - 2))).toBe("same");
    x.dispose();
  });

  it("reads strided views (a transpose, a column range) bit for bit", () => {
    const rows = 5;
    const columns = 6;
    const bits = float32Bits(rows * columns, 5);
    const x = tensor(new Float32Array(bits.buffer), { shape: [rows, columns] });
    const expectedTranspose = new Uint32Array(rows * columns);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < columns; j++) expectedTranspose[j * rows + i] = bits[i * columns + j] as number;
    }
    expect(firstDifference(bitsOf(x.transpose().dataSync() as Float32Array), expectedTranspose)).toBe("same");
    const columnRange = x.slice([0, 1], [rows, 4]);
    const expectedRange = new Uint32Array(rows * 3);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < 3; j++) expectedRange[i * 3 + j] = bits[i * columns + 1 + j] as number;
    }
    expect(firstDifference(bitsOf(columnRange.dataSync() as Float32Array), expectedRange)).toBe("same");
    x.dispose();
  });
});

describe("other dtypes", () => {
  it("int32 extremes and a converting upload (int32 values into a float32 tensor)", () => {
    const values = new Int32Array([-2147483648, 2147483647, -1, 0, 1, 123456789]);
    const x = tensor(values);
    expect(x.dtype).toBe("int32");
    expect(Array.from(x.dataSync())).toEqual(Array.from(values));
    const converted = tensor(values, { dtype: "float32" });
    expect(Array.from(converted.dataSync())).toEqual(Array.from(values, (value) => Math.fround(value)));
    x.dispose();
    converted.dispose();
  });

  it("float64 NaN payloads and -0 (plain host arrays)", () => {
    const source = new Float64Array(4);
    const words = new Uint32Array(source.buffer);
    words.set([0x00000001, 0x7ff80000, 0xffffffff, 0xfff7ffff, 0, 0x80000000, 1, 0]);
    const x = tensor(source);
    const read = x.dataSync() as Float64Array;
    expect(new Uint32Array(read.buffer, read.byteOffset, 8)).toEqual(words);
    x.dispose();
  });

  it("bool from a Uint8Array at an odd byte offset", () => {
    const bytes = new Uint8Array([9, 1, 0, 1, 1, 0, 9]);
    const x = tensor(bytes.subarray(1, 6));
    expect(x.dtype).toBe("bool");
    expect(Array.from(x.dataSync())).toEqual([1, 0, 1, 1, 0]);
    x.dispose();
  });
});

describe("copy helpers over a shared wasm memory", () => {
  it("copyOfArray and copyIntoArray keep every bit and refuse a source longer than the target", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const heap = new Float32Array(memory.buffer, 4 * 5, 101);
    const bits = float32Bits(101, 3);
    copyIntoArray(heap, new Float32Array(bits.buffer));
    expect(firstDifference(bitsOf(heap), bits)).toBe("same");
    const copy = copyOfArray(heap) as Float32Array;
    expect(copy.buffer).toBeInstanceOf(ArrayBuffer);
    expect(firstDifference(bitsOf(copy), bits)).toBe("same");
    const shorter = new Int32Array([7, -7]);
    const target = new Int32Array(memory.buffer, 4 * 3, 4);
    copyIntoArray(target, shorter);
    expect(Array.from(target.subarray(0, 2))).toEqual([7, -7]);
    expect(() => copyIntoArray(new Int32Array(1), shorter)).toThrow("[tensor] cannot copy 2 elements into 1");
  });
});
