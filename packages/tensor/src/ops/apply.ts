/**
 * What every op family shares: the rule contract (`OpAttributes` names every primitive op, `Rule` pairs its
 * forward with its backward), `apply` (run a rule, record its autograd node) and the kernel-level helpers the
 * rules are written with — validation that names the op, broadcasting into kernel views, and raw kernel
 * calls that record nothing (binary, unary, copy, fill, reduce, and the gradient's `reduceToShape`).
 * The families (elementwise.ts, movement.ts, reduce.ts, matmul.ts, indexing.ts, nn.ts) build on this file and
 * primitives.ts assembles their tables into the one exhaustive table. Not here: any op's rule.
 */
import { type BinaryOp, type BufferView, kernel, type UnaryOp } from "../backend.js";
import { type DType, isFloatDType } from "../dtype.js";
import { broadcastShapes, broadcastStrides, contiguousStrides, formatShape, shapesEqual } from "../shape.js";
import { denseBufferView, emptyTensor, GradNode, isGradEnabled, type Tensor, viewOf } from "../tensor.js";

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
  swiglu: NoAttributes;
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

/** A family's rules: one per op of the family, typed so that a missing derivative fails `tsc`. */
export type Rules<P extends PrimitiveOp> = { [Q in P]: Rule<Q> };

/** Run `rule` forward and, when a gradient can flow, record its autograd node. */
export function apply<P extends PrimitiveOp>(
  op: P,
  rule: Rule<P>,
  inputs: readonly Tensor[],
  attributes: OpAttributes[P],
): Tensor {
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

// ---------------------------------------------------------------------------------------------------------
// Validation

/** The backend all of `tensors` live on (the same instance), or an error naming the op. */
export function backendOf(op: string, tensors: readonly Tensor[]) {
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

export function requireFloat(op: string, tensor: Tensor): void {
  if (!isFloatDType(tensor.dtype)) {
    throw new Error(
      `[${op}] expects a float32 or float64 tensor, got ${tensor.dtype} of shape ${formatShape(tensor.shape)}; cast it first`,
    );
  }
}

export function requireSameDType(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) {
    throw new Error(
      `[${op}] dtypes ${a.dtype} and ${b.dtype} of shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} differ; cast one first`,
    );
  }
}

export function requireIndices(op: string, indices: Tensor): void {
  if (indices.dtype !== "int32") {
    throw new Error(`[${op}] indices must be int32, got ${indices.dtype} of shape ${formatShape(indices.shape)}`);
  }
}

export function lastAxisWidth(x: Tensor): number {
  return x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1];
}

// ---------------------------------------------------------------------------------------------------------
// Raw kernels: no autograd

/** x's layout as a kernel view broadcast to `shape` (stride 0 on broadcast axes). */
export function broadcastView(tensor: Tensor, shape: readonly number[]): BufferView {
  return {
    buffer: tensor.storage.buffer,
    shape,
    strides: broadcastStrides(tensor.shape, tensor.strides, shape),
    offset: tensor.offset,
  };
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

export function unaryRaw(op: UnaryOp, x: Tensor): Tensor {
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

export function scalarLike(value: number, like: Tensor): Tensor {
  return fullLike(like, [], value);
}

/** x contiguous: itself as a new view, else a copy. */
export function contiguousRaw(x: Tensor): Tensor {
  return x.isContiguous ? viewOf(x, x.shape, contiguousStrides(x.shape), x.offset) : copyRaw(x);
}

/** x viewed as `shape` (same size), copied first only when x is not contiguous. */
export function reshapeRaw(x: Tensor, shape: readonly number[]): Tensor {
  const source = contiguousRaw(x);
  const out = viewOf(source, shape, contiguousStrides(shape), source.offset);
  source.dispose();
  return out;
}

export function keepdimShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((dimension, axis) => (axes.includes(axis) ? 1 : dimension));
}

/** The reduce kernel over sorted axes, keeping them as size-1 axes when `keepdim`. */
export function reduceRaw(op: "sum" | "max", x: Tensor, attributes: { axes: number[]; keepdim: boolean }): Tensor {
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
  const shape = keepdimShape(x.shape, attributes.axes);
  const shaped = viewOf(out, shape, contiguousStrides(shape), 0);
  out.dispose();
  return shaped;
}

/** Sum a gradient of a broadcast result back to an operand's shape (backward code: records nothing). */
export function reduceToShape(gradient: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(gradient.shape, shape)) return gradient;
  const shift = gradient.rank - shape.length;
  const axes: number[] = [];
  for (let axis = 0; axis < gradient.rank; axis++) {
    if (axis < shift || (shape[axis - shift] === 1 && gradient.shape[axis] !== 1)) axes.push(axis);
  }
  const summed = axes.length > 0 ? reduceRaw("sum", gradient, { axes, keepdim: true }) : gradient;
  const out = reshapeRaw(summed, shape);
  if (summed !== gradient) summed.dispose();
  return out;
}
