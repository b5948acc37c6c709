/**
 * The primitive ops: each one's forward (backend kernels, no graph recording) and backward (built from
 * these same op functions, run under noGrad) side by side in ONE table typed `{ [P in PrimitiveOp]: Rule<P> }`,
 * so adding an op without its derivative fails `tsc`. `apply` runs a rule and records the autograd node.
 * The fused ops (softmax, log-softmax, rmsnorm, rope, cross-entropy) are primitives here too, with backward
 * rules of their own: both directions call fused kernels through `fusedOp` (fused.ts), which runs the
 * kernel's composition from simpler primitives (composed.ts) on a backend without it; tests hold the two
 * equal. Not here: compound ops (compound.ts), non-differentiable ops (non-differentiable.ts).
 */
import { type BinaryOp, type BufferView, kernel, type UnaryOp } from "../backend.js";
import { type DType, isFloatDType } from "../dtype.js";
import {
  assertValidShape,
  broadcastShapes,
  broadcastStrides,
  contiguousStrides,
  formatShape,
  normalizeAxes,
  normalizeAxis,
  shapeSize,
  shapesEqual,
} from "../shape.js";
import {
  denseBufferView,
  emptyTensor,
  GradNode,
  isGradEnabled,
  type Tensor,
  type TensorLike,
  viewOf,
} from "../tensor.js";
import { fusedOp } from "./fused.js";

type NoAttributes = Record<string, never>;

/** Per-op attributes, which also define the set of primitive ops. */
export interface OpAttributes {
  add: NoAttributes;
  sub: NoAttributes;
  mul: NoAttributes;
  div: NoAttributes;
  pow: NoAttributes;
  maximum: NoAttributes;
  neg: NoAttributes;
  exp: NoAttributes;
  log: NoAttributes;
  sqrt: NoAttributes;
  rsqrt: NoAttributes;
  abs: NoAttributes;
  sigmoid: NoAttributes;
  silu: NoAttributes;
  where: NoAttributes;
  sum: { axes: number[]; keepdim: boolean };
  max: { axes: number[]; keepdim: boolean };
  matmul: NoAttributes;
  reshape: { shape: number[] };
  permute: { axes: number[] };
  expand: { shape: number[] };
  slice: { starts: number[]; ends: number[] };
  concat: { axis: number };
  contiguous: NoAttributes;
  cast: { dtype: DType };
  gatherRows: NoAttributes;
  indexAddRows: NoAttributes;
  takeAlongLastAxis: NoAttributes;
  softmax: NoAttributes;
  logSoftmax: NoAttributes;
  rmsnorm: { epsilon: number };
  rope: { rowsPerPosition: number };
  crossEntropy: { ignoreIndex: number };
}

export type PrimitiveOp = keyof OpAttributes;

export interface BackwardContext<P extends PrimitiveOp> {
  /** Saved inputs (empty when the rule sets `saveInputs: false`). */
  inputs: readonly Tensor[];
  /** Saved output (only when the rule sets `saveOutput: true`). */
  output: Tensor;
  inputShapes: readonly (readonly number[])[];
  inputDTypes: readonly DType[];
  needsInputGrad: readonly boolean[];
  attributes: OpAttributes[P];
}

