import { describe, expect, it } from "vitest";
import { createHeap, getHeap, sizeClassBytes } from "./heap.js";

describe("wasm heap", () => {
  it("hands out 64-byte aligned, non-overlapping blocks", () => {
    const heap = createHeap(true);
    const blocks = [3, 100, 1, 4096, 17].map((length) => heap.alloc(length));
    for (const block of blocks) expect(block.ptr % 64).toBe(0);
    const ranges = blocks.map((block) => [block.ptr, block.ptr + block.length * 4]).sort((x, y) => x[0] - y[0]);
    for (let index = 1; index < ranges.length; index++)
      expect(ranges[index][0]).toBeGreaterThanOrEqual(ranges[index - 1][1]);
    blocks[1].f32()[99] = 1.5;
    blocks[1].i32()[0] = 7;
    expect(blocks[1].f32()[99]).toBe(1.5);
    expect(new Int32Array(heap.memory.buffer, blocks[1].ptr, 1)[0]).toBe(7);
  });

  it("reuses a freed block of the same size class instead of allocating", () => {
    const heap = createHeap(true);
    const first = heap.alloc(1000);
    const pointer = first.ptr;
    heap.free(first);
    expect(heap.stats()).toEqual({ bytesInUse: 0, bytesPooled: 4096, blocksInUse: 0 });
    const second = heap.alloc(1010); // same size class (4096 bytes)
    expect(second.ptr).toBe(pointer);
    expect(heap.stats()).toEqual({ bytesInUse: 4096, bytesPooled: 0, blocksInUse: 1 });
  });

  it("zeroes reused memory in allocZeroed", () => {
    const heap = createHeap(true);
    const dirty = heap.alloc(50);
    dirty.f32().fill(3);
    heap.free(dirty);
    const clean = heap.allocZeroed(50);
    expect(clean.ptr).toBe(dirty.ptr);
    expect([...clean.f32()]).toEqual(new Array(50).fill(0));
  });

  it.each([true, false])("grows the memory and keeps earlier blocks' contents (shared: %s)", (shared) => {
    const heap = createHeap(shared);
    const early = heap.alloc(4);
    early.f32().set([1, 2, 3, 4]);
    const before = heap.memory.buffer.byteLength;
    const big = heap.alloc(8 * 2 ** 20); // 32 MiB, more than the initial 16 MiB
    expect(heap.memory.buffer.byteLength).toBeGreaterThan(before);
    big.f32()[big.length - 1] = 9;
    expect([...early.f32()]).toEqual([1, 2, 3, 4]);
    expect(big.f32()[big.length - 1]).toBe(9);
    expect(heap.shared).toBe(shared);
  });

  it("rejects double frees, use after free and bad lengths with a message naming the block", () => {
    const heap = createHeap(true);
    const block = heap.alloc(8);
    heap.free(block);
    expect(() => heap.free(block)).toThrow(/already freed/);
    expect(() => block.f32()).toThrow(/freed block/);
    expect(() => heap.alloc(-1)).toThrow(/non-negative integer/);
    expect(() => heap.alloc(1.5)).toThrow(/non-negative integer/);
  });

  it("rounds sizes to classes that waste under a quarter of the block", () => {
    expect(sizeClassBytes(1)).toBe(64);
    expect(sizeClassBytes(64)).toBe(64);
    expect(sizeClassBytes(65)).toBe(128); // classes stay 64-byte aligned
    expect(sizeClassBytes(4096)).toBe(4096);
    expect(sizeClassBytes(4097)).toBe(5120);
    for (const bytes of [100, 1000, 12345, 999999, 3 * 2 ** 20 + 1]) {
      const size = sizeClassBytes(bytes);
      expect(size).toBeGreaterThanOrEqual(bytes);
      expect(size).toBeLessThan(bytes * 1.25 + 64);
      expect(size % 16).toBe(0);
    }
  });

  it("is one process-wide heap, shared where SharedArrayBuffer exists", () => {
    expect(getHeap()).toBe(getHeap());
    expect(getHeap().shared).toBe(typeof SharedArrayBuffer !== "undefined");
  });
});
