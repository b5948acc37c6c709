/**
 * The movement ops: views and copies that rearrange elements without arithmetic — reshape, permute, expand,
 * slice (views: no copy), concat, contiguous and cast (copies through the `copy` kernel), and `assign`, the
 * in-place copy into an existing tensor. Their rules, forward and backward, are one table typed
 * `Rules<MovementOp>`. Not here: arithmetic (elementwise.ts), reductions (reduce.ts).
 */
import { kernel } from "../backend.js";
import type { DType } from "../dtype.js";
import {
  assertValidShape,
  broadcastStrides,
  contiguousStrides,
  formatShape,
  normalizeAxis,
  shapeSize,
  shapesEqual,
} from "../shape.js";
import { emptyTensor, type Tensor, viewOf } from "../tensor.js";
import {
  apply,
  backendOf,
  contiguousRaw,
  copyRaw,
  fullLike,
  type OpAttributes,
  type Rules,
  reduceToShape,
  requireSameDType,
  reshapeRaw,
} from "./apply.js";

export type MovementOp = "reshape" | "permute" | "expand" | "slice" | "concat" | "contiguous" | "cast";

export const movementRules: Rules<MovementOp> = {
  reshape: {
    forward: ([x], { shape }) => reshapeRaw(x, shape),
    backward: (g, { inputShapes: [shape] }) => [reshape(g, shape)],
    saveInputs: false,
  },
  permute: {
    forward: ([x], { axes }) =>
      viewOf(
        x,
        axes.map((axis) => x.shape[axis]),
        axes.map((axis) => x.strides[axis]),
        x.offset,
      ),
    backward: (g, { attributes: { axes } }) => {
      const inverse = new Array<number>(axes.length);
      axes.forEach((axis, index) => {
        inverse[axis] = index;
      });
      return [permute(g, inverse)];
    },
    saveInputs: false,
  },
  expand: {
    forward: ([x], { shape }) => viewOf(x, shape, broadcastStrides(x.shape, x.strides, shape), x.offset),
    backward: (g, { inputShapes: [shape] }) => [reduceToShape(g, shape)],
    saveInputs: false,
  },
  slice: {
    forward: ([x], { starts, ends }) => {
      let offset = x.offset;
      for (let axis = 0; axis < x.rank; axis++) offset += starts[axis] * x.strides[axis];
      return viewOf(
        x,
        starts.map((start, axis) => ends[axis] - start),
        x.strides,
        offset,
      );
    },
    backward: (g, { inputShapes: [shape], attributes: { starts } }) => [padRaw(g, shape, starts)],
    saveInputs: false,
  },
  concat: {
    forward: (tensors, { axis }) => {
      const first = tensors[0];
      const backend = backendOf("concat", tensors);
      const shape = [...first.shape];
      shape[axis] = tensors.reduce((total, tensor) => total + tensor.shape[axis], 0);
      const out = emptyTensor(shape, first.dtype, backend);
      const strides = contiguousStrides(shape);
      let position = 0;
      for (const tensor of tensors) {
        kernel(backend, "copy")(tensor.view("concat"), {
          buffer: out.storage.buffer,
          shape: tensor.shape,
          strides,
          offset: position * strides[axis],
        });
        position += tensor.shape[axis];
      }
      return out;
    },
    backward: (g, { inputShapes, attributes: { axis }, needsInputGrad }) => {
      let position = 0;
      return inputShapes.map((shape, index) => {
        const start = position;
        position += shape[axis];
        if (!needsInputGrad[index]) return null;
        const starts = shape.map((_, dimension) => (dimension === axis ? start : 0));
        const ends = shape.map((extent, dimension) => (dimension === axis ? start + extent : extent));
        return slice(g, starts, ends);
      });
    },
    saveInputs: false,
  },
  contiguous: {
    forward: ([x]) => contiguousRaw(x),
    backward: (g) => [g],
    saveInputs: false,
  },
  cast: {
    forward: ([x], { dtype }) => (x.dtype === dtype ? contiguousRaw(x) : copyRaw(x, dtype)),
    backward: (g, { inputDTypes: [dtype] }) => [cast(g, dtype)],
    saveInputs: false,
  },
};

function run<P extends MovementOp>(op: P, inputs: readonly Tensor[], attributes: OpAttributes[P]): Tensor {
  return apply(op, movementRules[op], inputs, attributes);
}

/** A view with a new shape (one dimension may be -1); copies only when x is not contiguous. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return run("reshape", [x], { shape: resolveReshape(x, shape) });
}

export function permute(x: Tensor, axes: readonly number[]): Tensor {
  const rank = x.rank;
  const normalized = axes.map((axis) => normalizeAxis("permute", axis, rank));
  if (normalized.length !== rank || new Set(normalized).size !== rank) {
    throw new Error(
      `[permute] axes [${axes.join(",")}] are not a permutation of the ${rank} axes of shape ${formatShape(x.shape)}`,
    );
  }
  return run("permute", [x], { axes: normalized });
}

/** A broadcast view (no copy) of x at a larger shape. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  broadcastTarget("expand", x.shape, shape);
  return run("expand", [x], { shape: [...shape] });
}

/**
 * A view of x[starts[0]:ends[0], starts[1]:ends[1], …]; missing axes are taken whole, negative indices count
 * from the end, `ends` defaults to the full extent.
 */
