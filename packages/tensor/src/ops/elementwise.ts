/**
 * The elementwise ops: arithmetic with NumPy broadcasting (add, sub, mul, div, pow, maximum), the unary
 * functions (neg, exp, log, sqrt, rsqrt, abs, sigmoid, silu) and `where`, each with its derivative in one
 * table typed `Rules<ElementwiseOp>`; plus the comparisons, which have no gradient (bool results). Their
 * kernels are the backends' `unary` / `binary` / `where`, whose expressions live in one table
 * (backends/elementwise-table.ts). Not here: reductions (reduce.ts), copies and casts (movement.ts).
 */
import { kernel } from "../backend.js";
import { broadcastShapes } from "../shape.js";
import { emptyTensor, type Tensor, type TensorLike } from "../tensor.js";
import {
  apply,
  type BackwardContext,
  backendOf,
  binaryRaw,
  broadcastView,
  fullLike,
  type OpAttributes,
  type Rule,
  type Rules,
  reduceToShape,
  requireFloat,
  requireSameDType,
  scalarLike,
  unaryRaw,
} from "./apply.js";
import { cast } from "./movement.js";

type UnaryFunction = "neg" | "exp" | "log" | "sqrt" | "rsqrt" | "abs" | "sigmoid" | "silu";
type BinaryArithmetic = "add" | "sub" | "mul" | "div" | "pow" | "maximum";
export type ElementwiseOp = BinaryArithmetic | UnaryFunction | "where";

function unaryRule<P extends UnaryFunction>(
  op: P,
  backward: (gradient: Tensor, context: BackwardContext<P>) => Tensor,
  save: { saveInputs: boolean; saveOutput: boolean },
): Rule<P> {
  return {
    forward: ([x]) => unaryRaw(op, x),
    backward: (gradient, context) => [backward(gradient, context)],
    ...save,
  };
}

export const elementwiseRules: Rules<ElementwiseOp> = {
  add: {
    forward: ([a, b]) => binaryRaw("add", "add", a, b),
    backward: (g, { inputShapes: [a, b], needsInputGrad: [needA, needB] }) => [
      needA ? reduceToShape(g, a) : null,
      needB ? reduceToShape(g, b) : null,
    ],
    saveInputs: false,
  },
  sub: {
    forward: ([a, b]) => binaryRaw("sub", "sub", a, b),
    backward: (g, { inputShapes: [a, b], needsInputGrad: [needA, needB] }) => [
      needA ? reduceToShape(g, a) : null,
      needB ? reduceToShape(neg(g), b) : null,
    ],
    saveInputs: false,
  },
  mul: {
    forward: ([a, b]) => binaryRaw("mul", "mul", a, b),
    backward: (g, { inputs: [a, b], needsInputGrad: [needA, needB] }) => [
      needA ? reduceToShape(mul(g, b), a.shape) : null,
      needB ? reduceToShape(mul(g, a), b.shape) : null,
    ],
  },
  div: {
    forward: ([a, b]) => binaryRaw("div", "div", a, b),
    backward: (g, { inputs: [a, b], output, needsInputGrad: [needA, needB] }) => [
      needA ? reduceToShape(div(g, b), a.shape) : null,
      needB ? reduceToShape(neg(div(mul(g, output), b)), b.shape) : null,
    ],
    saveOutput: true,
  },
  pow: {
    forward: ([a, b]) => {
      requireFloat("pow", a);
      return binaryRaw("pow", "pow", a, b);
    },
    // d/da a^b = b·a^(b−1); d/db a^b = a^b·ln a.
    backward: (g, { inputs: [a, b], output, needsInputGrad: [needA, needB] }) => [
      needA ? reduceToShape(mul(g, mul(b, pow(a, sub(b, 1)))), a.shape) : null,
      needB ? reduceToShape(mul(g, mul(output, log(a))), b.shape) : null,
    ],
    saveOutput: true,
  },
  maximum: {
    forward: ([a, b]) => binaryRaw("maximum", "maximum", a, b),
    backward: (g, { inputs: [a, b], needsInputGrad: [needA, needB] }) => {
      const aWins = binaryRaw("maximum", "greaterEqual", a, b, "bool");
      return [
        needA ? reduceToShape(where(aWins, g, 0), a.shape) : null,
        needB ? reduceToShape(where(aWins, 0, g), b.shape) : null,
      ];
    },
  },
  neg: unaryRule("neg", (g) => neg(g), { saveInputs: false, saveOutput: false }),
  exp: unaryRule("exp", (g, { output }) => mul(g, output), { saveInputs: false, saveOutput: true }),
  log: unaryRule("log", (g, { inputs: [x] }) => div(g, x), { saveInputs: true, saveOutput: false }),
  sqrt: unaryRule("sqrt", (g, { output }) => div(mul(g, 0.5), output), { saveInputs: false, saveOutput: true }),
  // d/dx x^(−1/2) = −½·x^(−3/2) = −½·y³.
  rsqrt: unaryRule("rsqrt", (g, { output }) => mul(g, mul(pow(output, 3), -0.5)), {
    saveInputs: false,
    saveOutput: true,
  }),
  // d|x|/dx = sign(x) (0 at 0).
  abs: unaryRule("abs", (g, { inputs: [x] }) => mul(g, sign(x)), { saveInputs: true, saveOutput: false }),
  // σ' = σ(1 − σ).
  sigmoid: unaryRule("sigmoid", (g, { output }) => mul(g, mul(output, sub(1, output))), {
    saveInputs: false,
    saveOutput: true,
  }),
  // silu' = σ(x)·(1 + x·(1 − σ(x))).
  silu: unaryRule(
    "silu",
    (g, { inputs: [x] }) => {
      const s = sigmoid(x);
      return mul(g, mul(s, add(1, mul(x, sub(1, s)))));
    },
    { saveInputs: true, saveOutput: false },
  ),
  where: {
    forward: ([condition, a, b]) => {
      const backend = backendOf("where", [condition, a, b]);
      requireSameDType("where", a, b);
      const shape = broadcastShapes("where", broadcastShapes("where", condition.shape, a.shape), b.shape);
      const out = emptyTensor(shape, a.dtype, backend);
      kernel(backend, "where")(
        broadcastView(condition, shape),
        broadcastView(a, shape),
        broadcastView(b, shape),
        out.storage.buffer,
      );
      return out;
    },
    backward: (g, { inputs: [condition, a, b], needsInputGrad: [, needA, needB] }) => [
      null,
      needA ? reduceToShape(where(condition, g, 0), a.shape) : null,
      needB ? reduceToShape(where(condition, 0, g), b.shape) : null,
    ],
  },
};

