/**
 * Host side of the sub-fp32 weight kernels (gemv-quantized.ts): out [rows, n] = A [rows, k] · Wᵀ for a
 * weight W [n, k] stored as int8 + block scales or as bf16 in heap blocks. One row (a decode step) runs the
 * GEMV kernel, W's rows split over the threads; more rows (a prefill) widen W to a float32 [n, k] scratch
 * panel with the dequantize kernel (rows split over the threads) and run the float32 GEMM on it with W
 * read transposed in place. Every output is bit-identical to the float32 matmul of A and the dequantized W,
 * except int8 with one row, which by default runs the integer GEMV on int16 activations (about twice as fast;
 * error bound at `quantizeActivations`; `setIntegerInt8Gemv(false)` restores the bit-identical kernel). Not here: quantizing (the front end's `quantizeWeight`), the job dispatch (`matmul.ts`).
 */
import {
  bf16RowBytes,
  INT8_BLOCK,
  int8RowBytes,
  JOB_DEQUANTIZE_BF16,
  JOB_DEQUANTIZE_INT8,
  JOB_GEMV_BF16,
  JOB_GEMV_INT8,
  JOB_GEMV_INT8_DOT,
  QUANTIZED_FIELD,
} from "./gemv-quantized.js";
import { getHeap, type HeapBlock } from "./heap.js";
import { matmul, runMatmulJobs } from "./matmul.js";

export type QuantizedFormat = "int8" | "bf16";

/** A weight W [n, k] in the kernels' storage (see gemv-quantized.ts), in heap blocks. */
export interface HeapQuantizedWeight {
  readonly format: QuantizedFormat;
  readonly n: number;
  readonly k: number;
  /** The packed rows (int8 values or bf16 bits), from byte 0 of the block. */
  readonly data: HeapBlock;
  /** int8: [n, ⌈k/32⌉] float32 scales; bf16: null. */
  readonly scales: HeapBlock | null;
}

/**
 * Multiply-adds (n·k) from which a GEMV wakes the workers. The widening makes these GEMVs about twice the
 * arithmetic of a float32 one per weight at a quarter (int8) or half (bf16) of the memory traffic, so they
 * stop being memory-bound earlier than float32's (whose threshold is 2^21).
 */
const GEMV_PARALLEL_THRESHOLD = 1 << 19;
/** Weight rows per GEMV task (a multiple of 4, so tasks start on 16-byte output boundaries). */
const GEMV_ROWS_PER_TASK = 64;

let integerGemv = true;

/**
 * Chooses the int8 GEMV (one row): true (default) the integer kernel on int16 activations (faster, within the
 * bound of `quantizeActivations`), false the float32 widening kernel (bit-identical to the float32 matmul of
 * the dequantized weight). For tests and measurements.
 */
export function setIntegerInt8Gemv(enabled: boolean): void {
  integerGemv = enabled;
}

export function quantizedRowBytes(format: QuantizedFormat, k: number): number {
  return format === "int8" ? int8RowBytes(k) : bf16RowBytes(k);
}

/** Bytes the packed rows of W [n, k] take. */
export function quantizedDataBytes(format: QuantizedFormat, n: number, k: number): number {
  return n * quantizedRowBytes(format, k);
}

/** Float32 scales of W [n, k] (int8 only). */
export function quantizedScaleCount(format: QuantizedFormat, n: number, k: number): number {
  return format === "int8" ? n * Math.ceil(k / INT8_BLOCK) : 0;
}

function checkWeight(weight: HeapQuantizedWeight): void {
  const { format, n, k } = weight;
  if (weight.data.length * 4 < quantizedDataBytes(format, n, k)) {
    throw new Error(
      `[matmulQuantized] the ${format} weight [${n}, ${k}] needs ${quantizedDataBytes(format, n, k)} bytes of rows; its block holds ${weight.data.length * 4}`,
    );
  }
  const scales = quantizedScaleCount(format, n, k);
  if (scales > 0 && (weight.scales === null || weight.scales.length < scales)) {
    throw new Error(`[matmulQuantized] the int8 weight [${n}, ${k}] needs ${scales} scales`);
  }
}

