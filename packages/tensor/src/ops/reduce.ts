/**
 * The reductions: sum and max over any axes (all by default), optionally keeping them as size-1 axes, with
 * their derivatives in one table typed `Rules<ReduceOp>`. Their kernel is the backends' `reduce`. Not here:
 * mean (compound.ts, a sum divided by a count), argmax (non-differentiable.ts).
 */
import { normalizeAxes } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { apply, binaryRaw, keepdimShape, type OpAttributes, type Rules, reduceRaw } from "./apply.js";
import { div, mul } from "./elementwise.js";
import { cast, expand, reshape } from "./movement.js";

export type ReduceOp = "sum" | "max";

export const reduceRules: Rules<ReduceOp> = {
  sum: {
    forward: ([x], attributes) => reduceRaw("sum", x, attributes),
    backward: (g, { inputShapes: [shape], attributes: { axes } }) => [
      expand(reshape(g, keepdimShape(shape, axes)), shape),
    ],
    saveInputs: false,
  },
  max: {
    forward: ([x], attributes) => reduceRaw("max", x, attributes),
    // The gradient is shared equally among the positions that attain the maximum.
    backward: (g, { inputs: [x], output, attributes: { axes } }) => {
      const keep = keepdimShape(x.shape, axes);
      const hits = cast(binaryRaw("max", "equal", x, reshape(output, keep), "bool"), x.dtype);
      const count = sum(hits, axes, true);
      return [mul(hits, div(reshape(g, keep), count))];
    },
    saveOutput: true,
  },
};

function run<P extends ReduceOp>(op: P, inputs: readonly Tensor[], attributes: OpAttributes[P]): Tensor {
  return apply(op, reduceRules[op], inputs, attributes);
}

export function sum(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  return run("sum", [x], { axes: normalizeAxes("sum", axes, x.rank), keepdim });
}

export function max(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  return run("max", [x], { axes: normalizeAxes("max", axes, x.rank), keepdim });
}
