/**
 * Shape arithmetic: sizes, row-major strides, broadcasting, axis normalisation and the error messages that
 * name the op and the shapes at fault. Pure functions over number arrays; no tensors here.
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