function splitRows(n: number, tasks: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  const units = Math.ceil(n / 4);
  for (let task = 0; task < tasks; task++) {
    const start = Math.min(n, Math.floor((units * task) / tasks) * 4);
    const end = Math.min(n, Math.floor((units * (task + 1)) / tasks) * 4);
    if (end > start) ranges.push([start, end]);
  }
  return ranges;
}

/** Largest int16 activation value. */
const INT16_LIMIT = 32767;
let activationScratch: HeapBlock | null = null;
let activationViews: { buffer: ArrayBufferLike; int16: Int16Array; float32: Float32Array } | null = null;

/**
 * The activations a [k] (from element `aOffset` of `a`) as int16 per block of 32 with one float32 scale each,
 * d = max|a_block| / 32767 and â = round(a / d), for the integer int8 GEMV: |a − â·d| ≤ d/2 (plus 2^-20 of
 * it for the float rounding of 1/d), i.e. 1/65534 of the block's largest |a| — about 1/258 of the int8 weight
 * step, so the result differs from the float32 matmul of the dequantized weight by at most
 * Σ_p |w_p|·d_block(p)/2 plus float32 rounding of the per-block sums. A non-finite block gets a NaN scale, so
 * the outputs it touches are NaN, as in float32. Returns the int16 values' and scales' byte addresses.
 */
export function quantizeActivations(a: HeapBlock, aOffset: number, k: number): { values: number; scales: number } {
  const blocks = Math.ceil(k / INT8_BLOCK);
  const elements = blocks * (INT8_BLOCK / 2 + 1); // int16 values in float32 units, then the scales
  const heap = getHeap();
  if (activationScratch === null || activationScratch.length < elements) {
    if (activationScratch !== null) heap.free(activationScratch);
    activationScratch = heap.alloc(elements);
  }
  const scratch = activationScratch;
  const buffer = heap.memory.buffer;
  // Views over the whole heap, made again only when the memory grows (a view over shared memory costs more to
  // create than quantizing a 512-wide row: this runs once per int8 decode projection).
  if (activationViews === null || activationViews.buffer !== buffer) {
    activationViews = { buffer, int16: new Int16Array(buffer), float32: new Float32Array(buffer) };
  }
  const { int16, float32 } = activationViews;
  const valuesAt = scratch.ptr >> 1;
  const scalesAt = (scratch.ptr + blocks * INT8_BLOCK * 2) >> 2;
  const source = a.f32();
  for (let block = 0; block < blocks; block++) {
    const start = block * INT8_BLOCK;
    const end = Math.min(k, start + INT8_BLOCK);
    const from = aOffset + start;
    const count = end - start;
    let largest = 0;
    let notANumber = false;
    for (let p = 0; p < count; p++) {
      const value = source[from + p] as number;
      const magnitude = value < 0 ? -value : value;
      if (magnitude > largest) largest = magnitude;
      else if (Number.isNaN(magnitude)) notANumber = true;
    }
    const target = valuesAt + start;
    if (notANumber || largest === Number.POSITIVE_INFINITY) {
      float32[scalesAt + block] = Number.NaN;
      int16.fill(0, target, target + INT8_BLOCK);
      continue;
    }
    const scale = Math.fround(largest / INT16_LIMIT);
    float32[scalesAt + block] = scale;
    const inverse = scale === 0 ? 0 : 1 / scale;
    for (let p = 0; p < count; p++) {
      const q = Math.round((source[from + p] as number) * inverse);
      int16[target + p] = Math.max(-INT16_LIMIT, Math.min(INT16_LIMIT, q));
    }
    if (count < INT8_BLOCK) int16.fill(0, target + count, target + INT8_BLOCK);
  }
  return { values: scratch.ptr, scales: scratch.ptr + blocks * INT8_BLOCK * 2 };
}

