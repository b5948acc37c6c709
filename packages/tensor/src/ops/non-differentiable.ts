/**
 * Ops without gradients over the last axis: argmax, top-k and multinomial sampling, each a fused kernel with
 * a composition from primitives (fused.ts). Their outputs never require grad.
 * Not here: anything autograd differentiates; the comparisons (elementwise.ts) and `assign` (movement.ts).
 */
import { uniform } from "../creation.js";
import { formatShape } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { fusedOp } from "./fused.js";

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
