/**
 * The CPU backend's heap: one `WebAssembly.Memory` that every wasm kernel (and every worker thread) reads
 * and writes in place, with a pooled allocator — blocks are rounded up to a size class and freed blocks go
 * to a free list per class, so steady-state training allocates no new memory. The memory is shared (and
 * usable by worker threads) when `SharedArrayBuffer` is available, else a plain growable memory used by the
 * main thread only. Not here: reference counting or lifetimes (the tensor layer owns those), and returning
 * memory to the system (a wasm memory cannot shrink).
 */

export interface HeapBlock {
  /** Byte offset of the block in the heap memory (64-byte aligned). */
  readonly ptr: number;
  /** Length in 4-byte elements. */
  readonly length: number;
  /** Float32 view of the block; re-derived if the memory grew (unshared case). */
  f32(): Float32Array;
  /** Int32 view of the block; re-derived if the memory grew (unshared case). */
  i32(): Int32Array;
}

export interface WasmHeap {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  /** A block of `length` 4-byte elements; contents unspecified. */
  alloc(length: number): HeapBlock;
  /** A block of `length` 4-byte elements, all zero. */
  allocZeroed(length: number): HeapBlock;
  /** Returns the block to its size class's free list; using it afterwards is an error. */
  free(block: HeapBlock): void;
  stats(): { bytesInUse: number; bytesPooled: number; blocksInUse: number };
}

const PAGE_BYTES = 65536;
const ALIGNMENT_BYTES = 64;
/** The first bytes of the heap are reserved for the thread pool's control words (see `threads.ts`). */
export const RESERVED_BYTES = 4096;
const INITIAL_PAGES = 256; // 16 MiB
const MAXIMUM_PAGES = 65536; // 4 GiB, the wasm32 limit

/**
 * Size classes: every power of two from 64 bytes and the 1.25×, 1.5× and 1.75× steps between them, so a
 * block wastes under 25% of its size (blocks under 256 bytes: 64-byte steps, keeping the alignment).
 */
export function sizeClassBytes(bytes: number): number {
  const rounded = Math.max(ALIGNMENT_BYTES, bytes);
  const power = 2 ** Math.floor(Math.log2(rounded));
  if (power === rounded) return power;
  const quarter = Math.max(ALIGNMENT_BYTES, power / 4);
  return Math.ceil(rounded / quarter) * quarter;
}

/** Whether a shared memory (and so worker threads) can be used here. */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer === "undefined") return false;
  // Browsers expose SharedArrayBuffer only to cross-origin-isolated pages.
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  return isolated !== false;
}

/**
 * A shared memory reserves its maximum size up front, which can fail where address space is tight (32-bit
 * or mobile browsers): fall back to smaller maximums before giving up.
 */
function createMemory(shared: boolean): WebAssembly.Memory {
  let maximum = MAXIMUM_PAGES;
  for (;;) {
    try {
      return new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum, shared });
    } catch (error) {
      if (maximum <= INITIAL_PAGES * 4) throw error;
      maximum /= 4;
    }
  }
}

class PooledBlock implements HeapBlock {
  freed = false;
  private float32: Float32Array | null = null;
  private int32: Int32Array | null = null;

  constructor(
    private readonly memory: WebAssembly.Memory,
    readonly ptr: number,
    readonly length: number,
    readonly capacityBytes: number,
  ) {}

  f32(): Float32Array {
    this.checkLive("f32");
    const buffer = this.memory.buffer;
    if (this.float32 === null || this.float32.buffer !== buffer) {
      this.float32 = new Float32Array(buffer, this.ptr, this.length);
    }
    return this.float32;
  }

  i32(): Int32Array {
    this.checkLive("i32");
    const buffer = this.memory.buffer;
    if (this.int32 === null || this.int32.buffer !== buffer) {
      this.int32 = new Int32Array(buffer, this.ptr, this.length);
    }
    return this.int32;
  }

  private checkLive(method: string): void {
    if (this.freed) {
      throw new Error(
        `[wasm heap] ${method}() called on a freed block at byte ${this.ptr}; keep a block until you are done with it`,
      );
    }
  }
}

class PooledHeap implements WasmHeap {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  private readonly freeLists = new Map<number, number[]>();
  private top = RESERVED_BYTES;
  private inUseBytes = 0;
  private pooledBytes = 0;
  private liveBlocks = 0;

  constructor(shared: boolean) {
    this.shared = shared;
    this.memory = createMemory(shared);
  }

  alloc(length: number): HeapBlock {
    if (!Number.isInteger(length) || length < 0) {
      throw new Error(`[wasm heap] alloc(${length}): length must be a non-negative integer count of 4-byte elements`);
    }
    const capacity = sizeClassBytes(length * 4);
    let ptr = this.freeLists.get(capacity)?.pop();
    if (ptr === undefined) {
      ptr = this.top;
      this.ensureBytes(ptr + capacity, length);
      this.top = ptr + capacity;
    } else {
      this.pooledBytes -= capacity;
    }
    this.inUseBytes += capacity;
    this.liveBlocks++;
    return new PooledBlock(this.memory, ptr, length, capacity);
  }

  allocZeroed(length: number): HeapBlock {
    const block = this.alloc(length);
    block.i32().fill(0);
    return block;
  }

  free(block: HeapBlock): void {
    if (!(block instanceof PooledBlock)) {
      throw new Error("[wasm heap] free(): the block was not allocated by this heap");
    }
    if (block.freed) {
      throw new Error(
        `[wasm heap] free(): the block at byte ${block.ptr} (${block.length} elements) was already freed`,
      );
    }
    block.freed = true;
    let list = this.freeLists.get(block.capacityBytes);
    if (list === undefined) {
      list = [];
      this.freeLists.set(block.capacityBytes, list);
    }
    list.push(block.ptr);
    this.inUseBytes -= block.capacityBytes;
    this.pooledBytes += block.capacityBytes;
    this.liveBlocks--;
  }

  stats() {
    return { bytesInUse: this.inUseBytes, bytesPooled: this.pooledBytes, blocksInUse: this.liveBlocks };
  }

  private ensureBytes(end: number, length: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const currentPages = have / PAGE_BYTES;
    const neededPages = Math.ceil((end - have) / PAGE_BYTES);
    // Grow by at least half the current size, so growth happens O(log size) times.
    const pages = Math.min(Math.max(neededPages, Math.ceil(currentPages / 2)), MAXIMUM_PAGES - currentPages);
    const fail = () =>
      new Error(
        `[wasm heap] cannot allocate ${length} float32 elements: the heap holds ${have / 2 ** 20} MiB and cannot grow by ${(neededPages * PAGE_BYTES) / 2 ** 20} MiB more (wasm32 limit 4 GiB); free unused tensors or use smaller batches`,
      );
    if (pages < neededPages) throw fail();
    try {
      this.memory.grow(pages);
    } catch {
      // Past a smaller maximum (see createMemory) or out of memory: try the bare minimum once.
      try {
        this.memory.grow(neededPages);
      } catch {
        throw fail();
      }
    }
  }
}

let heap: PooledHeap | null = null;

/** The process-wide heap, created on first use. */
export function getHeap(): WasmHeap {
  heap ??= new PooledHeap(sharedMemoryAvailable());
  return heap;
}

/** A separate heap of the given kind, for tests (e.g. of the unshared fallback). Kernels use `getHeap()`. */
export function createHeap(shared: boolean): WasmHeap {
  return new PooledHeap(shared);
}
