/**
 * The block-sparse flash-style attention (the maths of `kernel.ts`) with its inner loops in WebAssembly SIMD
 * (`wasm-kernels.ts`), in FlashAttention-2's loop order: per query block, the kv blocks the BlockMask lists
 * (full blocks unmasked, partial blocks through an int32 mask tile built once per call from the mask mod and
 * shared by the heads of a head group), a score tile, the online-softmax step and the P·V accumulation, all in
 * float32 on the CPU backend's wasm heap; the backward recomputes P from the saved log-sum-exp. Operands
 * are byte addresses in the heap (tensors are read and written in place); `forwardArrays`/`backwardArrays`
 * copy plain Float32Arrays in and out for callers that hold arrays. No score mods (the JavaScript kernel runs
 * those) and headDim must be a multiple of 4.
 */
import { getHeap, type HeapBlock, type WasmHeap } from "@minimind/tensor/internals";
import type { BlockMask } from "./block-mask.js";
import { type AttentionSimdExports, attentionSimdKernels } from "./wasm-kernels.js";

export interface SimdShape {
  batch: number;
  queryHeads: number;
  keyValueHeads: number;
  queryLength: number;
  keyLength: number;
  headDim: number;
}

export interface SimdSettings {
  shape: SimdShape;
  blockMask: BlockMask;
  scale: number;
  /** Rows per (batch, kv head) in key/value (and their gradients), ≥ keyLength. */
  capacity: number;
}

/** Byte addresses in the heap: inputs [B, Hq, Tq, D] / [B, Hkv, C, D], logSumExp [B, Hq, Tq]. */
export interface ForwardAddresses {
  query: number;
  key: number;
  value: number;
  output: number;
  logSumExp: number;
}

export interface BackwardAddresses extends ForwardAddresses {
  gradOutput: number;
  gradQuery: number;
  gradKey: number;
  gradValue: number;
}

/** Whether the SIMD kernel can run these settings (a build is active, no score mod, headDim % 4 = 0). */
export function simdApplicable(shape: SimdShape, scoreMod: unknown): AttentionSimdExports | undefined {
  if (scoreMod !== undefined || shape.headDim % 4 !== 0) return undefined;
  return attentionSimdKernels();
}

/** Cap on the bytes of cached partial-block mask tiles per call; beyond it tiles are rebuilt when needed. */
const MASK_CACHE_BYTES = 16 << 20;

/**
 * Heap scratch of one call (freed by `release`) and the int32 mask tiles of partial blocks, built lazily from
 * the mask mod and kept per (batch, head group, query block, key block).
 */
class Scratch {
  readonly blocks: HeapBlock[] = [];
  readonly stride: number;
  readonly tileElements: number;
  private readonly maskBlock: HeapBlock;
  private readonly cached = new Map<number, number>();
  private readonly slots: number;
  /** Byte address of an all-visible tile (full blocks). */
  readonly visible: number;

  constructor(
    private readonly heap: WasmHeap,
    private readonly settings: SimdSettings,
  ) {
    const { shape, blockMask } = settings;
    const rows = Math.min(blockMask.blockSize, shape.queryLength);
    this.stride = Math.min(blockMask.blockSize, shape.keyLength);
    this.tileElements = Math.max(1, rows * this.stride);
    const tileBytes = this.tileElements * 4;
    this.slots = Math.min(blockMask.counts().partial, Math.floor(MASK_CACHE_BYTES / tileBytes)) + 1;
    this.maskBlock = this.alloc(this.tileElements * (this.slots + 1));
    this.visible = this.maskBlock.ptr;
  }

  alloc(elements: number): HeapBlock {
    const block = this.heap.alloc(Math.max(1, elements));
    this.blocks.push(block);
    return block;
  }

  /** Fills the all-visible tile; call after every allocation (views are taken fresh). */
  fillVisible(): void {
    new Int32Array(this.heap.memory.buffer, this.visible, this.tileElements).fill(-1);
  }