/** Runs one kernel kind over row ranges of W, `place(range)` giving the a / out addresses of a range. */
function runOverRows(
  kind: number,
  weight: HeapQuantizedWeight,
  ranges: ReadonlyArray<[number, number]>,
  threads: number,
  addresses: (start: number) => { a: number; out: number },
  activationScales = 0,
): void {
  const rowBytes = quantizedRowBytes(weight.format, weight.k);
  const scaleBytes = (quantizedScaleCount(weight.format, 1, weight.k) || 0) * 4;
  const scalesPointer = weight.scales?.ptr ?? 0;
  runMatmulJobs(ranges.length, threads, (words, base, index) => {
    const [start, end] = ranges[index] as [number, number];
    const { a, out } = addresses(start);
    words.fill(0, base, base + 16);
    words[base + QUANTIZED_FIELD.kind] = kind;
    words[base + QUANTIZED_FIELD.a] = a;
    words[base + QUANTIZED_FIELD.weights] = weight.data.ptr + start * rowBytes;
    words[base + QUANTIZED_FIELD.scales] = scalesPointer + start * scaleBytes;
    words[base + QUANTIZED_FIELD.out] = out;
    words[base + QUANTIZED_FIELD.n] = end - start;
    words[base + QUANTIZED_FIELD.k] = weight.k;
    words[base + QUANTIZED_FIELD.activationScales] = activationScales;
  });
}

/** Widens W to float32 into `out` ([n, k] row-major from element `outOffset`). */
export function dequantizeHeap(weight: HeapQuantizedWeight, out: HeapBlock, outOffset: number, threads: number): void {
  checkWeight(weight);
  const { n, k } = weight;
  if (out.length < outOffset + n * k) throw new Error(`[dequantize] the output holds fewer than ${n * k} elements`);
  const kind = weight.format === "int8" ? JOB_DEQUANTIZE_INT8 : JOB_DEQUANTIZE_BF16;
  const parts = threads > 1 && n * k >= GEMV_PARALLEL_THRESHOLD ? 2 * threads : 1;
  runOverRows(kind, weight, splitRows(n, parts), parts > 1 ? threads : 1, (start) => ({
    a: 0,
    out: out.ptr + (outOffset + start * k) * 4,
  }));
}

/**
 * out[outOffset …] = A · Wᵀ: A [rows, k] row-major from element `aOffset` of `a`, out [rows, n]. `threads` is
 * the most threads to use (the matmul thread setting caps it).
 */
export function matmulQuantizedHeap(
  a: HeapBlock,
  aOffset: number,
  rows: number,
  weight: HeapQuantizedWeight,
  out: HeapBlock,
  outOffset: number,
  threads: number,
): void {
  checkWeight(weight);
  const { n, k } = weight;
  if (rows === 0 || n === 0) return;
  if (a.length < aOffset + rows * k) throw new Error(`[matmulQuantized] A holds fewer than ${rows}×${k} elements`);
  if (out.length < outOffset + rows * n)
    throw new Error(`[matmulQuantized] the output holds fewer than ${rows}×${n} elements`);
  if (k === 0) {
    out.f32().fill(0, outOffset, outOffset + rows * n);
    return;
  }
  if (rows === 1) {
    const parallel = threads > 1 && n * k >= GEMV_PARALLEL_THRESHOLD;
    const tasks = parallel ? Math.max(1, Math.min(4 * threads, Math.floor(n / GEMV_ROWS_PER_TASK))) : 1;
    const ranges = splitRows(n, tasks);
    const outAddress = (start: number) => out.ptr + (outOffset + start) * 4;
    if (weight.format === "int8" && integerGemv) {
      const activations = quantizeActivations(a, aOffset, k);
      runOverRows(
        JOB_GEMV_INT8_DOT,
        weight,
        ranges,
        parallel ? threads : 1,
        (start) => ({ a: activations.values, out: outAddress(start) }),
        activations.scales,
      );
      return;
    }
    const kind = weight.format === "int8" ? JOB_GEMV_INT8 : JOB_GEMV_BF16;
    runOverRows(kind, weight, ranges, parallel ? threads : 1, (start) => ({
      a: a.ptr + aOffset * 4,
      out: outAddress(start),
    }));
    return;
  }
  const heap = getHeap();
  const panel = heap.alloc(n * k);
  try {
    dequantizeHeap(weight, panel, 0, threads);
    matmul(a, aOffset, panel, 0, out, outOffset, {
      batch: 1,
      m: rows,
      n,
      k,
      transA: false,
      transB: true,
      aBatchStride: 0,
      bBatchStride: 0,
    });
  } finally {
    heap.free(panel);
  }
}
