/**
 * Compound ops: built only from primitives, so they need no backward of their own (autograd differentiates
 * through their parts). Intermediates are released by a scope around each op.
 * Not here: anything with its own kernel (the op families of primitives.ts) or without a gradient
 * (non-differentiable.ts).
 */
import { uniform } from "../creation.js";
import { scope } from "../memory.js";
import { normalizeAxes, normalizeAxis, shapeSize } from "../shape.js";
import type { Tensor, TensorLike } from "../tensor.js";
import { add, div, greaterEqual, maximum, mul, neg, sigmoid, sub } from "./elementwise.js";
import { matmul } from "./matmul.js";
import { cast, permute, reshape } from "./movement.js";
import { logSoftmaxLastAxis, softmaxLastAxis } from "./nn.js";
import { sum } from "./reduce.js";

/** Mean over axes (all by default). */
export function mean(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  if (x.dtype !== "float32" && x.dtype !== "float64") {
    throw new Error(`[mean] expects a float32 or float64 tensor, got ${x.dtype}; cast it first`);
  }
  const resolved = normalizeAxes("mean", axes, x.rank);
  const count = shapeSize(resolved.map((axis) => x.shape[axis]));
  return scope(() => div(sum(x, resolved, keepdim), count));
}

/** Elementwise minimum, as −max(−a, −b) (ties send the gradient to `a`). */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return scope(() => neg(maximum(typeof a === "number" ? -a : neg(a), typeof b === "number" ? -b : neg(b))));
}

export function square(x: Tensor): Tensor {
  return mul(x, x);
}

export function relu(x: Tensor): Tensor {
  return maximum(x, 0);
}

/** tanh(x) = 2·σ(2x) − 1. */
export function tanh(x: Tensor): Tensor {
  return scope(() => sub(mul(sigmoid(mul(x, 2)), 2), 1));
}

/** Swap two axes (a view). */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  const first = normalizeAxis("transpose", axis0, x.rank);
  const second = normalizeAxis("transpose", axis1, x.rank);
  const axes = x.shape.map((_, axis) => axis);
  axes[first] = second;
  axes[second] = first;
  return permute(x, axes);
}

/** Remove a size-1 axis (or every size-1 axis). */
export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined)
    return reshape(
      x,
      x.shape.filter((dimension) => dimension !== 1),
    );
  const resolved = normalizeAxis("squeeze", axis, x.rank);
  if (x.shape[resolved] !== 1)
    throw new Error(`[squeeze] axis ${axis} of shape [${x.shape.join(",")}] has size ${x.shape[resolved]}, not 1`);
  return reshape(
    x,
    x.shape.filter((_, index) => index !== resolved),
  );
}

/** Insert a size-1 axis at `axis` (−1 appends). */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const resolved = normalizeAxis("unsqueeze", axis, x.rank + 1);
  const shape = [...x.shape];
  shape.splice(resolved, 0, 1);
  return reshape(x, shape);
}

export function flatten(x: Tensor): Tensor {
  return reshape(x, [x.size]);
}

function alongLastAxis(x: Tensor, axis: number, op: (x: Tensor) => Tensor, name: string): Tensor {
  const resolved = normalizeAxis(name, axis, x.rank);
  if (resolved === x.rank - 1) return op(x);
  return scope(() => transpose(op(transpose(x, resolved, -1)), resolved, -1));
}

/** Softmax along an axis (default last; other axes go through a transposed view). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return alongLastAxis(x, axis, softmaxLastAxis, "softmax");
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return alongLastAxis(x, axis, logSoftmaxLastAxis, "logSoftmax");
}

export interface DropoutOptions {
  /** Apply dropout (true) or return x unchanged (false, e.g. at evaluation). Default true. */
  training?: boolean;
  /** Seed for the mask; default: the global generator. */
  seed?: number;
}

/** Zero each element with probability p and scale the rest by 1/(1−p) (inverted dropout). */
export function dropout(x: Tensor, probability: number, options: DropoutOptions = {}): Tensor {
  if (!(probability >= 0 && probability < 1)) throw new Error(`[dropout] probability ${probability} must be in [0, 1)`);
  if (options.training === false || probability === 0) return mul(x, 1);
  return scope(() => {
    const draws = uniform(x.shape, { dtype: x.dtype, ...(options.seed === undefined ? {} : { seed: options.seed }) });
    const mask = cast(greaterEqual(draws, probability), x.dtype);
    return mul(x, mul(mask, 1 / (1 - probability)));
  });
}

/** x · wᵀ (+ b): a linear layer with weight [out, in] as stored by PyTorch; wᵀ is a view, not a copy. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return scope(() => {
    const product = matmulTransposed(x, weight);
    return bias ? add(product, bias) : product;
  });
}

function matmulTransposed(x: Tensor, weight: Tensor): Tensor {
  return matmul(x, transpose(weight));
}
