/**
 * Every kernel of the backend interface on the gpu.js backend, written against `GpuJsDevice` (device.ts):
 * each kernel picks its gpu.js source (sources.ts), lays out its arguments — dims and per-operand strides for
 * strided views, offsets and widths for row kernels — and launches it into the output buffer, with row
 * statistics and contiguous copies as temporaries. Not here: compiling, queueing and readback (the backend).
 */
import type {
  AdamWHyperparameters,
  BackendBuffer,
  BinaryOp,
  BufferView,
  Kernels,
  ReduceOp,
  UnaryOp,
} from "../../backend.js";
import type { DType } from "../../dtype.js";
import { collapseLayout, isContiguousLayout, rowsAndWidth, shapeSize } from "../../shape.js";
import { asGpu, type GpuJsBuffer, type GpuJsDevice, kindOf } from "./device.js";
import * as sources from "./sources.js";

/** An operand as a contiguous buffer and element offset; `owned` when it is a temporary copy. */
interface Operand {
  buffer: GpuJsBuffer;
  offset: number;
  owned: boolean;
}

/** Kernel arguments for dims + operand strides padded to MAX_RANK (outer axes padded with size 1). */
function stridedArguments(
  shape: readonly number[],
  operands: readonly BufferView[],
  op: string,
): { dims: number[]; operandArgs: number[][] } {
  const { shape: dims, strides } = collapseLayout(
    shape,
    operands.map((view) => view.strides),
  );
  if (dims.length > sources.MAX_RANK) {
    throw new Error(
      `[gpujs] ${op}: a layout of rank ${dims.length} after merging contiguous axes exceeds the supported ${sources.MAX_RANK}; make the tensor contiguous first`,
    );
  }
  const pad = sources.MAX_RANK - dims.length;
  const paddedDims = [...new Array<number>(pad).fill(1), ...dims];
  const operandArgs = operands.map((view, index) => [
    view.offset,
    ...new Array<number>(pad).fill(0),
    ...strides[index],
  ]);
  return { dims: paddedDims, operandArgs };
}

function fill(device: GpuJsDevice, out: BackendBuffer, value: number): void {
  device.launch("fill", sources.fillSource, asGpu(out, "output"), [value]);
}

function copyDense(device: GpuJsDevice, x: BufferView, out: GpuJsBuffer, dtype: DType): void {
  const { dims, operandArgs } = stridedArguments(x.shape, [x], "copy");
  device.launch("copy", sources.copySource, out, [asGpu(x.buffer, "input"), ...dims, ...operandArgs[0], kindOf(dtype)]);
}

/** The operand as a contiguous buffer plus element offset: views that aren't contiguous get a copy. */
function contiguous(device: GpuJsDevice, view: BufferView, role: string): Operand {
  const buffer = asGpu(view.buffer, role);
  if (isContiguousLayout(view.shape, view.strides)) return { buffer, offset: view.offset, owned: false };
  const copy = device.temporary(shapeSize(view.shape));
  copyDense(device, view, copy, buffer.dtype);
  return { buffer: copy, offset: 0, owned: true };
}

/** Dispose the operands that are temporary copies. */
function done(device: GpuJsDevice, ...operands: Operand[]): void {
  for (const operand of operands) if (operand.owned) device.dispose(operand.buffer);
}

/** Row max and Σ exp(x − max) of a contiguous operand, as two temporaries the caller disposes. */
function rowStats(device: GpuJsDevice, source: { buffer: GpuJsBuffer; offset: number }, rows: number, width: number) {
  const maximum = device.temporary(rows);
  const sum = device.temporary(rows);
  device.launch("rowMax", sources.rowMaxSource, maximum, [source.buffer, source.offset, width]);
  device.launch("rowSumExp", sources.rowSumExpSource, sum, [source.buffer, maximum, source.offset, width]);
  return { maximum, sum };
}