function run<P extends ElementwiseOp>(op: P, inputs: readonly Tensor[], attributes: OpAttributes[P]): Tensor {
  return apply(op, elementwiseRules[op], inputs, attributes);
}

/** Apply with a scalar operand turned into a temporary 0-d tensor of the other operand's dtype. */
function applyBinary(op: BinaryArithmetic, a: TensorLike, b: TensorLike): Tensor {
  if (typeof a === "number" && typeof b === "number") {
    throw new Error(`[${op}] needs at least one tensor operand, got two numbers`);
  }
  const left = typeof a === "number" ? scalarLike(a, b as Tensor) : a;
  const right = typeof b === "number" ? scalarLike(b, a as Tensor) : b;
  try {
    return run(op, [left, right], {});
  } finally {
    if (left !== a) left.dispose();
    if (right !== b) right.dispose();
  }
}

export function add(a: TensorLike, b: TensorLike): Tensor {
  return applyBinary("add", a, b);
}
export function sub(a: TensorLike, b: TensorLike): Tensor {
  return applyBinary("sub", a, b);
}
export function mul(a: TensorLike, b: TensorLike): Tensor {
  return applyBinary("mul", a, b);
}
export function div(a: TensorLike, b: TensorLike): Tensor {
  return applyBinary("div", a, b);
}
/** a ** b, elementwise. */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  return applyBinary("pow", a, b);
}
/** Elementwise maximum; on ties the gradient goes to `a`. */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return applyBinary("maximum", a, b);
}
export function neg(x: Tensor): Tensor {
  return run("neg", [x], {});
}
export function exp(x: Tensor): Tensor {
  return run("exp", [x], {});
}
export function log(x: Tensor): Tensor {
  return run("log", [x], {});
}
export function sqrt(x: Tensor): Tensor {
  return run("sqrt", [x], {});
}
export function rsqrt(x: Tensor): Tensor {
  return run("rsqrt", [x], {});
}
export function abs(x: Tensor): Tensor {
  return run("abs", [x], {});
}
export function sigmoid(x: Tensor): Tensor {
  return run("sigmoid", [x], {});
}
/** x · sigmoid(x) (a.k.a. swish). */
export function silu(x: Tensor): Tensor {
  return run("silu", [x], {});
}

/** condition ? a : b, broadcasting all three; condition is bool or numeric (nonzero = true). */
export function where(condition: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const like = typeof a === "number" ? (typeof b === "number" ? null : b) : a;
  if (!like) throw new Error("[where] needs at least one tensor among a and b, got two numbers");
  const left = typeof a === "number" ? scalarLike(a, like) : a;
  const right = typeof b === "number" ? scalarLike(b, like) : b;
  try {
    return run("where", [condition, left, right], {});
  } finally {
    if (left !== a) left.dispose();
    if (right !== b) right.dispose();
  }
}

/** −1, 0 or 1 elementwise, in x's dtype. */
function sign(x: Tensor): Tensor {
  const zero = fullLike(x, [], 0);
  const positive = cast(binaryRaw("sign", "greater", x, zero, "bool"), x.dtype);
  const negative = cast(binaryRaw("sign", "less", x, zero, "bool"), x.dtype);
  const result = sub(positive, negative);
  for (const temporary of [zero, positive, negative]) temporary.dispose();
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Comparisons: bool results, no gradient

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
