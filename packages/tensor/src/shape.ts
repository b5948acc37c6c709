/**
 * Shape arithmetic: sizes, row-major strides, broadcasting, axis normalisation, the collapsed layouts and
 * row counts the backends' kernels iterate over, and the error messages that name the op and the shapes at
 * fault. Pure functions over number arrays; no tensors here.
 */

export type Shape = readonly number[];

export function formatShape(shape: Shape): string {
  return `[${shape.join(",")}]`;
}

export function shapeSize(shape: Shape): number {
  let size = 1;
  for (const dimension of shape) size *= dimension;
  return size;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= shape[axis] as number;
  }
  return strides;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

/** True when a view with these strides reads its elements in row-major order without gaps. */
export function isContiguousLayout(shape: Shape, strides: Shape): boolean {
  let expected = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const dimension = shape[axis] as number;
    if (dimension !== 1 && strides[axis] !== expected) return false;
    expected *= dimension;
  }
  return true;
}

/** Numpy broadcasting of two shapes; throws naming the op and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const result = new Array<number>(rank);
  for (let index = 0; index < rank; index++) {
    const dimensionA = a[a.length - rank + index] ?? 1;
    const dimensionB = b[b.length - rank + index] ?? 1;
    if (dimensionA !== dimensionB && dimensionA !== 1 && dimensionB !== 1) {
      throw new Error(
        `[${op}] shapes ${formatShape(a)} and ${formatShape(b)} are incompatible: dimension ${index} is ${dimensionA} vs ${dimensionB} and neither is 1`,
      );
    }
    result[index] = dimensionA === 1 ? dimensionB : dimensionA;
  }
  return result;
}

/** Strides that read a tensor of `shape`/`strides` as if broadcast to `target` (0 on broadcast axes). */
export function broadcastStrides(shape: Shape, strides: Shape, target: Shape): number[] {
  const result = new Array<number>(target.length).fill(0);
  const shift = target.length - shape.length;
  for (let axis = 0; axis < shape.length; axis++) {
    result[axis + shift] = shape[axis] === 1 ? 0 : (strides[axis] as number);
  }
  return result;
}

export function normalizeAxis(op: string, axis: number, rank: number): number {
  const normalized = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(normalized) || normalized < 0 || normalized >= Math.max(rank, 1)) {
    throw new Error(`[${op}] axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return normalized;
}

/** Sorted, de-duplicated, non-negative axes; `undefined` means every axis. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, index) => index);
  const list = typeof axes === "number" ? [axes] : axes;
  const result = [...new Set(list.map((axis) => normalizeAxis(op, axis, rank)))];
  return result.sort((x, y) => x - y);
}

export function assertValidShape(op: string, shape: Shape): void {
  for (const dimension of shape) {
    if (!Number.isInteger(dimension) || dimension < 0) {
      throw new Error(`[${op}] shape ${formatShape(shape)} is invalid: dimensions must be non-negative integers`);
    }
  }
}

/** Rows of the last axis: `width` = the last dimension (1 for a scalar), `rows` = size / width (0 when empty). */
export function rowsAndWidth(shape: Shape): { rows: number; width: number } {
  const width = shape.length === 0 ? 1 : (shape[shape.length - 1] as number);
  return { rows: width === 0 ? 0 : shapeSize(shape) / width, width };
}

export interface CollapsedLayout {
  /** Collapsed shape, at least one axis. */
  shape: number[];
  /** Collapsed strides, one array per operand. */
  strides: number[][];
}

/** Merge axes i, i+1 when for every operand stride[i] === stride[i+1] · shape[i+1]; drop size-1 axes. */
export function collapseLayout(shape: Shape, strides: readonly Shape[]): CollapsedLayout {
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
