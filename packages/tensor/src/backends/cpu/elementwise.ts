/**
 * CPU elementwise and reduction kernels over strided views: unary, binary, where, copy/cast and reduce.
 * Each op has its own tight loop per row (the op switch sits outside the element loop); layouts are
 * collapsed first so contiguous tensors run as one flat loop. Not here: matmul, softmax and the fused ops.
 */
import type { BinaryOp, ReduceOp, UnaryOp } from "../../backend.js";
import type { TypedArray } from "../../dtype.js";
import { collapseLayout, denseStrides, RowWalker } from "./strided.js";

export interface ArrayView {
  data: TypedArray;
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
}

type UnaryRow = (
  x: TypedArray,
  xOffset: number,
  xStride: number,
  out: TypedArray,
  outOffset: number,
  n: number,
) => void;

/**
 * One small function per op (rather than one switch around many loops): each stays monomorphic and small
 * enough for the optimising compiler to inline the typed-array accesses.
 */
const unaryRows: Record<UnaryOp, UnaryRow> = {
  neg: (x, xOffset, xStride, out, outOffset, n) => {
    for (let o = outOffset, p = xOffset, end = outOffset + n; o < end; o++, p += xStride) out[o] = -x[p];
  },
  exp: (x, xOffset, xStride, out, outOffset, n) => {
    for (let o = outOffset, p = xOffset, end = outOffset + n; o < end; o++, p += xStride) out[o] = Math.exp(x[p]);
  },
  log: (x, xOffset, xStride, out, outOffset, n) => {
    for (let o = outOffset, p = xOffset, end = outOffset + n; o < end; o++, p += xStride) out[o] = Math.log(x[p]);
  },
  sqrt: (x, xOffset, xStride, out, outOffset, n) => {
    for (let o = outOffset, p = xOffset, end = outOffset + n; o < end; o++, p += xStride) out[o] = Math.sqrt(x[p]);
  },
  rsqrt: (x, xOffset, xStride, out, outOffset, n) => {
    for (let o = outOffset, p = xOffset, end = outOffset + n; o < end; o++, p += xStride) out[o] = 1 / Math.sqrt(x[p]);
  },
  sigmoid: (x, xOffset, xStride, out, outOffset, n) => {
    for (let o = outOffset, p = xOffset, end = outOffset + n; o < end; o++, p += xStride)
      out[o] = 1 / (1 + Math.exp(-x[p]));
  },
  silu: (x, xOffset, xStride, out, outOffset, n) => {
    for (let o = outOffset, p = xOffset, end = outOffset + n; o < end; o++, p += xStride)
      out[o] = x[p] / (1 + Math.exp(-x[p]));
  },
  abs: (x, xOffset, xStride, out, outOffset, n) => {
    for (let o = outOffset, p = xOffset, end = outOffset + n; o < end; o++, p += xStride) out[o] = Math.abs(x[p]);
  },
};

/**
 * The stride with which a view can be walked as one flat row of `size` elements: 1 when it is contiguous,
 * 0 when every stride is 0 (a broadcast scalar), otherwise null. Lets the common cases skip the row walker.
 */
function flatStride(shape: readonly number[], strides: readonly number[]): 0 | 1 | null {
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

function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const dimension of shape) size *= dimension;
  return size;
}

export function unaryKernel(op: UnaryOp, x: ArrayView, out: TypedArray): void {
  const stride = flatStride(x.shape, x.strides);
  if (stride !== null) {
    unaryRows[op](x.data, x.offset, stride, out, 0, sizeOf(x.shape));
    return;
  }
  const layout = collapseLayout(x.shape, [x.strides, denseStrides(x.shape)]);
  const walker = new RowWalker(layout, [x.offset, 0]);
  const [xStride] = walker.rowStrides;
  const unaryRow = unaryRows[op];
  for (let row = 0; row < walker.rows; row++) {
    unaryRow(x.data, walker.offsets[0], xStride, out, walker.offsets[1], walker.rowLength);
    walker.advance();
  }
}

type BinaryRow = (
  a: TypedArray,
  aOffset: number,
  aStride: number,
  b: TypedArray,
  bOffset: number,
  bStride: number,
  out: TypedArray,
  outOffset: number,
  n: number,
) => void;