export interface Rule<P extends PrimitiveOp> {
  /** Compute the output with kernels; never records a graph. */
  forward(inputs: readonly Tensor[], attributes: OpAttributes[P]): Tensor;
  /** One gradient per input (null where none flows), from the gradient of the output. Runs under noGrad. */
  backward(gradOutput: Tensor, context: BackwardContext<P>): (Tensor | null)[];
  /** Whether backward reads the inputs' values (default true). Shapes are always available. */
  saveInputs?: boolean;
  /** Whether backward reads the output (default false). */
  saveOutput?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Kernel helpers (no autograd)

function backendOf(op: string, tensors: readonly Tensor[]) {
  const backend = tensors[0].backend;
  for (const tensor of tensors) {
    tensor.view(op);
    if (tensor.backend !== backend) {
      const where =
        backend.name === tensor.backend.name
          ? `two instances of backend "${backend.name}" (setBackend with options creates a new one)`
          : `backends "${backend.name}" and "${tensor.backend.name}"`;
      throw new Error(`[${op}] inputs live on ${where}; move them to one backend`);
    }
  }
  return backend;
}

function broadcastView(tensor: Tensor, shape: readonly number[]): BufferView {
  return {
    buffer: tensor.storage.buffer,
    shape,
    strides: broadcastStrides(tensor.shape, tensor.strides, shape),
    offset: tensor.offset,
  };
}

function requireFloat(op: string, tensor: Tensor): void {
  if (!isFloatDType(tensor.dtype)) {
    throw new Error(
      `[${op}] expects a float32 or float64 tensor, got ${tensor.dtype} of shape ${formatShape(tensor.shape)}; cast it first`,
    );
  }
}

function requireSameDType(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) {
    throw new Error(
      `[${op}] dtypes ${a.dtype} and ${b.dtype} of shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} differ; cast one first`,
    );
  }
}

function requireIndices(op: string, indices: Tensor): void {
  if (indices.dtype !== "int32") {
    throw new Error(`[${op}] indices must be int32, got ${indices.dtype} of shape ${formatShape(indices.shape)}`);
  }
}

/** Elementwise binary kernel with broadcasting; `outDType` defaults to the inputs' dtype. */
export function binaryRaw(op: string, kernelOp: BinaryOp, a: Tensor, b: Tensor, outDType?: DType): Tensor {
  const backend = backendOf(op, [a, b]);
  requireSameDType(op, a, b);
  if (a.dtype === "bool" && outDType === undefined) {
    throw new Error(
      `[${op}] arithmetic on bool tensors of shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}; cast them first`,
    );
  }
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = emptyTensor(shape, outDType ?? a.dtype, backend);
  kernel(backend, "binary")(kernelOp, broadcastView(a, shape), broadcastView(b, shape), out.storage.buffer);
  return out;
}

function unaryRaw(op: UnaryOp, x: Tensor): Tensor {
  const backend = backendOf(op, [x]);
  requireFloat(op, x);
  const out = emptyTensor(x.shape, x.dtype, backend);
  kernel(backend, "unary")(op, x.view(op), out.storage.buffer);
  return out;
}

/** A contiguous copy of x (converted to `dtype`). */
export function copyRaw(x: Tensor, dtype: DType = x.dtype): Tensor {
  const backend = backendOf("copy", [x]);
  const out = emptyTensor(x.shape, dtype, backend);
  kernel(backend, "copy")(x.view("copy"), denseBufferView(out.storage.buffer, out.shape));
  return out;
}

/** A tensor of `shape` filled with `value`, on x's backend. */
export function fullLike(x: Tensor, shape: readonly number[], value: number, dtype: DType = x.dtype): Tensor {
  const out = emptyTensor(shape, dtype, x.backend, value === 0);
  if (value !== 0) kernel(x.backend, "fill")(out.storage.buffer, value);
  return out;
}

/** x contiguous: itself as a new view, else a copy. */
function contiguousRaw(x: Tensor): Tensor {
  return x.isContiguous ? viewOf(x, x.shape, contiguousStrides(x.shape), x.offset) : copyRaw(x);
}

function scalarLike(value: number, like: Tensor): Tensor {
  return fullLike(like, [], value);
}

function lastAxisWidth(x: Tensor): number {
  return x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1];
}

// ---------------------------------------------------------------------------------------------------------
// apply: run a rule and record its node

