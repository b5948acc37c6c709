/**
 * Strided iteration for the CPU kernels: collapse axes that every operand walks contiguously, then visit
 * the tensor row by row (the innermost axis), handing each row's start offsets to a tight inner loop.
 * No per-element callbacks: callers loop over a row themselves.
 */

export interface CollapsedLayout {
  /** Collapsed shape, at least one axis. */
  shape: number[];
  /** Collapsed strides, one array per operand. */
  strides: number[][];
}

/** Merge axes i, i+1 when for every operand stride[i] === stride[i+1] · shape[i+1]; drop size-1 axes. */
export function collapseLayout(shape: readonly number[], strides: readonly (readonly number[])[]): CollapsedLayout {
  const keptShape: number[] = [];
  const keptStrides: number[][] = strides.map(() => []);
  for (let axis = 0; axis < shape.length; axis++) {
    if (shape[axis] === 1) continue;
    keptShape.push(shape[axis]);
    for (let operand = 0; operand < strides.length; operand++) keptStrides[operand].push(strides[operand][axis]);
  }
  if (keptShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  const outShape = [keptShape[0]];
  const outStrides = keptStrides.map((list) => [list[0]]);
  for (let axis = 1; axis < keptShape.length; axis++) {
    const last = outShape.length - 1;
    let mergeable = true;
    for (let operand = 0; operand < strides.length; operand++) {
      if (outStrides[operand][last] !== keptStrides[operand][axis] * keptShape[axis]) {
        mergeable = false;
        break;
      }
    }
    if (mergeable) {
      outShape[last] *= keptShape[axis];
      for (let operand = 0; operand < strides.length; operand++) outStrides[operand][last] = keptStrides[operand][axis];
    } else {
      outShape.push(keptShape[axis]);
      for (let operand = 0; operand < strides.length; operand++) outStrides[operand].push(keptStrides[operand][axis]);
    }
  }
  return { shape: outShape, strides: outStrides };
}

/**
 * Row walker over a collapsed layout: `rows` rows of `rowLength` elements; after `next()` the `offsets`
 * array holds each operand's start offset of the current row (starting from the given base offsets).
 */
export class RowWalker {
  readonly rows: number;
  readonly rowLength: number;
  readonly rowStrides: number[];
  readonly offsets: number[];
  private readonly outerShape: number[];
  private readonly outerStrides: number[][];
  private readonly counters: number[];

  constructor(layout: CollapsedLayout, baseOffsets: readonly number[]) {
    const rank = layout.shape.length;
    this.rowLength = layout.shape[rank - 1];
    this.rowStrides = layout.strides.map((list) => list[rank - 1]);
    this.outerShape = layout.shape.slice(0, rank - 1);
    this.outerStrides = layout.strides.map((list) => list.slice(0, rank - 1));
    this.counters = new Array<number>(rank - 1).fill(0);
    let rows = 1;
    for (const dimension of this.outerShape) rows *= dimension;
    this.rows = rows;
    this.offsets = [...baseOffsets];
  }

  /** Advance offsets to the next row (call after processing each row). */
  advance(): void {
    const operands = this.offsets.length;
    for (let axis = this.outerShape.length - 1; axis >= 0; axis--) {
      this.counters[axis]++;
      if (this.counters[axis] < this.outerShape[axis]) {
        for (let operand = 0; operand < operands; operand++) this.offsets[operand] += this.outerStrides[operand][axis];
        return;
      }
      this.counters[axis] = 0;
      for (let operand = 0; operand < operands; operand++) {
        this.offsets[operand] -= this.outerStrides[operand][axis] * (this.outerShape[axis] - 1);
      }
    }
  }
}

/** Row-major strides of a contiguous shape. */
export function denseStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= shape[axis];
  }
  return strides;
}