  /** Byte address of the mask tile of a partial block (−1 = attend, 0 = masked). */
  partialTile(
    batch: number,
    head: number,
    queryBlock: number,
    keyBlock: number,
    count: number,
    columns: number,
  ): number {
    const { blockMask } = this.settings;
    const group = blockMask.headGroup(head);
    const key =
      ((batch * blockMask.headGroups + group) * blockMask.queryBlocks + queryBlock) * blockMask.keyBlocks + keyBlock;
    const hit = this.cached.get(key);
    if (hit !== undefined) return hit;
    const slot = Math.min(this.cached.size, this.slots - 1); // the last slot is rebuilt on every miss once full
    const address = this.maskBlock.ptr + (slot + 1) * this.tileElements * 4;
    if (slot < this.slots - 1) this.cached.set(key, address);
    const tile = new Int32Array(this.heap.memory.buffer, address, this.tileElements);
    const maskMod = blockMask.strategy.maskMod;
    const firstQuery = blockMask.queryOffset + queryBlock * blockMask.blockSize;
    const firstKey = keyBlock * blockMask.blockSize;
    for (let i = 0; i < count; i++) {
      const row = i * this.stride;
      for (let j = 0; j < columns; j++) tile[row + j] = maskMod(batch, group, firstQuery + i, firstKey + j) ? -1 : 0;
    }
    return address;
  }

  release(): void {
    for (const block of this.blocks) this.heap.free(block);
    this.blocks.length = 0;
  }
}

/** Forward: writes output and logSumExp. */
export function simdForward(kernels: AttentionSimdExports, settings: SimdSettings, at: ForwardAddresses): void {
  const heap = getHeap();
  const { shape, blockMask, scale, capacity } = settings;
  const { batch, queryHeads, keyValueHeads, queryLength, keyLength, headDim } = shape;
  const groupSize = queryHeads / keyValueHeads;
  const blockSize = blockMask.blockSize;
  const scratch = new Scratch(heap, settings);
  try {
    const rows = Math.min(blockSize, queryLength);
    const tile = scratch.alloc(scratch.tileElements).ptr;
    const accumulator = scratch.alloc(rows * headDim).ptr;
    const rowMax = scratch.alloc(rows).ptr;
    const rowSum = scratch.alloc(rows).ptr;
    scratch.fillVisible();
    const memory = new Float32Array(heap.memory.buffer);
    const stride = scratch.stride;
    const rowBytes = headDim * 4;
    for (let b = 0; b < batch; b++) {
      for (let head = 0; head < queryHeads; head++) {
        const kvRow = (b * keyValueHeads + Math.floor(head / groupSize)) * capacity;
        for (let queryBlock = 0; queryBlock < blockMask.queryBlocks; queryBlock++) {
          const full = blockMask.fullBlocks(b, head, queryBlock);
          const partial = blockMask.partialBlocks(b, head, queryBlock);
          const queryStart = queryBlock * blockSize;
          const count = Math.min(queryLength, queryStart + blockSize) - queryStart;
          const firstRow = (b * queryHeads + head) * queryLength + queryStart;
          const queryAddress = at.query + firstRow * rowBytes;
          memory.fill(Number.NEGATIVE_INFINITY, rowMax >> 2, (rowMax >> 2) + count);
          memory.fill(0, rowSum >> 2, (rowSum >> 2) + count);
          memory.fill(0, accumulator >> 2, (accumulator >> 2) + count * headDim);
          const blockCount = full.length + partial.length;
          for (let listed = 0; listed < blockCount; listed++) {
            const isFull = listed < full.length;
            const keyBlock = (isFull ? full[listed] : partial[listed - full.length]) as number;
            const keyStart = keyBlock * blockSize;
            const columns = Math.min(keyLength, keyStart + blockSize) - keyStart;
            const mask = isFull ? scratch.visible : scratch.partialTile(b, head, queryBlock, keyBlock, count, columns);
            const kvAddress = (kvRow + keyStart) * rowBytes;
            kernels.scores(queryAddress, count, at.key + kvAddress, columns, headDim, tile, stride);
            kernels.softmaxRows(tile, stride, count, columns, scale, mask, rowMax, rowSum, accumulator, headDim);
            kernels.accumulate(tile, stride, 1, count, columns, at.value + kvAddress, headDim, accumulator);
          }
          // normalize: output = accumulator / sum, lse = max + log(sum); a fully-masked row gives 0 and −∞
          const outputBase = (at.output >> 2) + firstRow * headDim;
          for (let i = 0; i < count; i++) {
            const sum = memory[(rowSum >> 2) + i] as number;
            const out = outputBase + i * headDim;
            if (sum === 0) {
              memory[(at.logSumExp >> 2) + firstRow + i] = Number.NEGATIVE_INFINITY;
              memory.fill(0, out, out + headDim);
              continue;
            }
            const inverse = 1 / sum;
            const from = (accumulator >> 2) + i * headDim;
            for (let d = 0; d < headDim; d++) memory[out + d] = (memory[from + d] as number) * inverse;
            memory[(at.logSumExp >> 2) + firstRow + i] = (memory[(rowMax >> 2) + i] as number) + Math.log(sum);
          }
        }
      }
    }
  } finally {
    scratch.release();
  }
}

