/**
 * The primitive ops' rules as ONE table typed `{ [P in PrimitiveOp]: Rule<P> }`, assembled from the op
 * families — elementwise.ts, reduce.ts, movement.ts, matmul.ts, indexing.ts, nn.ts — where each op's forward
 * (backend kernels, no graph recording) and backward (built from op functions, run under noGrad) sit side by
 * side. `OpAttributes` (apply.ts) names every primitive op, so an op without a rule, or a rule without its
 * derivative, fails `tsc`; the gradient checker's test runs a case for every entry of `primitiveOps`.
 * Imported by the entry points and tests only: the families import one another, never this table.
 */
import type { PrimitiveOp, Rule } from "./apply.js";
import { elementwiseRules } from "./elementwise.js";
import { indexingRules } from "./indexing.js";
import { matmulRules } from "./matmul.js";
import { movementRules } from "./movement.js";
import { nnRules } from "./nn.js";
import { reduceRules } from "./reduce.js";

export type { BackwardContext, OpAttributes, PrimitiveOp, Rule } from "./apply.js";

export const rules: { [P in PrimitiveOp]: Rule<P> } = {
  ...elementwiseRules,
  ...reduceRules,
  ...movementRules,
  ...matmulRules,
  ...indexingRules,
  ...nnRules,
};

/** The names of every primitive op, in table order. */
export const primitiveOps = Object.keys(rules) as PrimitiveOp[];
