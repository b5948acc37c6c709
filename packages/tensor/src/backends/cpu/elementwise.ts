/**
 * CPU elementwise and reduction kernels over strided views: unary, binary, where, copy/cast and reduce.
 * Each unary and binary op has its own tight loop (generated from the expression table into
 * elementwise-loops.generated.ts; the op is chosen outside the element loop); layouts are collapsed first so
 * contiguous tensors run as one flat loop. Not here: matmul, softmax and the fused ops.
 */
import type { BinaryOp, ReduceOp, UnaryOp } from "../../backend.js";
import type { TypedArray } from "../../dtype.js";
import { collapseLayout, contiguousStrides, shapeSize } from "../../shape.js";
import { binaryLoops, unaryLoops } from "./elementwise-loops.generated.js";
import { RowWalker } from "./strided.js";

export interface ArrayView {
  data: TypedArray;
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
}

/**
 * The stride with which a view can be walked as one flat row of `size` elements: 1 when it is contiguous,
 * 0 when every stride is 0 (a broadcast scalar), otherwise null. Lets the common cases skip the row walker.
 */
export function flatStride(shape: readonly number[], strides: readonly number[]): 0 | 1 | null {
  let expected = 1;
  let allZero = true;
  let contiguous = true;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const dimension = shape[axis];
    if (dimension === 1) continue;
    const stride = strides[axis];
    if (stride !== 0) allZero = false;
    if (stride !== expected) contiguous = false;
    expected *= dimension;
  }
  return contiguous ? 1 : allZero ? 0 : null;
}

export function unaryKernel(op: UnaryOp, x: ArrayView, out: TypedArray): void {
  const stride = flatStride(x.shape, x.strides);
  if (stride !== null) {
    unaryLoops[op](x.data, x.offset, stride, out, 0, shapeSize(x.shape));
    return;
  }
  const layout = collapseLayout(x.shape, [x.strides, contiguousStrides(x.shape)]);
  const walker = new RowWalker(layout, [x.offset, 0]);
  const [xStride] = walker.rowStrides;
  const unaryLoop = unaryLoops[op];
  for (let row = 0; row < walker.rows; row++) {
    unaryLoop(x.data, walker.offsets[0], xStride, out, walker.offsets[1], walker.rowLength);
    walker.advance();
  }
}

export function binaryKernel(op: BinaryOp, a: ArrayView, b: ArrayView, out: TypedArray): void {
  const aFlat = flatStride(a.shape, a.strides);
  const bFlat = flatStride(b.shape, b.strides);
  if (aFlat !== null && bFlat !== null) {
    binaryLoops[op](a.data, a.offset, aFlat, b.data, b.offset, bFlat, out, 0, shapeSize(a.shape));
    return;
  }
  const layout = collapseLayout(a.shape, [a.strides, b.strides, contiguousStrides(a.shape)]);
  const walker = new RowWalker(layout, [a.offset, b.offset, 0]);
  const [aStride, bStride] = walker.rowStrides;
  const binaryLoop = binaryLoops[op];
  const offsets = walker.offsets;
  for (let row = 0; row < walker.rows; row++) {
    binaryLoop(a.data, offsets[0], aStride, b.data, offsets[1], bStride, out, offsets[2], walker.rowLength);
    walker.advance();
  }
}

export function whereKernel(condition: ArrayView, a: ArrayView, b: ArrayView, out: TypedArray): void {
  const layout = collapseLayout(a.shape, [condition.strides, a.strides, b.strides, contiguousStrides(a.shape)]);
  const walker = new RowWalker(layout, [condition.offset, a.offset, b.offset, 0]);
  const [cStride, aStride, bStride] = walker.rowStrides;
  const c = condition.data;
  const x = a.data;
  const y = b.data;
  for (let row = 0; row < walker.rows; row++) {
    let pc = walker.offsets[0];
    let pa = walker.offsets[1];
    let pb = walker.offsets[2];
    const start = walker.offsets[3];
    const end = start + walker.rowLength;
    for (let o = start; o < end; o++, pc += cStride, pa += aStride, pb += bStride) out[o] = c[pc] !== 0 ? x[pa] : y[pb];
    walker.advance();
  }
}

