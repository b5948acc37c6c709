/**
 * Batched matmul for the CPU backend: works out from the operands' strides whether each matrix can be read
 * in place (plain or transposed) and whether the batch dims collapse to one stride (broadcast = 0), then
 * calls the float32 kernel on heap blocks (zero-copy) or the JavaScript kernel for float64. Operands that
 * are neither plain nor transposed are copied once to contiguous scratch.
 * Not here: the micro-kernels themselves (see `wasm/`).
 */
import type { BufferView } from "../../backend.js";
import { createTypedArray, type DType, type FloatArray, type TypedArray } from "../../dtype.js";
import { contiguousStrides } from "../../shape.js";
import { copyKernel, denseView } from "./elementwise.js";
import { type JsMatmulSpec, matmulJs } from "./matmul-js.js";
import { getHeap, type HeapBlock } from "./wasm/heap.js";
import { matmul as wasmMatmul } from "./wasm/matmul.js";

/** What matmul needs of a CPU buffer (kept structural so this file does not import the backend). */
export interface MatmulBuffer {
  readonly dtype: DType;
  readonly length: number;
  readonly block: HeapBlock | null;
  view(): TypedArray;
}

/** The float32 kernel's contract (the wasm micro-kernel's signature). */
type Float32Matmul = (
  a: HeapBlock | Float32Array,
  aOffset: number,
  b: HeapBlock | Float32Array,
  bOffset: number,
  out: HeapBlock | Float32Array,
  outOffset: number,
  spec: JsMatmulSpec,
) => void;

/** The float32 kernel: the wasm SIMD micro-kernels, zero-copy on heap blocks. */
const float32Matmul: Float32Matmul = wasmMatmul;

interface MatrixOperand {
  /** The heap block holding the operand (float32), else its array. */
  source: HeapBlock | FloatArray;
  offset: number;
  transposed: boolean;
  /** Strides of the batch dims broadcast to the output batch shape. */
  batchStrides: number[];
}

function prepareOperand(
  view: BufferView,
  buffer: MatmulBuffer,
  rows: number,
  columns: number,
  batchShape: readonly number[],
  scratch: HeapBlock[],
): MatrixOperand {
  const rank = view.shape.length;
  const rowStride = view.strides[rank - 2];
  const columnStride = view.strides[rank - 1];
  const plain = (columns === 1 || columnStride === 1) && (rows === 1 || rowStride === columns);
  const transposed = !plain && (rows === 1 || rowStride === 1) && (columns === 1 || columnStride === rows);
  let source: HeapBlock | FloatArray = buffer.block ?? (buffer.view() as FloatArray);
  let offset = view.offset;
  let strides = view.strides;
  if (!plain && !transposed) {
    // Copy once to contiguous scratch: a heap block for float32 (so the wasm kernel reads it in place; the
    // block is allocated before any view is taken, as growth may move the memory), else a plain array.
    const size = view.shape.reduce((x, y) => x * y, 1);
    const block = buffer.dtype === "float32" ? getHeap().alloc(Math.max(size, 1)) : null;
    const copy = block ? block.f32().subarray(0, size) : (createTypedArray(buffer.dtype, size) as FloatArray);
    const data = buffer.view();
    copyKernel(
      { data, shape: view.shape, strides: view.strides, offset: view.offset },
      denseView(copy, view.shape),
      false,
    );
    if (block) scratch.push(block);
    source = block ?? copy;
    offset = 0;
    strides = contiguousStrides(view.shape);
  }
  const batchRank = batchShape.length;
  const ownBatch = rank - 2;
  const batchStrides = new Array<number>(batchRank).fill(0);
  for (let axis = 0; axis < ownBatch; axis++) {
    const target = batchRank - ownBatch + axis;
    batchStrides[target] = view.shape[axis] === 1 ? 0 : strides[axis];
  }
  return { source, offset, transposed, batchStrides };
}