export function apply<P extends PrimitiveOp>(op: P, inputs: readonly Tensor[], attributes: OpAttributes[P]): Tensor {
  const rule = rules[op] as unknown as Rule<P>;
  const output = rule.forward(inputs, attributes);
  if (!isGradEnabled() || !inputs.some((input) => input.requiresGrad)) return output;
  const saveInputs = rule.saveInputs !== false;
  const saveOutput = rule.saveOutput === true;
  const saved: Tensor[] = [];
  if (saveInputs) for (const input of inputs) saved.push(input.alias());
  if (saveOutput) saved.push(output.alias());
  const inputShapes = inputs.map((input) => input.shape);
  const inputDTypes = inputs.map((input) => input.dtype);
  const needsInputGrad = inputs.map((input) => input.requiresGrad);
  const count = inputs.length;
  output.requiresGrad = true;
  output.node = new GradNode(op, inputs, saved, (gradOutput, savedTensors) =>
    rule.backward(gradOutput, {
      inputs: saveInputs ? savedTensors.slice(0, count) : [],
      output: saveOutput ? savedTensors[savedTensors.length - 1] : (undefined as unknown as Tensor),
      inputShapes,
      inputDTypes,
      needsInputGrad,
      attributes,
    }),
  );
  return output;
}

/** Apply with a scalar operand turned into a temporary 0-d tensor of the other operand's dtype. */
function applyBinary(op: "add" | "sub" | "mul" | "div" | "pow" | "maximum", a: TensorLike, b: TensorLike): Tensor {
  if (typeof a === "number" && typeof b === "number") {
    throw new Error(`[${op}] needs at least one tensor operand, got two numbers`);
  }
  const left = typeof a === "number" ? scalarLike(a, b as Tensor) : a;
  const right = typeof b === "number" ? scalarLike(b, a as Tensor) : b;
  try {
    return apply(op, [left, right], {});
  } finally {
    if (left !== a) left.dispose();
    if (right !== b) right.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Public primitive functions

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
  return apply("neg", [x], {});
}
export function exp(x: Tensor): Tensor {
  return apply("exp", [x], {});
}
export function log(x: Tensor): Tensor {
  return apply("log", [x], {});
}
export function sqrt(x: Tensor): Tensor {
  return apply("sqrt", [x], {});
}
export function rsqrt(x: Tensor): Tensor {
  return apply("rsqrt", [x], {});
}
export function abs(x: Tensor): Tensor {
  return apply("abs", [x], {});
}
export function sigmoid(x: Tensor): Tensor {
  return apply("sigmoid", [x], {});
}
/** x · sigmoid(x) (a.k.a. swish). */
export function silu(x: Tensor): Tensor {
  return apply("silu", [x], {});
}

/** condition ? a : b, broadcasting all three; condition is bool or numeric (nonzero = true). */
export function where(condition: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const like = typeof a === "number" ? (typeof b === "number" ? null : b) : a;
  if (!like) throw new Error("[where] needs at least one tensor among a and b, got two numbers");
  const left = typeof a === "number" ? scalarLike(a, like) : a;
  const right = typeof b === "number" ? scalarLike(b, like) : b;
  try {
    return apply("where", [condition, left, right], {});
  } finally {
    if (left !== a) left.dispose();
    if (right !== b) right.dispose();
  }
}

export function sum(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  return apply("sum", [x], { axes: normalizeAxes("sum", axes, x.rank), keepdim });
}
export function max(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  return apply("max", [x], { axes: normalizeAxes("max", axes, x.rank), keepdim });
}

/**
 * Batched matrix product: a [..., m, k] · b [..., k, n] → [..., m, n]; batch dims broadcast. Transposed
 * views (`b.transpose()`) are read in place, without a copy.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return apply("matmul", [a, b], {});
}

/** A view with a new shape (one dimension may be -1); copies only when x is not contiguous. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return apply("reshape", [x], { shape: resolveReshape(x, shape) });
}
export function permute(x: Tensor, axes: readonly number[]): Tensor {
  const rank = x.rank;
  const normalized = axes.map((axis) => normalizeAxis("permute", axis, rank));
  if (normalized.length !== rank || new Set(normalized).size !== rank) {
    throw new Error(
      `[permute] axes [${axes.join(",")}] are not a permutation of the ${rank} axes of shape ${formatShape(x.shape)}`,
    );
  }
  return apply("permute", [x], { axes: normalized });
}
/** A broadcast view (no copy) of x at a larger shape. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  broadcastTarget("expand", x.shape, shape);
  return apply("expand", [x], { shape: [...shape] });
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
  return apply("slice", [x], { starts: resolvedStarts, ends: resolvedEnds });
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
  return apply("concat", tensors, { axis: resolved });
}
/** x with contiguous row-major layout (x itself as a view when it already is). */
export function contiguous(x: Tensor): Tensor {
  return apply("contiguous", [x], {});
}
/** Convert to another dtype (float → int truncates toward zero; → bool is "nonzero"). */
export function cast(x: Tensor, dtype: DType): Tensor {
  return apply("cast", [x], { dtype });
}
/** Rows of a [rows, width] table picked by int32 indices of any shape → [...indices.shape, width]. */
export function gatherRows(table: Tensor, indices: Tensor): Tensor {
  return apply("gatherRows", [table, indices], {});
}
/** Embedding lookup: `gatherRows(weight, ids)`; its backward scatter-adds into the table's gradient. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  return gatherRows(weight, ids);
}
/** base [rows, width] with source rows added at int32 indices: out[indices[i]] += source[i] (repeats add up). */
export function indexAddRows(base: Tensor, indices: Tensor, source: Tensor): Tensor {
  return apply("indexAddRows", [base, indices, source], {});
}
/** out[..., j] = x[..., indices[..., j]] along the last axis (torch.gather(x, -1, indices)). */
export function takeAlongLastAxis(x: Tensor, indices: Tensor): Tensor {
  return apply("takeAlongLastAxis", [x, indices], {});
}
export function softmaxLastAxis(x: Tensor): Tensor {
  return apply("softmax", [x], {});
}
export function logSoftmaxLastAxis(x: Tensor): Tensor {
  return apply("logSoftmax", [x], {});
}
/** RMSNorm over the last axis: x / sqrt(mean(x²) + epsilon) · weight. */
export function rmsnorm(x: Tensor, weight: Tensor, epsilon = 1e-6): Tensor {
  return apply("rmsnorm", [x, weight], { epsilon });
}

export interface RopeOptions {
  /** The axis of x that indexes positions (default -2, as in [batch, heads, positions, headDim]). */
  sequenceAxis?: number;
}

/**
 * Rotary position embedding, rotate-half convention (Qwen3 / MiniMind): with x1, x2 the two halves of the
 * last axis, out = [x1·cos − x2·sin, x2·cos + x1·sin]. cos and sin are [positions, headDim/2] tables whose
 * rows match x's sequence axis (slice them for an offset, e.g. decoding with a KV cache). Gradients flow to
 * x only: the tables are constants.
 */
export function rope(x: Tensor, cos: Tensor, sin: Tensor, options: RopeOptions = {}): Tensor {
  const axis = normalizeAxis("rope", options.sequenceAxis ?? -2, x.rank);
  const width = lastAxisWidth(x);
  if (axis === x.rank - 1 || width % 2 !== 0) {
    throw new Error(`[rope] x of shape ${formatShape(x.shape)} needs an even last axis and a sequence axis before it`);
  }
  const expected = [x.shape[axis], width / 2];
  for (const [name, table] of [
    ["cos", cos],
    ["sin", sin],
  ] as const) {
    if (!shapesEqual(table.shape, expected)) {
      throw new Error(
        `[rope] shapes ${formatShape(x.shape)} and ${formatShape(table.shape)} (${name}) are incompatible: expected ${name} ${formatShape(expected)}`,
      );
    }
    requireSameDType("rope", x, table);
  }
  const rowsPerPosition = shapeSize(x.shape.slice(axis + 1, -1));
  return apply("rope", [x, cos, sin], { rowsPerPosition });
}

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (default -100, as in PyTorch and MiniMind). */
  ignoreIndex?: number;
}

