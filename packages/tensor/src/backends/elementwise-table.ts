/**
 * The elementwise ops as one table of expressions: their lowering as data (jax-js's `jitRules`). A unary op
 * is a statement that sets `v` from the operand `x`; a binary op a statement that sets `v` (preset to 0) from
 * `a` and `b` — comparisons set 1 where they hold. Statements are in the JavaScript subset gpu.js transpiles
 * to GLSL, WGSL and WebAssembly (Math functions, arithmetic, comparisons, `if`).
 *
 * Both backends are driven by this table: the gpu.js backend builds its kernels from the rows at run time
 * (gpujs/sources.ts); the CPU backend's loops are generated from them ahead of time into
 * cpu/elementwise-loops.generated.ts (`pnpm --filter @minimind/tensor generate`; a test fails while that
 * file is stale), so the CPU backend runs one tight loop per op and needs no `eval`. A new elementwise op is
 * one row here plus its name in `UnaryOp` / `BinaryOp` (backend.ts).
 * Not here: `where`, copy/cast and the reductions (one kernel each, not a family of expressions).
 */
import type { BinaryOp, UnaryOp } from "../backend.js";

export interface ElementwiseRow {
  /** Statements that set `v`: the op's definition, with JavaScript's semantics (the CPU backend runs it as is). */
  readonly statement: string;
  /**
   * The op for gpu.js where a target lacks a function's JavaScript meaning (GLSL's pow is undefined for a
   * negative base and for 0^0); absent where `statement` serves every target.
   */
  readonly gpujs?: string;
}

export const unaryTable: Readonly<Record<UnaryOp, ElementwiseRow>> = {
  neg: { statement: "v = -x;" },
  exp: { statement: "v = Math.exp(x);" },
  log: { statement: "v = Math.log(x);" },
  sqrt: { statement: "v = Math.sqrt(x);" },
  rsqrt: { statement: "v = 1 / Math.sqrt(x);" },
  sigmoid: { statement: "v = 1 / (1 + Math.exp(-x));" },
  silu: { statement: "v = x / (1 + Math.exp(-x));" },
  abs: { statement: "v = Math.abs(x);" },
};

export const binaryTable: Readonly<Record<BinaryOp, ElementwiseRow>> = {
  add: { statement: "v = a + b;" },
  sub: { statement: "v = a - b;" },
  mul: { statement: "v = a * b;" },
  div: { statement: "v = a / b;" },
  pow: {
    statement: "v = a ** b;",
    // Math.pow's results where GLSL's pow is undefined: 0^0 = 1, 0^negative = ±∞, negative bases.
    gpujs: `if (b === 0) {
  v = 1;
} else if (a === 0) {
  if (b > 0) { v = 0; } else { v = 1 / a; }
} else if (a < 0) {
  const magnitude = Math.pow(-a, b);
  const half = Math.floor(b / 2);
  if (b - half * 2 === 1) { v = -magnitude; } else { v = magnitude; }
} else {
  v = Math.pow(a, b);
}`,
  },
  maximum: { statement: "v = Math.max(a, b);" },
  equal: { statement: "if (a === b) { v = 1; }" },
  notEqual: { statement: "if (a !== b) { v = 1; }" },
  greater: { statement: "if (a > b) { v = 1; }" },
  greaterEqual: { statement: "if (a >= b) { v = 1; }" },
  less: { statement: "if (a < b) { v = 1; }" },
  lessEqual: { statement: "if (a <= b) { v = 1; }" },
};