/** Backward: writes gradQuery, gradKey and gradValue (gradKey/gradValue shaped like key/value, capacity rows). */
export function simdBackward(kernels: AttentionSimdExports, settings: SimdSettings, at: BackwardAddresses): void {
  const heap = getHeap();
  const { shape, blockMask, scale, capacity } = settings;
  const { batch, queryHeads, keyValueHeads, queryLength, keyLength, headDim } = shape;
  const groupSize = queryHeads / keyValueHeads;
  const blockSize = blockMask.blockSize;
  const scratch = new Scratch(heap, settings);
  try {
    const rows = Math.min(blockSize, queryLength);
    const tile = scratch.alloc(scratch.tileElements).ptr;
    const gradTile = scratch.alloc(scratch.tileElements).ptr;
    const deltas = scratch.alloc(rows).ptr;
    scratch.fillVisible();
    const memory = new Float32Array(heap.memory.buffer);
    const stride = scratch.stride;
    const rowBytes = headDim * 4;
    const querySize = batch * queryHeads * queryLength * headDim;
    const keySize = batch * keyValueHeads * capacity * headDim;
    memory.fill(0, at.gradQuery >> 2, (at.gradQuery >> 2) + querySize);
    memory.fill(0, at.gradKey >> 2, (at.gradKey >> 2) + keySize);
    memory.fill(0, at.gradValue >> 2, (at.gradValue >> 2) + keySize);
    for (let b = 0; b < batch; b++) {
      for (let head = 0; head < queryHeads; head++) {
        const kvRow = (b * keyValueHeads + Math.floor(head / groupSize)) * capacity;
        for (let queryBlock = 0; queryBlock < blockMask.queryBlocks; queryBlock++) {
          const full = blockMask.fullBlocks(b, head, queryBlock);
          const partial = blockMask.partialBlocks(b, head, queryBlock);
          const queryStart = queryBlock * blockSize;
          const count = Math.min(queryLength, queryStart + blockSize) - queryStart;
          const firstRow = (b * queryHeads + head) * queryLength + queryStart;
          const rowOffset = firstRow * rowBytes;
          // delta = dO · O per row (the softmax Jacobian's row term)
          const outputBase = (at.output + rowOffset) >> 2;
          const gradOutputBase = (at.gradOutput + rowOffset) >> 2;
          for (let i = 0; i < count; i++) {
            let delta = 0;
            const o = outputBase + i * headDim;
            const g = gradOutputBase + i * headDim;
            for (let d = 0; d < headDim; d++) delta += (memory[g + d] as number) * (memory[o + d] as number);
            memory[(deltas >> 2) + i] = delta;
          }
          const blockCount = full.length + partial.length;
          for (let listed = 0; listed < blockCount; listed++) {
            const isFull = listed < full.length;
            const keyBlock = (isFull ? full[listed] : partial[listed - full.length]) as number;
            const keyStart = keyBlock * blockSize;
            const columns = Math.min(keyLength, keyStart + blockSize) - keyStart;
            const mask = isFull ? scratch.visible : scratch.partialTile(b, head, queryBlock, keyBlock, count, columns);
            const kvOffset = (kvRow + keyStart) * rowBytes;
            kernels.scores(at.query + rowOffset, count, at.key + kvOffset, columns, headDim, tile, stride); // q · k
            kernels.scores(at.gradOutput + rowOffset, count, at.value + kvOffset, columns, headDim, gradTile, stride); // dO · v
            kernels.gradientRows(
              tile,
              gradTile,
              stride,
              count,
              columns,
              scale,
              at.logSumExp + firstRow * 4,
              deltas,
              mask,
            );
            kernels.accumulate(
              gradTile,
              stride,
              1,
              count,
              columns,
              at.key + kvOffset,
              headDim,
              at.gradQuery + rowOffset,
            ); // dS · K
            kernels.accumulate(
              gradTile,
              1,
              stride,
              columns,
              count,
              at.query + rowOffset,
              headDim,
              at.gradKey + kvOffset,
            ); // dSᵀ · Q
            kernels.accumulate(
              tile,
              1,
              stride,
              columns,
              count,
              at.gradOutput + rowOffset,
              headDim,
              at.gradValue + kvOffset,
            ); // Pᵀ · dO
          }
        }
      }
    }
  } finally {
    scratch.release();
  }
}