/**
 * Mean cross-entropy of logits [..., classes] against int32 targets [...], over the targets that are not
 * `ignoreIndex` (0 when every target is ignored). Fused: log-softmax is never materialised.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  requireFloat("crossEntropy", logits);
  requireIndices("crossEntropy", targets);
  if (!shapesEqual(logits.shape.slice(0, -1), targets.shape)) {
    throw new Error(
      `[crossEntropy] shapes ${formatShape(logits.shape)} and ${formatShape(targets.shape)} are incompatible: targets must be the logits' shape without the last axis`,
    );
  }
  return apply("crossEntropy", [logits, targets], { ignoreIndex: options.ignoreIndex ?? -100 });
}

// ---------------------------------------------------------------------------------------------------------
// Shape helpers for the rules

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

/** Sum a gradient of a broadcast result back to an operand's shape. */
export function reduceToShape(gradient: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(gradient.shape, shape)) return gradient;
  const shift = gradient.rank - shape.length;
  const axes: number[] = [];
  for (let axis = 0; axis < gradient.rank; axis++) {
    if (axis < shift || (shape[axis - shift] === 1 && gradient.shape[axis] !== 1)) axes.push(axis);
  }
  const summed = axes.length > 0 ? sum(gradient, axes, true) : gradient;
  return reshape(summed, shape);
}

function keepdimShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((dimension, axis) => (axes.includes(axis) ? 1 : dimension));
}

function reduceRaw(op: "sum" | "max", x: Tensor, attributes: { axes: number[]; keepdim: boolean }): Tensor {
  const backend = backendOf(op, [x]);
  if (x.dtype === "bool")
    throw new Error(`[${op}] cannot reduce a bool tensor of shape ${formatShape(x.shape)}; cast it first`);
  const kept = x.shape.filter((_, axis) => !attributes.axes.includes(axis));
  if (op === "max") {
    for (const axis of attributes.axes) {
      if (x.shape[axis] === 0) throw new Error(`[max] axis ${axis} of shape ${formatShape(x.shape)} is empty`);
    }
  }
  const out = emptyTensor(kept, x.dtype, backend);
  kernel(backend, "reduce")(op, x.view(op), attributes.axes, out.storage.buffer);
  if (!attributes.keepdim) return out;
  const shaped = viewOf(
    out,
    keepdimShape(x.shape, attributes.axes),
    contiguousStrides(keepdimShape(x.shape, attributes.axes)),
    0,
  );
  out.dispose();
  return shaped;
}

function matmulShapes(a: Tensor, b: Tensor): { batch: number[]; m: number; n: number; k: number } {
  if (a.rank < 2 || b.rank < 2) {
    throw new Error(
      `[matmul] shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} are incompatible: both operands need rank ≥ 2 (unsqueeze vectors)`,
    );
  }
  const m = a.shape[a.rank - 2];
  const k = a.shape[a.rank - 1];
  const kB = b.shape[b.rank - 2];
  const n = b.shape[b.rank - 1];
  if (k !== kB) {
    throw new Error(
      `[matmul] shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} are incompatible: inner dimensions ${k} and ${kB} differ`,
    );
  }
  let batch: number[];
  try {
    batch = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    throw new Error(
      `[matmul] shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} are incompatible: batch dimensions ${formatShape(a.shape.slice(0, -2))} and ${formatShape(b.shape.slice(0, -2))} do not broadcast`,
    );
  }
  return { batch, m, n, k };
}

function matmulRaw(a: Tensor, b: Tensor): Tensor {
  const backend = backendOf("matmul", [a, b]);
  requireFloat("matmul", a);
  requireSameDType("matmul", a, b);
  const { batch, m, n, k } = matmulShapes(a, b);
  // [..., m, k] · [k, n] with a contiguous: one large product of [(… · m), k] · [k, n].
  if (b.rank === 2 && a.rank > 2 && a.isContiguous) {
    const rows = a.size / k;
    const out = emptyTensor([...batch, m, n], a.dtype, backend);
    const flatA: BufferView = { buffer: a.storage.buffer, shape: [rows, k], strides: [k, 1], offset: a.offset };
    kernel(backend, "matmul")(flatA, b.view("matmul"), out.storage.buffer);
    return out;
  }
  const out = emptyTensor([...batch, m, n], a.dtype, backend);
  kernel(backend, "matmul")(a.view("matmul"), b.view("matmul"), out.storage.buffer);
  return out;
}

