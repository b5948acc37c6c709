/**
 * Strided iteration for the CPU kernels: over a layout whose axes every operand walks contiguously have been
 * merged (`collapseLayout`, shape.ts), visit the tensor row by row (the innermost axis), handing each row's
 * start offsets to a tight inner loop. No per-element callbacks: callers loop over a row themselves.
 */
import type { CollapsedLayout } from "../../shape.js";

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