const binaryRows: Record<BinaryOp, BinaryRow> = {
  add: (a, aOffset, aStride, b, bOffset, bStride, out, outOffset, n) => {
    for (let o = outOffset, p = aOffset, q = bOffset, end = outOffset + n; o < end; o++, p += aStride, q += bStride) {
      out[o] = a[p] + b[q];
    }
  },
  sub: (a, aOffset, aStride, b, bOffset, bStride, out, outOffset, n) => {
    for (let o = outOffset, p = aOffset, q = bOffset, end = outOffset + n; o < end; o++, p += aStride, q += bStride) {
      out[o] = a[p] - b[q];
    }
  },
  mul: (a, aOffset, aStride, b, bOffset, bStride, out, outOffset, n) => {
    for (let o = outOffset, p = aOffset, q = bOffset, end = outOffset + n; o < end; o++, p += aStride, q += bStride) {
      out[o] = a[p] * b[q];
    }
  },
  div: (a, aOffset, aStride, b, bOffset, bStride, out, outOffset, n) => {
    for (let o = outOffset, p = aOffset, q = bOffset, end = outOffset + n; o < end; o++, p += aStride, q += bStride) {
      out[o] = a[p] / b[q];
    }
  },
  pow: (a, aOffset, aStride, b, bOffset, bStride, out, outOffset, n) => {
    for (let o = outOffset, p = aOffset, q = bOffset, end = outOffset + n; o < end; o++, p += aStride, q += bStride) {
      out[o] = a[p] ** b[q];
    }
  },
  maximum: (a, aOffset, aStride, b, bOffset, bStride, out, outOffset, n) => {
    for (let o = outOffset, p = aOffset, q = bOffset, end = outOffset + n; o < end; o++, p += aStride, q += bStride) {
      out[o] = Math.max(a[p], b[q]);
    }
  },
  minimum: (a, aOffset, aStride, b, bOffset, bStride, out, outOffset, n) => {
    for (let o = outOffset, p = aOffset, q = bOffset, end = outOffset + n; o < end; o++, p += aStride, q += bStride) {
      out[o] = Math.min(a[p], b[q]);
    }
  },
  equal: (a, aOffset, aStride, b, bOffset, bStride, out, outOffset, n) => {
    for (let o = outOffset, p = aOffset, q = bOffset, end = outOffset + n; o < end; o++, p += aStride, q += bStride) {
      out[o] = a[p] === b[q] ? 1 : 0;
    }
  },
  notEqual: (a, aOffset, aStride, b, bOffset, bStride, out, outOffset, n) => {
    for (let o = outOffset, p = aOffset, q = bOffset, end = outOffset + n; o < end; o++, p += aStride, q += bStride) {
      out[o] = a[p] !== b[q] ? 1 : 0;
    }
  },
  greater: (a, aOffset, aStride, b, bOffset, bStride, out, outOffset, n) => {
    for (let o = outOffset, p = aOffset, q = bOffset, end = outOffset + n; o < end; o++, p += aStride, q += bStride) {
      out[o] = a[p] > b[q] ? 1 : 0;
    }
  },
  greaterEqual: (a, aOffset, aStride, b, bOffset, bStride, out, outOffset, n) => {
    for (let o = outOffset, p = aOffset, q = bOffset, end = outOffset + n; o < end; o++, p += aStride, q += bStride) {
      out[o] = a[p] >= b[q] ? 1 : 0;
    }
  },
  less: (a, aOffset, aStride, b, bOffset, bStride, out, outOffset, n) => {
    for (let o = outOffset, p = aOffset, q = bOffset, end = outOffset + n; o < end; o++, p += aStride, q += bStride) {
      out[o] = a[p] < b[q] ? 1 : 0;
    }
  },
  lessEqual: (a, aOffset, aStride, b, bOffset, bStride, out, outOffset, n) => {
    for (let o = outOffset, p = aOffset, q = bOffset, end = outOffset + n; o < end; o++, p += aStride, q += bStride) {
      out[o] = a[p] <= b[q] ? 1 : 0;
    }
  },
};

export function binaryKernel(op: BinaryOp, a: ArrayView, b: ArrayView, out: TypedArray): void {
  const aFlat = flatStride(a.shape, a.strides);
  const bFlat = flatStride(b.shape, b.strides);
  if (aFlat !== null && bFlat !== null) {
    binaryRows[op](a.data, a.offset, aFlat, b.data, b.offset, bFlat, out, 0, sizeOf(a.shape));
    return;
  }
  const layout = collapseLayout(a.shape, [a.strides, b.strides, denseStrides(a.shape)]);
  const walker = new RowWalker(layout, [a.offset, b.offset, 0]);
  const [aStride, bStride] = walker.rowStrides;
  const binaryRow = binaryRows[op];
  const offsets = walker.offsets;
  for (let row = 0; row < walker.rows; row++) {
    binaryRow(a.data, offsets[0], aStride, b.data, offsets[1], bStride, out, offsets[2], walker.rowLength);
    walker.advance();
  }
}

export function whereKernel(condition: ArrayView, a: ArrayView, b: ArrayView, out: TypedArray): void {
  const layout = collapseLayout(a.shape, [condition.strides, a.strides, b.strides, denseStrides(a.shape)]);
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
    const size = sizeOf(x.shape);
    out.data.set(x.data.subarray(x.offset, x.offset + size), out.offset);
    return;
  }
  const layout = collapseLayout(x.shape, [x.strides, out.strides]);
  const walker = new RowWalker(layout, [x.offset, out.offset]);
  const [xStride, outStride] = walker.rowStrides;
  const data = x.data;
  const target = out.data;
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
  return { data, shape, strides: denseStrides(shape), offset: 0 };
}

/**
 * Reduce over sorted `axes`: walk x in its own order and combine into out (contiguous over the kept axes),
 * which reads out through zero strides on the reduced axes. Sums accumulate each reduced row in a double.
 */
export function reduceKernel(op: ReduceOp, x: ArrayView, axes: readonly number[], out: TypedArray): void {
  const reduced = new Set(axes);
  const keptShape = x.shape.filter((_, axis) => !reduced.has(axis));
  const keptStrides = denseStrides(keptShape);
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