function transposeLast(x: Tensor): Tensor {
  const axes = x.shape.map((_, axis) => axis);
  axes[x.rank - 2] = x.rank - 1;
  axes[x.rank - 1] = x.rank - 2;
  return permute(x, axes);
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

/** −1, 0 or 1 elementwise, in x's dtype. */
function sign(x: Tensor): Tensor {
  const zero = fullLike(x, [], 0);
  const positive = cast(binaryRaw("sign", "greater", x, zero, "bool"), x.dtype);
  const negative = cast(binaryRaw("sign", "less", x, zero, "bool"), x.dtype);
  const result = sub(positive, negative);
  for (const temporary of [zero, positive, negative]) temporary.dispose();
  return result;
}

function unaryRule<P extends "neg" | "exp" | "log" | "sqrt" | "rsqrt" | "abs" | "sigmoid" | "silu">(
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

// ---------------------------------------------------------------------------------------------------------
// The table

export const rules: { [P in PrimitiveOp]: Rule<P> } = {
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
  abs: unaryRule(
    "abs",
    // d|x|/dx = sign(x) (0 at 0).
    (g, { inputs: [x] }) => mul(g, sign(x)),
    {
      saveInputs: true,
      saveOutput: false,
    },
  ),
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
  matmul: {
    forward: ([a, b]) => matmulRaw(a, b),
    backward: (g, { inputs: [a, b], needsInputGrad: [needA, needB] }) => {
      let gradB: Tensor | null = null;
      if (needB) {
        if (b.rank === 2 && a.rank > 2) {
          const k = a.shape[a.rank - 1];
          const n = b.shape[1];
          gradB = matmul(transposeLast(reshape(a, [-1, k])), reshape(g, [-1, n]));
        } else {
          gradB = reduceToShape(matmul(transposeLast(a), g), b.shape);
        }
      }
      return [needA ? reduceToShape(matmul(g, transposeLast(b)), a.shape) : null, gradB];
    },
  },
  reshape: {
    forward: ([x], { shape }) => {
      const source = contiguousRaw(x);
      const out = viewOf(source, shape, contiguousStrides(shape), source.offset);
      source.dispose();
      return out;
    },
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
  gatherRows: {
    forward: ([table, indices]) => {
      const backend = backendOf("gatherRows", [table, indices]);
      requireIndices("gatherRows", indices);
      if (table.rank !== 2) {
        throw new Error(
          `[gatherRows] shapes ${formatShape(table.shape)} and ${formatShape(indices.shape)}: the table must be [rows, width]`,
        );
      }
      const out = emptyTensor([...indices.shape, table.shape[1]], table.dtype, backend);
      kernel(backend, "gatherRows")(table.view("gatherRows"), indices.view("gatherRows"), out.storage.buffer);
      return out;
    },
    // Scatter-add straight into a zeroed gradient (indexAddRows would first copy the zeros).
    backward: (g, { inputs: [table, indices] }) => {
      const gradTable = fullLike(g, table.shape, 0);
      const source = contiguousRaw(g);
      kernel(g.backend, "indexAddRows")(gradTable.storage.buffer, indices.view(), source.view());
      source.dispose();
      return [gradTable, null];
    },
  },
  indexAddRows: {
    forward: ([base, indices, source]) => {
      const backend = backendOf("indexAddRows", [base, indices, source]);
      requireIndices("indexAddRows", indices);
      requireSameDType("indexAddRows", base, source);
      const expectedSource = [...indices.shape, base.shape[1]];
      if (base.rank !== 2 || !shapesEqual(source.shape, expectedSource)) {
        throw new Error(
          `[indexAddRows] shapes ${formatShape(base.shape)} and ${formatShape(source.shape)} are incompatible: expected base [rows, width] and source ${formatShape(expectedSource)}`,
        );
      }
      const out = copyRaw(base);
      kernel(backend, "indexAddRows")(out.storage.buffer, indices.view("indexAddRows"), source.view("indexAddRows"));
      return out;
    },
    backward: (g, { inputs: [, indices], needsInputGrad: [needBase, , needSource] }) => [
      needBase ? g : null,
      null,
      needSource ? gatherRows(g, indices) : null,
    ],
  },
  takeAlongLastAxis: {
    forward: ([x, indices]) => {
      const backend = backendOf("takeAlongLastAxis", [x, indices]);
      requireIndices("takeAlongLastAxis", indices);
      if (x.rank === 0 || indices.rank !== x.rank || !shapesEqual(x.shape.slice(0, -1), indices.shape.slice(0, -1))) {
        throw new Error(
          `[takeAlongLastAxis] shapes ${formatShape(x.shape)} and ${formatShape(indices.shape)} are incompatible: they must agree on every axis but the last`,
        );
      }
      const out = emptyTensor(indices.shape, x.dtype, backend);
      kernel(backend, "takeAlongLastAxis")(
        x.view("takeAlongLastAxis"),
        indices.view("takeAlongLastAxis"),
        out.storage.buffer,
      );
      return out;
    },
    backward: (g, { inputs: [x, indices] }) => {
      const out = fullLike(g, x.shape, 0);
      const source = contiguousRaw(g);
      kernel(out.backend, "scatterAddAlongLastAxis")(
        out.storage.buffer,
        indices.view("takeAlongLastAxis"),
        source.view(),
      );
      source.dispose();
      return [out, null];
    },
  },
  softmax: {
    forward: ([x]) => softmaxRaw(x, false),
    backward: (g, { output }) => [softmaxBackwardRaw(output, g, false)],
    saveInputs: false,
    saveOutput: true,
  },
  logSoftmax: {
    forward: ([x]) => softmaxRaw(x, true),
    backward: (g, { output }) => [softmaxBackwardRaw(output, g, true)],
    saveInputs: false,
    saveOutput: true,
  },
  rmsnorm: {
    forward: ([x, weight], { epsilon }) => {
      const backend = backendOf("rmsnorm", [x, weight]);
      requireFloat("rmsnorm", x);
      requireSameDType("rmsnorm", x, weight);
      if (weight.rank !== 1 || weight.shape[0] !== lastAxisWidth(x)) {
        throw new Error(
          `[rmsnorm] shapes ${formatShape(x.shape)} and ${formatShape(weight.shape)} are incompatible: weight must be [${lastAxisWidth(x)}]`,
        );
      }
      return fusedOp(backend, "rmsnorm")(x, weight, epsilon);
    },
    backward: (g, { inputs: [x, weight], attributes: { epsilon } }) =>
      fusedOp(x.backend, "rmsnormBackward")(x, weight, g, epsilon),
  },
  rope: {
    forward: ([x, cos, sin], { rowsPerPosition }) => ropeRaw(x, cos, sin, rowsPerPosition, false),
    // The rotation is orthogonal: its transpose is the rotation by −θ.
    backward: (g, { inputs: [, cos, sin], attributes: { rowsPerPosition } }) => [
      ropeRaw(g, cos, sin, rowsPerPosition, true),
      null,
      null,
    ],
  },
  crossEntropy: {
    forward: ([logits, targets], { ignoreIndex }) =>
      fusedOp(backendOf("crossEntropy", [logits, targets]), "crossEntropy")(logits, targets, ignoreIndex),
    backward: (g, { inputs: [logits, targets], attributes: { ignoreIndex } }) => [
      fusedOp(logits.backend, "crossEntropyBackward")(logits, targets, ignoreIndex, g),
      null,
    ],
  },
};

function softmaxRaw(x: Tensor, log: boolean): Tensor {
  const backend = backendOf(log ? "logSoftmax" : "softmax", [x]);
  requireFloat(log ? "logSoftmax" : "softmax", x);
  return fusedOp(backend, "softmax")(x, log);
}

function softmaxBackwardRaw(y: Tensor, g: Tensor, log: boolean): Tensor {
  return fusedOp(y.backend, "softmaxBackward")(y, g, log);
}

function ropeRaw(x: Tensor, cos: Tensor, sin: Tensor, rowsPerPosition: number, inverse: boolean): Tensor {
  const backend = backendOf("rope", [x, cos, sin]);
  requireFloat("rope", x);
  return fusedOp(backend, "rope")(x, cos, sin, rowsPerPosition, inverse);
}

/** The names of every primitive op, in table order. */
export const primitiveOps = Object.keys(rules) as PrimitiveOp[];