/** The single stride of a flattened batch index, or null when the batch dims do not collapse. */
function uniformBatchStride(batchShape: readonly number[], strides: readonly number[]): number | null {
  let stride: number | null = null;
  let expected = 0;
  for (let axis = batchShape.length - 1; axis >= 0; axis--) {
    if (batchShape[axis] === 1) continue;
    if (stride === null) {
      stride = strides[axis];
      expected = stride * batchShape[axis];
    } else {
      if (strides[axis] !== expected) return null;
      expected *= batchShape[axis];
    }
  }
  return stride ?? 0;
}

function inferBatchShape(aShape: readonly number[], bShape: readonly number[]): number[] {
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const result: number[] = [];
  for (let axis = 0; axis < rank; axis++) {
    const x = aBatch[aBatch.length - rank + axis] ?? 1;
    const y = bBatch[bBatch.length - rank + axis] ?? 1;
    result.push(x === 1 ? y : x);
  }
  return result;
}

export function cpuMatmul(
  a: BufferView,
  b: BufferView,
  out: MatmulBuffer,
  resolve: (view: BufferView, role: string) => MatmulBuffer,
): void {
  const m = a.shape[a.shape.length - 2];
  const k = a.shape[a.shape.length - 1];
  const n = b.shape[b.shape.length - 1];
  const batchShape = inferBatchShape(a.shape, b.shape);
  const batch = batchShape.reduce((x, y) => x * y, 1);
  if (m === 0 || n === 0 || batch === 0) return;
  const scratch: HeapBlock[] = [];
  try {
    const left = prepareOperand(a, resolve(a, "left"), m, k, batchShape, scratch);
    const right = prepareOperand(b, resolve(b, "right"), k, n, batchShape, scratch);
    runBatches(left, right, out, batchShape, m, n, k);
  } finally {
    for (const block of scratch) getHeap().free(block);
  }
}

function runBatches(
  left: MatrixOperand,
  right: MatrixOperand,
  out: MatmulBuffer,
  batchShape: readonly number[],
  m: number,
  n: number,
  k: number,
): void {
  const batch = batchShape.reduce((x, y) => x * y, 1);
  const output: HeapBlock | FloatArray = out.block ?? (out.view() as FloatArray);
  const run = (aOffset: number, bOffset: number, outOffset: number, spec: JsMatmulSpec) => {
    if (out.dtype === "float32") {
      float32Matmul(
        left.source as HeapBlock | Float32Array,
        aOffset,
        right.source as HeapBlock | Float32Array,
        bOffset,
        output as HeapBlock | Float32Array,
        outOffset,
        spec,
      );
    } else {
      matmulJs(
        left.source as FloatArray,
        aOffset,
        right.source as FloatArray,
        bOffset,
        output as FloatArray,
        outOffset,
        spec,
      );
    }
  };
  if (k === 0) {
    (out.view() as FloatArray).fill(0);
    return;
  }
  const strideA = uniformBatchStride(batchShape, left.batchStrides);
  const strideB = uniformBatchStride(batchShape, right.batchStrides);
  const transA = left.transposed;
  const transB = right.transposed;
  if (strideA !== null && strideB !== null) {
    run(left.offset, right.offset, 0, { batch, m, n, k, transA, transB, aBatchStride: strideA, bBatchStride: strideB });
    return;
  }
  // Batch dims that do not collapse to one stride: one call per batch entry.
  const counters = new Array<number>(batchShape.length).fill(0);
  for (let index = 0; index < batch; index++) {
    let aOffset = left.offset;
    let bOffset = right.offset;
    for (let axis = 0; axis < batchShape.length; axis++) {
      aOffset += counters[axis] * left.batchStrides[axis];
      bOffset += counters[axis] * right.batchStrides[axis];
    }
    run(aOffset, bOffset, index * m * n, { batch: 1, m, n, k, transA, transB, aBatchStride: 0, bBatchStride: 0 });
    for (let axis = batchShape.length - 1; axis >= 0; axis--) {
      counters[axis]++;
      if (counters[axis] < batchShape[axis]) break;
      counters[axis] = 0;
    }
  }
}