function matmul(device: GpuJsDevice, a: BufferView, b: BufferView, out: GpuJsBuffer): void {
  const rankA = a.shape.length;
  const rankB = b.shape.length;
  const m = a.shape[rankA - 2];
  const k = a.shape[rankA - 1];
  const n = b.shape[rankB - 1];
  const batchRank = Math.max(rankA, rankB) - 2;
  const batch: number[] = [];
  const stridesA: number[] = [];
  const stridesB: number[] = [];
  for (let axis = 0; axis < batchRank; axis++) {
    const axisA = axis - (batchRank - (rankA - 2));
    const axisB = axis - (batchRank - (rankB - 2));
    const sizeA = axisA >= 0 ? a.shape[axisA] : 1;
    const sizeB = axisB >= 0 ? b.shape[axisB] : 1;
    batch.push(Math.max(sizeA, sizeB));
    stridesA.push(axisA >= 0 && sizeA !== 1 ? a.strides[axisA] : 0);
    stridesB.push(axisB >= 0 && sizeB !== 1 ? b.strides[axisB] : 0);
  }
  const collapsed = collapseLayout(batch, [stridesA, stridesB]);
  if (collapsed.shape.length > 4) {
    throw new Error(`[gpujs] matmul: ${collapsed.shape.length} batch dims after merging exceed the supported 4`);
  }
  const pad = 4 - collapsed.shape.length;
  const dims = [...new Array<number>(pad).fill(1), ...collapsed.shape];
  const batchA = [...new Array<number>(pad).fill(0), ...collapsed.strides[0]];
  const batchB = [...new Array<number>(pad).fill(0), ...collapsed.strides[1]];
  if (k === 0) {
    fill(device, out, 0);
    return;
  }
  device.launch("matmul", sources.matmulSource, out, [
    asGpu(a.buffer, "left"),
    asGpu(b.buffer, "right"),
    m,
    n,
    k,
    ...dims,
    a.offset,
    ...batchA,
    a.strides[rankA - 2],
    a.strides[rankA - 1],
    b.offset,
    ...batchB,
    b.strides[rankB - 2],
    b.strides[rankB - 1],
  ]);
}