export function slice(x: Tensor, starts: readonly number[], ends?: readonly number[]): Tensor {
  const resolvedStarts: number[] = [];
  const resolvedEnds: number[] = [];
  for (let axis = 0; axis < x.rank; axis++) {
    const dimension = x.shape[axis];
    let start = starts[axis] ?? 0;
    let end = ends?.[axis] ?? dimension;
    if (start < 0) start += dimension;
    if (end < 0) end += dimension;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > dimension || start > end) {
      throw new Error(
        `[slice] range ${starts[axis] ?? 0}:${ends?.[axis] ?? dimension} on axis ${axis} is out of bounds for shape ${formatShape(x.shape)}`,
      );
    }
    resolvedStarts.push(start);
    resolvedEnds.push(end);
  }
  if (starts.length > x.rank || (ends && ends.length > x.rank)) {
    throw new Error(`[slice] ${starts.length} start indices for shape ${formatShape(x.shape)} of rank ${x.rank}`);
  }
  return run("slice", [x], { starts: resolvedStarts, ends: resolvedEnds });
}

/** Join tensors of equal shape except along `axis`. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error("[concat] needs at least one tensor");
  const first = tensors[0];
  const resolved = normalizeAxis("concat", axis, first.rank);
  for (const tensor of tensors) {
    requireSameDType("concat", first, tensor);
    const compatible =
      tensor.rank === first.rank &&
      tensor.shape.every((dimension, index) => index === resolved || dimension === first.shape[index]);
    if (!compatible) {
      throw new Error(
        `[concat] shapes ${formatShape(first.shape)} and ${formatShape(tensor.shape)} differ outside axis ${resolved}; they cannot be joined`,
      );
    }
  }
  return run("concat", tensors, { axis: resolved });
}

/** x with contiguous row-major layout (x itself as a view when it already is). */
export function contiguous(x: Tensor): Tensor {
  return run("contiguous", [x], {});
}

/** Convert to another dtype (float → int truncates toward zero; → bool is "nonzero"). */
export function cast(x: Tensor, dtype: DType): Tensor {
  return run("cast", [x], { dtype });
}

/**
 * Overwrite target's elements with value's (broadcast, converted to target's dtype), in place. For
 * optimizer state and parameters; never on tensors recorded in a graph that still needs them.
 */
export function assign(target: Tensor, value: Tensor): void {
  if (!shapesEqual(target.shape, value.shape)) {
    throw new Error(`[assign] shapes ${formatShape(target.shape)} and ${formatShape(value.shape)} differ`);
  }
  kernel(target.backend, "copy")(value.view("assign"), target.view("assign"));
}

function resolveReshape(x: Tensor, shape: readonly number[]): number[] {
  const inferred = shape.filter((dimension) => dimension === -1).length;
  if (inferred > 1) throw new Error(`[reshape] shape ${formatShape(shape)} has more than one -1`);
  const known = shape.reduce((product, dimension) => (dimension === -1 ? product : product * dimension), 1);
  const resolved = shape.map((dimension) => (dimension === -1 ? (known === 0 ? 0 : x.size / known) : dimension));
  assertValidShape("reshape", resolved);
  if (shapeSize(resolved) !== x.size) {
    throw new Error(
      `[reshape] shapes ${formatShape(x.shape)} and ${formatShape(shape)} are incompatible: ${x.size} elements cannot be viewed as ${shapeSize(resolved)}`,
    );
  }
  return resolved;
}

function broadcastTarget(op: string, from: readonly number[], to: readonly number[]): void {
  const shift = to.length - from.length;
  const ok = shift >= 0 && from.every((dimension, axis) => dimension === 1 || dimension === to[axis + shift]);
  if (!ok) {
    throw new Error(
      `[${op}] shapes ${formatShape(from)} and ${formatShape(to)} are incompatible: the first cannot broadcast to the second`,
    );
  }
}

/** The gradient of a slice: g placed into zeros of the input's shape. */
function padRaw(gradient: Tensor, shape: readonly number[], starts: readonly number[]): Tensor {
  const out = fullLike(gradient, shape, 0);
  const strides = contiguousStrides(shape);
  let offset = 0;
  for (let axis = 0; axis < shape.length; axis++) offset += starts[axis] * strides[axis];
  kernel(out.backend, "copy")(gradient.view("slice"), {
    buffer: out.storage.buffer,
    shape: gradient.shape,
    strides,
    offset,
  });
  return out;
}