/** Copy x into the view `out` (same shape); converts to out's element type (bool output: nonzero → 1). */
export function copyKernel(x: ArrayView, out: ArrayView, toBool: boolean): void {
  if (!toBool && flatStride(x.shape, x.strides) === 1 && flatStride(out.shape, out.strides) === 1) {
    const size = shapeSize(x.shape);
    out.data.set(x.data.subarray(x.offset, x.offset + size), out.offset);
    return;
  }
  const layout = collapseLayout(x.shape, [x.strides, out.strides]);
  const walker = new RowWalker(layout, [x.offset, out.offset]);
  const [xStride, outStride] = walker.rowStrides;
  // float32 → float32 moves the bits as int32: an element-wise float copy may quiet a signalling NaN.
  const bits = !toBool && x.data instanceof Float32Array && out.data instanceof Float32Array;
  const data = bits ? new Int32Array(x.data.buffer, x.data.byteOffset, x.data.length) : x.data;
  const target = bits ? new Int32Array(out.data.buffer, out.data.byteOffset, out.data.length) : out.data;
  const n = walker.rowLength;
  for (let row = 0; row < walker.rows; row++) {
    let p = walker.offsets[0];
    let o = walker.offsets[1];
    if (toBool) {
      for (let j = 0; j < n; j++, p += xStride, o += outStride) target[o] = data[p] !== 0 ? 1 : 0;
    } else if (xStride === 1 && outStride === 1) {
      target.set(data.subarray(p, p + n), o);
    } else {
      for (let j = 0; j < n; j++, p += xStride, o += outStride) target[o] = data[p];
    }
    walker.advance();
  }
}

/** Contiguous view description of a whole array with the given shape. */
export function denseView(data: TypedArray, shape: readonly number[]): ArrayView {
  return { data, shape, strides: contiguousStrides(shape), offset: 0 };
}

/**
 * Reduce over sorted `axes`: walk x in its own order and combine into out (contiguous over the kept axes),
 * which reads out through zero strides on the reduced axes. Sums accumulate each reduced row in a double.
 */
export function reduceKernel(op: ReduceOp, x: ArrayView, axes: readonly number[], out: TypedArray): void {
  const reduced = new Set(axes);
  const keptShape = x.shape.filter((_, axis) => !reduced.has(axis));
  const keptStrides = contiguousStrides(keptShape);
  const outStrides: number[] = [];
  let keptIndex = 0;
  for (let axis = 0; axis < x.shape.length; axis++) {
    outStrides.push(reduced.has(axis) ? 0 : keptStrides[keptIndex++]);
  }
  // −Infinity for floats; an Int32Array would store it as 0, so integers start from their minimum.
  const initial = op === "sum" ? 0 : out instanceof Int32Array ? -(2 ** 31) : Number.NEGATIVE_INFINITY;
  out.fill(initial);
  let size = 1;
  for (const dimension of x.shape) size *= dimension;
  if (size === 0) return;
  const layout = collapseLayout(x.shape, [x.strides, outStrides]);
  const walker = new RowWalker(layout, [x.offset, 0]);
  const [xStride, outStride] = walker.rowStrides;
  const data = x.data;
  const n = walker.rowLength;
  for (let row = 0; row < walker.rows; row++) {
    let p = walker.offsets[0];
    let o = walker.offsets[1];
    if (outStride === 0) {
      let accumulator = out[o];
      if (op === "sum") for (let j = 0; j < n; j++, p += xStride) accumulator += data[p];
      else {
        for (let j = 0; j < n; j++, p += xStride)
          if (data[p] > accumulator || Number.isNaN(data[p])) accumulator = data[p];
      }
      out[o] = accumulator;
    } else if (op === "sum") {
      for (let j = 0; j < n; j++, p += xStride, o += outStride) out[o] += data[p];
    } else {
      for (let j = 0; j < n; j++, p += xStride, o += outStride) if (data[p] > out[o]) out[o] = data[p];
    }
    walker.advance();
  }
}
