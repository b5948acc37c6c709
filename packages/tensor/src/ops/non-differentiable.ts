/**
 * Ops without gradients: comparisons (bool results), argmax, top-k, multinomial sampling, in-place
 * assignment. Their outputs never require grad.
 * Not here: anything autograd differentiates.
 */
import { kernel } from "../backend.js";
import { uniform } from "../creation.js";
import { formatShape, shapesEqual } from "../shape.js";
import type { Tensor, TensorLike } from "../tensor.js";
import { fusedOp } from "./fused.js";
import { binaryRaw, fullLike } from "./primitives.js";

function compare(
  op: "equal" | "notEqual" | "greater" | "greaterEqual" | "less" | "lessEqual",
  a: Tensor,
  b: TensorLike,
): Tensor {
  const right = typeof b === "number" ? fullLike(a, [], b) : b;
  try {
    return binaryRaw(op, op, a, right, "bool");
  } finally {
    if (right !== b) right.dispose();
  }
}

export function equal(a: Tensor, b: TensorLike): Tensor {
  return compare("equal", a, b);
}
export function notEqual(a: Tensor, b: TensorLike): Tensor {
  return compare("notEqual", a, b);
}
export function greater(a: Tensor, b: TensorLike): Tensor {
  return compare("greater", a, b);
}
export function greaterEqual(a: Tensor, b: TensorLike): Tensor {
  return compare("greaterEqual", a, b);
}
export function less(a: Tensor, b: TensorLike): Tensor {
  return compare("less", a, b);
}
export function lessEqual(a: Tensor, b: TensorLike): Tensor {
  return compare("lessEqual", a, b);
}

function lastAxis(op: string, x: Tensor): number {
  if (x.rank === 0 || x.shape[x.rank - 1] === 0) {
    throw new Error(`[${op}] needs a non-empty last axis, got shape ${formatShape(x.shape)}`);
  }
  return x.shape[x.rank - 1];
}

/** Index of the maximum along the last axis (first on ties), int32 of shape x.shape[:-1]. */
export function argmax(x: Tensor): Tensor {
  lastAxis("argmax", x);
  return fusedOp(x.backend, "argmax")(x);
}

/** The k largest values along the last axis, descending, and their int32 indices (ties: lower index first). */
export function topk(x: Tensor, k: number): { values: Tensor; indices: Tensor } {
  const width = lastAxis("topk", x);
  if (!Number.isInteger(k) || k < 1 || k > width) {
    throw new Error(`[topk] k = ${k} must be an integer in [1, ${width}] for shape ${formatShape(x.shape)}`);
  }
  return fusedOp(x.backend, "topk")(x, k);
}

export interface MultinomialOptions {
  /** Samples per row (with replacement). Default 1. */
  samples?: number;
  /** Seed for the draws; default: the global generator. */
  seed?: number;
}

/**
 * Sample categories from non-negative (not necessarily normalised) weights [..., classes] by inverse CDF;
 * int32 result [..., samples].
 */
export function multinomial(weights: Tensor, options: MultinomialOptions = {}): Tensor {
  lastAxis("multinomial", weights);
  const samples = options.samples ?? 1;
  const shape = [...weights.shape.slice(0, -1), samples];
  // float64 draws where the backend stores them (no float32 rounding bias at the CDF's edges), else float32.
  const dtype = weights.backend.supportsDType("float64") ? "float64" : "float32";
  const draws = uniform(shape, { dtype, ...(options.seed === undefined ? {} : { seed: options.seed }) });
  try {
    return fusedOp(weights.backend, "multinomial")(weights, draws);
  } finally {
    draws.dispose();
  }
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
