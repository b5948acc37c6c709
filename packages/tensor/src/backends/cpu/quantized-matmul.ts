/**
 * The CPU backend's `matmulQuantized` kernel: adapts buffer views to the wasm kernels of `wasm/quantized.ts`
 * (GEMV for one row, dequantized panel + float32 GEMM for more). The weight's buffers are int32 heap blocks
 * holding the packed bytes, so the kernels read them in place. Not here: the kernels, the codec.
 */
import type { BufferView, QuantizedBuffers } from "../../backend.js";
import { getHeap, type HeapBlock } from "./wasm/heap.js";
import { getMatmulThreads } from "./wasm/matmul.js";
import { matmulQuantizedHeap } from "./wasm/quantized.js";

/** What the kernel needs of a CPU buffer (structural, so this file does not import the backend). */
export interface QuantizedOperandBuffer {
  readonly dtype: string;
  readonly block: HeapBlock | null;
}

export function cpuMatmulQuantized(
  x: BufferView,
  input: QuantizedOperandBuffer,
  weight: QuantizedBuffers,
  data: QuantizedOperandBuffer,
  scales: QuantizedOperandBuffer | null,
  out: QuantizedOperandBuffer,
): void {
  const k = weight.columns;
  const width = x.shape[x.shape.length - 1];
  const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (width !== k) {
    throw new Error(
      `[matmulQuantized] the input's last dimension is ${width}; the weight [${weight.rows}, ${k}] needs ${k}`,
    );
  }
  if (input.dtype !== "float32" || input.block === null || out.block === null || data.block === null) {
    throw new Error("[matmulQuantized] the input and output must be float32 heap buffers");
  }
  let source = input.block;
  let offset = x.offset;
  let copy: HeapBlock | null = null;
  const contiguous = x.strides.every((stride, axis) => {
    const expected = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    return stride === expected || x.shape[axis] === 1;
  });
  if (!contiguous) {
    // A strided input (rare: the front end passes contiguous ones) is gathered once.
    copy = getHeap().alloc(Math.max(1, rows * k));
    const target = copy.f32();
    const from = input.block.f32();
    const index = new Array<number>(x.shape.length).fill(0);
    for (let element = 0; element < rows * k; element++) {
      let at = x.offset;
      for (let axis = 0; axis < index.length; axis++) at += (index[axis] as number) * (x.strides[axis] as number);
      target[element] = from[at] as number;
      for (let axis = index.length - 1; axis >= 0; axis--) {
        index[axis] = (index[axis] as number) + 1;
        if ((index[axis] as number) < (x.shape[axis] as number)) break;
        index[axis] = 0;
      }
    }
    source = copy;
    offset = 0;
  }
  try {
    matmulQuantizedHeap(
      source,
      offset,
      rows,
      { format: weight.format, n: weight.rows, k, data: data.block, scales: scales?.block ?? null },
      out.block,
      0,
      getMatmulThreads(),
    );
  } finally {
    if (copy !== null) getHeap().free(copy);
  }
}