/**
 * Byte addresses for arrays: an array that is a view of the heap memory is used in place, any other is copied
 * into a heap block (`write` false: allocated only). Returns the addresses and a function copying the
 * written blocks back out and freeing them.
 */
function placeArrays(
  heap: WasmHeap,
  arrays: { array: Float32Array; write: boolean }[],
): { addresses: number[]; finish(): Float32Array[] } {
  const memoryBuffer = heap.memory.buffer;
  const inPlace = arrays.map(({ array }) => array.buffer === memoryBuffer);
  const addresses = arrays.map(({ array }, index) => (inPlace[index] ? array.byteOffset : -1));
  const blocks: (HeapBlock | undefined)[] = arrays.map(({ array }, index) => {
    if (inPlace[index]) return undefined;
    return heap.alloc(Math.max(1, array.length));
  });
  // every allocation is done: views taken from here on stay valid until the kernel returns
  arrays.forEach(({ array, write }, index) => {
    const block = blocks[index];
    if (block === undefined) return;
    addresses[index] = block.ptr;
    if (!write) block.f32().set(array);
  });
  return {
    addresses,
    finish: () =>
      arrays.map(({ array, write }, index) => {
        const block = blocks[index];
        if (block === undefined) return array;
        if (write) array.set(block.f32().subarray(0, array.length));
        heap.free(block);
        return array;
      }),
  };
}

/** `simdForward` over plain arrays (copied into the heap unless they already live there). */
export function forwardArrays(
  kernels: AttentionSimdExports,
  settings: SimdSettings,
  inputs: { query: Float32Array; key: Float32Array; value: Float32Array },
): { output: Float32Array; logSumExp: Float32Array } {
  const { batch, queryHeads, queryLength } = settings.shape;
  const output = new Float32Array(inputs.query.length);
  const logSumExp = new Float32Array(batch * queryHeads * queryLength);
  const placed = placeArrays(getHeap(), [
    { array: inputs.query, write: false },
    { array: inputs.key, write: false },
    { array: inputs.value, write: false },
    { array: output, write: true },
    { array: logSumExp, write: true },
  ]);
  const [query, key, value, outputAddress, logSumExpAddress] = placed.addresses as [
    number,
    number,
    number,
    number,
    number,
  ];
  try {
    simdForward(kernels, settings, { query, key, value, output: outputAddress, logSumExp: logSumExpAddress });
  } finally {
    placed.finish();
  }
  return { output, logSumExp };
}

/** `simdBackward` over plain arrays. */
export function backwardArrays(
  kernels: AttentionSimdExports,
  settings: SimdSettings,
  inputs: {
    query: Float32Array;
    key: Float32Array;
    value: Float32Array;
    output: Float32Array;
    logSumExp: Float32Array;
    gradOutput: Float32Array;
  },
): { gradQuery: Float32Array; gradKey: Float32Array; gradValue: Float32Array } {
  const gradQuery = new Float32Array(inputs.query.length);
  const gradKey = new Float32Array(inputs.key.length);
  const gradValue = new Float32Array(inputs.value.length);
  const placed = placeArrays(getHeap(), [
    ...[inputs.query, inputs.key, inputs.value, inputs.output, inputs.logSumExp, inputs.gradOutput].map((array) => ({
      array,
      write: false,
    })),
    ...[gradQuery, gradKey, gradValue].map((array) => ({ array, write: true })),
  ]);
  const [query, key, value, output, logSumExp, gradOutput, gq, gk, gv] = placed.addresses as number[] as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  try {
    simdBackward(kernels, settings, {
      query,
      key,
      value,
      output,
      logSumExp,
      gradOutput,
      gradQuery: gq,
      gradKey: gk,
      gradValue: gv,
    });
  } finally {
    placed.finish();
  }
  return { gradQuery, gradKey, gradValue };
}