export function createGpuJsKernels(device: GpuJsDevice): Kernels {
  return {
    unary: (op: UnaryOp, x, out) => {
      const target = asGpu(out, "output");
      const { dims, operandArgs } = stridedArguments(x.shape, [x], op);
      device.launch(`unary:${op}`, sources.unarySource(op), target, [
        asGpu(x.buffer, "input"),
        ...dims,
        ...operandArgs[0],
        kindOf(target.dtype),
      ]);
    },
    binary: (op: BinaryOp, a, b, out) => {
      const target = asGpu(out, "output");
      const { dims, operandArgs } = stridedArguments(a.shape, [a, b], op);
      device.launch(`binary:${op}`, sources.binarySource(op), target, [
        asGpu(a.buffer, "left"),
        asGpu(b.buffer, "right"),
        ...dims,
        ...operandArgs[0],
        ...operandArgs[1],
        kindOf(target.dtype),
      ]);
    },
    where: (condition, a, b, out) => {
      const target = asGpu(out, "output");
      const { dims, operandArgs } = stridedArguments(a.shape, [condition, a, b], "where");
      device.launch("where", sources.whereSource, target, [
        asGpu(condition.buffer, "condition"),
        asGpu(a.buffer, "left"),
        asGpu(b.buffer, "right"),
        ...dims,
        ...operandArgs[0],
        ...operandArgs[1],
        ...operandArgs[2],
        kindOf(target.dtype),
      ]);
    },
    copy: (x, out) => {
      const target = asGpu(out.buffer, "output");
      const size = shapeSize(out.shape);
      if (size === 0) return;
      if (isContiguousLayout(out.shape, out.strides) && out.offset === 0 && size === target.length) {
        copyDense(device, x, target, target.dtype);
        return;
      }
      device.copyInto(x, out, target);
    },
    fill: (out, value) => fill(device, out, value),
    reduce: (op: ReduceOp, x, axes, out) => {
      const target = asGpu(out, "output");
      // Move the reduced axes last (a view, no copy) and make it contiguous: then each output element is
      // one contiguous row.
      const kept = x.shape.map((_, axis) => axis).filter((axis) => !axes.includes(axis));
      const order = [...kept, ...axes];
      const permuted: BufferView = {
        buffer: x.buffer,
        shape: order.map((axis) => x.shape[axis]),
        strides: order.map((axis) => x.strides[axis]),
        offset: x.offset,
      };
      const inner = axes.reduce((product, axis) => product * x.shape[axis], 1);
      const source = contiguous(device, permuted, "input");
      if (inner === 0) {
        fill(device, target, op === "sum" ? 0 : Number.NEGATIVE_INFINITY);
      } else {
        device.launch(`reduce:${op}`, sources.reduceRowsSource(op), target, [source.buffer, source.offset, inner]);
      }
      done(device, source);
    },
    matmul: (a, b, out) => matmul(device, a, b, asGpu(out, "output")),
    gatherRows: (table, indices, out) => {
      const source = contiguous(device, table, "table");
      const index = contiguous(device, indices, "indices");
      device.launch("gatherRows", sources.gatherRowsSource, asGpu(out, "output"), [
        source.buffer,
        index.buffer,
        source.offset,
        index.offset,
        table.shape[1],
      ]);
      done(device, source, index);
    },
    indexAddRows: (out, indices, source) => {
      const target = asGpu(out, "output");
      const index = contiguous(device, indices, "indices");
      const values = contiguous(device, source, "source");
      const width = source.shape[source.shape.length - 1];
      device.launch("indexAddRows", sources.indexAddRowsSource, target, [
        target,
        index.buffer,
        values.buffer,
        index.offset,
        values.offset,
        width,
        shapeSize(indices.shape),
      ]);
      done(device, index, values);
    },
    takeAlongLastAxis: (x, indices, out) => {
      const source = contiguous(device, x, "input");
      const index = contiguous(device, indices, "indices");
      const { width } = rowsAndWidth(x.shape);
      device.launch("takeAlongLastAxis", sources.takeAlongSource, asGpu(out, "output"), [
        source.buffer,
        index.buffer,
        source.offset,
        index.offset,
        width,
        indices.shape[indices.shape.length - 1],
      ]);
      done(device, source, index);
    },
    scatterAddAlongLastAxis: (out, indices, source) => {
      const target = asGpu(out, "output");
      const index = contiguous(device, indices, "indices");
      const values = contiguous(device, source, "source");
      const { rows, width: picks } = rowsAndWidth(source.shape);
      device.launch("scatterAddAlongLastAxis", sources.scatterAddAlongSource, target, [
        target,
        index.buffer,
        values.buffer,
        index.offset,
        values.offset,
        rows === 0 ? 1 : target.length / rows,
        picks,
      ]);
      done(device, index, values);
    },
    softmax: (x, out, log) => {
      const source = contiguous(device, x, "input");
      const { rows, width } = rowsAndWidth(x.shape);
      const stats = rowStats(device, source, rows, width);
      device.launch("softmaxFromStats", sources.softmaxFromStatsSource, asGpu(out, "output"), [
        source.buffer,
        stats.maximum,
        stats.sum,
        source.offset,
        width,
        log ? 1 : 0,
      ]);
      device.dispose(stats.maximum);
      device.dispose(stats.sum);
      done(device, source);
    },
    softmaxBackward: (y, gradY, out, log) => {
      const output = contiguous(device, y, "output");
      const gradient = contiguous(device, gradY, "gradient");
      const { rows, width } = rowsAndWidth(y.shape);
      const dot = device.temporary(rows);
      const args = [output.buffer, gradient.buffer, output.offset, gradient.offset, width, log ? 1 : 0];
      device.launch("softmaxBackwardRow", sources.softmaxBackwardRowSource, dot, args);
      device.launch("softmaxBackward", sources.softmaxBackwardSource, asGpu(out, "output"), [
        output.buffer,
        gradient.buffer,
        dot,
        output.offset,
        gradient.offset,
        width,
        log ? 1 : 0,
      ]);
      device.dispose(dot);
      done(device, output, gradient);
    },
    rmsnorm: (x, weight, epsilon, out) => {
      const source = contiguous(device, x, "input");
      const scale = contiguous(device, weight, "weight");
      const { rows, width } = rowsAndWidth(x.shape);
      const inverse = device.temporary(rows);
      device.launch("rmsInverse", sources.rmsInverseSource, inverse, [source.buffer, source.offset, width, epsilon]);
      device.launch("rmsnormApply", sources.rmsnormApplySource, asGpu(out, "output"), [
        source.buffer,
        inverse,
        scale.buffer,
        source.offset,
        scale.offset,
        width,
      ]);
      device.dispose(inverse);
      done(device, source, scale);
    },
    rmsnormBackward: (x, weight, gradY, epsilon, gradX, gradWeight) => {
      const source = contiguous(device, x, "input");
      const scale = contiguous(device, weight, "weight");
      const gradient = contiguous(device, gradY, "gradient");
      const { rows, width } = rowsAndWidth(x.shape);
      const inverse = device.temporary(rows);
      const dot = device.temporary(rows);
      device.launch("rmsInverse", sources.rmsInverseSource, inverse, [source.buffer, source.offset, width, epsilon]);
      device.launch("rmsnormRowDot", sources.rmsnormRowDotSource, dot, [
        source.buffer,
        scale.buffer,
        gradient.buffer,
        source.offset,
        scale.offset,
        gradient.offset,
        width,
      ]);
      device.launch("rmsnormGradX", sources.rmsnormGradXSource, asGpu(gradX, "gradX"), [
        source.buffer,
        scale.buffer,
        gradient.buffer,
        inverse,
        dot,
        source.offset,
        scale.offset,
        gradient.offset,
        width,
      ]);
      const weightTarget = asGpu(gradWeight, "gradWeight");
      if (rows === 0) fill(device, weightTarget, 0);
      else {
        device.launch("rmsnormGradWeight", sources.rmsnormGradWeightSource, weightTarget, [
          source.buffer,
          gradient.buffer,
          inverse,
          source.offset,
          gradient.offset,
          width,
          rows,
        ]);
      }
      device.dispose(inverse);
      device.dispose(dot);
      done(device, source, scale, gradient);
    },
    rope: (x, cos, sin, rowsPerPosition, inverse, out) => {
      const source = contiguous(device, x, "input");
      const cosine = contiguous(device, cos, "cos");
      const sine = contiguous(device, sin, "sin");
      const { width } = rowsAndWidth(x.shape);
      device.launch("rope", sources.ropeSource, asGpu(out, "output"), [
        source.buffer,
        cosine.buffer,
        sine.buffer,
        source.offset,
        cosine.offset,
        sine.offset,
        width,
        cos.shape[0],
        rowsPerPosition,
        inverse ? 1 : 0,
      ]);
      done(device, source, cosine, sine);
    },
    crossEntropy: (logits, targets, ignoreIndex, out) => {
      const source = contiguous(device, logits, "logits");
      const labels = contiguous(device, targets, "targets");
      const { rows, width } = rowsAndWidth(logits.shape);
      const target = asGpu(out, "output");
      if (rows === 0) {
        fill(device, target, 0);
        done(device, source, labels);
        return;
      }
      const stats = rowStats(device, source, rows, width);
      device.launch("crossEntropyLoss", sources.crossEntropyLossSource, target, [
        source.buffer,
        labels.buffer,
        stats.maximum,
        stats.sum,
        source.offset,
        labels.offset,
        width,
        rows,
        ignoreIndex,
      ]);
      device.dispose(stats.maximum);
      device.dispose(stats.sum);
      done(device, source, labels);
    },
    crossEntropyBackward: (logits, targets, ignoreIndex, gradLoss, out) => {
      const source = contiguous(device, logits, "logits");
      const labels = contiguous(device, targets, "targets");
      const { rows, width } = rowsAndWidth(logits.shape);
      const stats = rowStats(device, source, rows, width);
      const kept = device.temporary(1);
      device.launch("keptRows", sources.keptRowsSource, kept, [labels.buffer, labels.offset, rows, ignoreIndex]);
      device.launch("crossEntropyBackward", sources.crossEntropyBackwardSource, asGpu(out, "output"), [
        source.buffer,
        labels.buffer,
        stats.maximum,
        stats.sum,
        kept,
        asGpu(gradLoss.buffer, "gradLoss"),
        source.offset,
        labels.offset,
        gradLoss.offset,
        width,
        ignoreIndex,
      ]);
      device.dispose(stats.maximum);
      device.dispose(stats.sum);
      device.dispose(kept);
      done(device, source, labels);
    },
    swiglu: (gate, up, out) => {
      const g = contiguous(device, gate, "gate");
      const u = contiguous(device, up, "up");
      device.launch("swiglu", sources.swigluSource, asGpu(out, "output"), [g.buffer, g.offset, u.buffer, u.offset]);
      done(device, g, u);
    },
    swigluBackward: (gate, up, gradOut, gradGate, gradUp) => {
      const g = contiguous(device, gate, "gate");
      const u = contiguous(device, up, "up");
      const d = contiguous(device, gradOut, "gradOut");
      for (const [target, which] of [
        [asGpu(gradGate, "gradGate"), 0],
        [asGpu(gradUp, "gradUp"), 1],
      ] as const) {
        device.launch("swigluBackward", sources.swigluBackwardSource, target, [
          g.buffer,
          g.offset,
          u.buffer,
          u.offset,
          d.buffer,
          d.offset,
          which,
        ]);
      }
      done(device, g, u, d);
    },
    adamw: (param, grad, m, v, hyper: AdamWHyperparameters) => {
      const parameter = asGpu(param, "param");
      const gradient = contiguous(device, grad, "grad");
      const first = asGpu(m, "m");
      const second = asGpu(v, "v");
      const { learningRate, beta1, beta2, epsilon, weightDecay, step } = hyper;
      device.launch("adamMoment", sources.adamMomentSource, first, [first, gradient.buffer, gradient.offset, beta1, 0]);
      device.launch("adamMoment", sources.adamMomentSource, second, [
        second,
        gradient.buffer,
        gradient.offset,
        beta2,
        1,
      ]);
      device.launch("adamParam", sources.adamParamSource, parameter, [
        parameter,
        first,
        second,
        1 - learningRate * weightDecay,
        learningRate / (1 - beta1 ** step),
        1 / Math.sqrt(1 - beta2 ** step),
        epsilon,
      ]);
      done(device, gradient);
    },
    argmax: (x, out) => {
      const source = contiguous(device, x, "input");
      const { width } = rowsAndWidth(x.shape);
      device.launch("argmax", sources.argmaxSource, asGpu(out, "output"), [source.buffer, source.offset, width]);
      done(device, source);
    },
    topk: (x, k, values, indices) => {
      const source = contiguous(device, x, "input");
      const { width } = rowsAndWidth(x.shape);
      const indexTarget = asGpu(indices, "indices");
      device.launch("topkIndex", sources.topkIndexSource, indexTarget, [source.buffer, source.offset, width, k]);
      device.launch("takeAlongLastAxis", sources.takeAlongSource, asGpu(values, "values"), [
        source.buffer,
        indexTarget,
        source.offset,
        0,
        width,
        k,
      ]);
      done(device, source);
    },
    multinomial: (weights, uniforms, out) => {
      const source = contiguous(device, weights, "weights");
      const draws = contiguous(device, uniforms, "uniforms");
      const { width } = rowsAndWidth(weights.shape);
      device.launch("multinomial", sources.multinomialSource, asGpu(out, "output"), [
        source.buffer,
        draws.buffer,
        source.offset,
        draws.offset,
        width,
        uniforms.shape[uniforms.shape.length - 1],
      ]);
      done(device, source, draws);
    },
  };
}
