/**
 * The CPU backend: float32/int32 storage in blocks of the pooled WebAssembly heap (so matmul reads tensors
 * in place), float64 and bool storage in plain typed arrays (float64 exists for the gradient checker).
 * Kernels live in `elementwise.ts`, `row-kernels.ts` and the wasm matmul; this file adapts buffer views to
 * them and materialises strided operands where a kernel needs contiguous rows.
 * Not here: autograd, broadcasting decisions, dtype promotion (the front end owns those).
 */
import type {
  AdamWHyperparameters,
  Backend,
  BackendBuffer,
  BackendMemoryInfo,
  BinaryOp,
  BufferView,
  Kernels,
  QuantizedKernels,
  ReduceOp,
  UnaryOp,
} from "../../backend.js";
import {
  bytesPerElement,
  copyIntoArray,
  copyOfArray,
  createTypedArray,
  type DType,
  type FloatArray,
  type TypedArray,
} from "../../dtype.js";
import { isContiguousLayout, rowsAndWidth, shapeSize } from "../../shape.js";
import {
  type ArrayView,
  binaryKernel,
  copyKernel,
  denseView,
  flatStride,
  reduceKernel,
  unaryKernel,
  whereKernel,
} from "./elementwise.js";
import { cpuMatmul } from "./matmul.js";
import { cpuMatmulQuantized } from "./quantized-matmul.js";
import {
  adamwStep,
  argmaxRows,
  crossEntropyBackwardRows,
  crossEntropyRows,
  gatherRows,
  indexAddRows,
  multinomialRows,
  rmsnormBackwardRows,
  rmsnormRows,
  ropeRows,
  scatterAddAlongRows,
  softmaxBackwardRows,
  softmaxRows,
  takeAlongRows,
  topkRows,
} from "./row-kernels.js";
import { getHeap, type HeapBlock } from "./wasm/heap.js";
import type { Operand } from "./wasm/heap-kernels.js";
import {
  adamwHeap,
  binaryHeap,
  crossEntropyBackwardHeap,
  crossEntropyHeap,
  rmsnormBackwardHeap,
  rmsnormHeap,
  swigluBackwardHeap,
  swigluHeap,
} from "./wasm/streaming.js";
import type { StreamingBinaryOp } from "./wasm/streaming-kernels.js";
import { type TranscendentalOp, transcendentalInto } from "./wasm/transcendental.js";

/** A CPU buffer: a heap block (float32, int32) or a plain array (float64, bool). */
export class CpuBuffer implements BackendBuffer {
  readonly backend = "cpu";
  readonly dtype: DType;
  readonly length: number;
  block: HeapBlock | null;
  private readonly array: TypedArray | null;

  constructor(dtype: DType, length: number, zeroed: boolean) {
    this.dtype = dtype;
    this.length = length;
    if (dtype === "float32" || dtype === "int32") {
      const heap = getHeap();
      // Zero-length tensors still get a one-element block so every buffer has a valid pointer.
      this.block = zeroed ? heap.allocZeroed(Math.max(length, 1)) : heap.alloc(Math.max(length, 1));
      this.array = null;
    } else {
      this.block = null;
      this.array = createTypedArray(dtype, length);
    }
  }

  /**
   * The buffer's elements. Views of heap blocks are re-derived on every call because a growing wasm memory
   * detaches earlier views: take views after allocating, never across an allocation.
   */
  view(): TypedArray {
    if (this.block) {
      const full = this.dtype === "int32" ? this.block.i32() : this.block.f32();
      return full.length === this.length ? full : full.subarray(0, this.length);
    }
    if (!this.array) throw new Error("[cpu] buffer used after free");
    return this.array;
  }
}

function asCpu(buffer: BackendBuffer, role: string): CpuBuffer {
  if (!(buffer instanceof CpuBuffer)) {
    throw new Error(
      `[cpu] ${role} buffer belongs to backend "${buffer.backend}"; move the tensor to the cpu backend first`,
    );
  }
  if (!buffer.block && buffer.dtype !== "float64" && buffer.dtype !== "bool") {
    throw new Error(`[cpu] ${role} buffer used after it was freed`);
  }
  return buffer;
}

function arrayView(view: BufferView, role: string): ArrayView {
  return { data: asCpu(view.buffer, role).view(), shape: view.shape, strides: view.strides, offset: view.offset };
}

/** Contiguous data and start offset of a view, copying only when the view is strided. */
function contiguousData(view: BufferView, role: string): { data: TypedArray; offset: number } {
  const source = arrayView(view, role);
  if (isContiguousLayout(view.shape, view.strides)) return { data: source.data, offset: view.offset };
  const copy = createTypedArray(view.buffer.dtype, shapeSize(view.shape));
  copyKernel(source, denseView(copy, view.shape), false);
  return { data: copy, offset: 0 };
}

/**
 * Elements from which binary arithmetic, rmsnorm and cross-entropy run as wasm jobs: below (a decode step's
 * vectors), the JavaScript loops are as fast as a call into wasm.
 */
const STREAMING_ELEMENTS = 2048;

function isStreamingBinaryOp(op: BinaryOp): op is StreamingBinaryOp {
  return op === "add" || op === "sub" || op === "mul" || op === "div";
}

/**
 * float32 + − × ÷ of two contiguous operands, or one and a broadcast scalar, in the wasm streaming kernel
 * (bit-identical to the JavaScript loop; see wasm/streaming-kernels.ts). False when the call is not of that kind.
 */
function streamingBinary(op: BinaryOp, a: BufferView, b: BufferView, out: BackendBuffer): boolean {
  if (!isStreamingBinaryOp(op) || out.dtype !== "float32" || out.length < STREAMING_ELEMENTS) return false;
  if (a.buffer.dtype !== "float32" || b.buffer.dtype !== "float32") return false;
  const aStride = flatStride(a.shape, a.strides);
  const bStride = flatStride(b.shape, b.strides);
  if (aStride === null || bStride === null || (aStride === 0 && bStride === 0)) return false;
  const left = asCpu(a.buffer, "left").block;
  const right = asCpu(b.buffer, "right").block;
  const output = asCpu(out, "output").block;
  if (!left || !right || !output) return false;
  const length = shapeSize(a.shape);
  binaryHeap(
    op,
    { block: left, offset: a.offset, scalar: aStride === 0 },
    { block: right, offset: b.offset, scalar: bStride === 0 },
    { block: output, offset: 0 },
    length,
  );
  return true;
}

/**
 * A float32 view as a contiguous heap operand for the streaming kernels: in place when it is one, else copied
 * once into a scratch block that is pushed to `scratch` (the caller frees it).
 */
function heapOperand(view: BufferView, role: string, scratch: HeapBlock[]): Operand {
  const buffer = asCpu(view.buffer, role);
  if (buffer.block && isContiguousLayout(view.shape, view.strides)) return { block: buffer.block, offset: view.offset };
  const size = shapeSize(view.shape);
  const block = getHeap().alloc(Math.max(size, 1));
  scratch.push(block);
  copyKernel(arrayView(view, role), denseView(block.f32().subarray(0, size), view.shape), false);
  return { block, offset: 0 };
}

/**
 * Runs `body` with `operand(view, role)`, which gives each float32 view as a heap operand (`heapOperand`); the
 * scratch copies of strided views are freed afterwards, whatever happens.
 */
function withHeapOperands<T>(body: (operand: (view: BufferView, role: string) => Operand) => T): T {
  const scratch: HeapBlock[] = [];
  try {
    return body((view, role) => heapOperand(view, role, scratch));
  } finally {
    for (const block of scratch) getHeap().free(block);
  }
}

/** Contiguous int32 targets in place on the heap, or null (the JavaScript kernel takes the rest). */
function heapTargets(targets: BufferView): Operand | null {
  const buffer = asCpu(targets.buffer, "targets");
  if (buffer.dtype !== "int32" || !buffer.block || !isContiguousLayout(targets.shape, targets.strides)) return null;
  return { block: buffer.block, offset: targets.offset };
}

/** Unary ops with a wasm SIMD kernel for contiguous float32 tensors (see `wasm/transcendental.ts`). */
function isTranscendental(op: UnaryOp): op is TranscendentalOp {
  return op === "exp" || op === "sigmoid" || op === "silu";
}

const kernels: Kernels & QuantizedKernels = {
  unary(op: UnaryOp, x, out) {
    if (
      isTranscendental(op) &&
      x.buffer.dtype === "float32" &&
      out.dtype === "float32" &&
      isContiguousLayout(x.shape, x.strides)
    ) {
      const input = asCpu(x.buffer, "input");
      const output = asCpu(out, "output");
      if (input.block && output.block) {
        transcendentalInto(
          op,
          { block: input.block, offset: x.offset },
          { block: output.block, offset: 0 },
          shapeSize(x.shape),
        );
        return;
      }
    }
    unaryKernel(op, arrayView(x, "input"), asCpu(out, "output").view());
  },
  binary(op: BinaryOp, a, b, out) {
    if (!streamingBinary(op, a, b, out)) {
      binaryKernel(op, arrayView(a, "left"), arrayView(b, "right"), asCpu(out, "output").view());
    }
  },
  where(condition, a, b, out) {
    whereKernel(
      arrayView(condition, "condition"),
      arrayView(a, "left"),
      arrayView(b, "right"),
      asCpu(out, "output").view(),
    );
  },
  copy(x, out) {
    copyKernel(arrayView(x, "input"), arrayView(out, "output"), out.buffer.dtype === "bool");
  },
  fill(out, value) {
    asCpu(out, "output").view().fill(value);
  },
  reduce(op: ReduceOp, x, axes, out) {
    reduceKernel(op, arrayView(x, "input"), axes, asCpu(out, "output").view());
  },
  matmul(a, b, out) {
    cpuMatmul(a, b, asCpu(out, "output"), (view, role) => asCpu(view.buffer, role));
  },
  gatherRows(table, indices, out) {
    const source = contiguousData(table, "table");
    const index = contiguousData(indices, "indices");
    const [tableRows, width] = table.shape;
    gatherRows(
      source.data,
      source.offset,
      tableRows,
      width,
      index.data,
      index.offset,
      shapeSize(indices.shape),
      asCpu(out, "output").view(),
    );
  },
  indexAddRows(out, indices, source) {
    const index = contiguousData(indices, "indices");
    const values = contiguousData(source, "source");
    const width = source.shape[source.shape.length - 1];
    const target = asCpu(out, "output").view();
    indexAddRows(
      target,
      target.length / width,
      width,
      index.data,
      index.offset,
      shapeSize(indices.shape),
      values.data,
      values.offset,
    );
  },
  takeAlongLastAxis(x, indices, out) {
    const source = contiguousData(x, "input");
    const index = contiguousData(indices, "indices");
    const { rows, width } = rowsAndWidth(x.shape);
    const picks = indices.shape[indices.shape.length - 1];
    takeAlongRows(
      source.data,
      source.offset,
      width,
      index.data,
      index.offset,
      picks,
      rows,
      asCpu(out, "output").view(),
    );
  },
  scatterAddAlongLastAxis(out, indices, source) {
    const index = contiguousData(indices, "indices");
    const values = contiguousData(source, "source");
    const { rows, width: picks } = rowsAndWidth(source.shape);
    const target = asCpu(out, "output").view();
    scatterAddAlongRows(
      target,
      rows === 0 ? 0 : target.length / rows,
      index.data,
      index.offset,
      values.data,
      values.offset,
      picks,
      rows,
    );
  },
  softmax(x, out, log) {
    const source = contiguousData(x, "input");
    const { rows, width } = rowsAndWidth(x.shape);
    softmaxRows(source.data as FloatArray, source.offset, asCpu(out, "output").view() as FloatArray, rows, width, log);
  },
  softmaxBackward(y, gradY, out, log) {
    const output = contiguousData(y, "output");
    const gradient = contiguousData(gradY, "gradient");
    const { rows, width } = rowsAndWidth(y.shape);
    softmaxBackwardRows(
      output.data as FloatArray,
      output.offset,
      gradient.data as FloatArray,
      gradient.offset,
      asCpu(out, "output").view() as FloatArray,
      rows,
      width,
      log,
    );
  },
  rmsnorm(x, weight, epsilon, out) {
    const { rows, width } = rowsAndWidth(x.shape);
    const output = asCpu(out, "output");
    const outputBlock = output.block;
    if (outputBlock && output.dtype === "float32" && rows * width >= STREAMING_ELEMENTS) {
      withHeapOperands((operand) => {
        rmsnormHeap(
          operand(x, "input"),
          operand(weight, "weight"),
          { block: outputBlock, offset: 0 },
          rows,
          width,
          epsilon,
        );
      });
      return;
    }
    const source = contiguousData(x, "input");
    const scale = contiguousData(weight, "weight");
    rmsnormRows(
      source.data as FloatArray,
      source.offset,
      scale.data as FloatArray,
      scale.offset,
      epsilon,
      asCpu(out, "output").view() as FloatArray,
      rows,
      width,
    );
  },
  rmsnormBackward(x, weight, gradY, epsilon, gradX, gradWeight) {
    const { rows, width } = rowsAndWidth(x.shape);
    const gradXBuffer = asCpu(gradX, "gradX");
    const gradXBufferBlock = gradXBuffer.block;
    const gradWeightBuffer = asCpu(gradWeight, "gradWeight");
    const gradWeightBufferBlock = gradWeightBuffer.block;
    if (
      gradXBufferBlock &&
      gradWeightBufferBlock &&
      gradXBuffer.dtype === "float32" &&
      rows * width >= STREAMING_ELEMENTS
    ) {
      withHeapOperands((operand) => {
        rmsnormBackwardHeap(
          operand(x, "input"),
          operand(weight, "weight"),
          operand(gradY, "gradient"),
          { block: gradXBufferBlock, offset: 0 },
          { block: gradWeightBufferBlock, offset: 0 },
          rows,
          width,
          epsilon,
        );
      });
      return;
    }
    const source = contiguousData(x, "input");
    const scale = contiguousData(weight, "weight");
    const gradient = contiguousData(gradY, "gradient");
    rmsnormBackwardRows(
      source.data as FloatArray,
      source.offset,
      scale.data as FloatArray,
      scale.offset,
      gradient.data as FloatArray,
      gradient.offset,
      epsilon,
      asCpu(gradX, "gradX").view() as FloatArray,
      asCpu(gradWeight, "gradWeight").view() as FloatArray,
      rows,
      width,
    );
  },
  rope(x, cos, sin, rowsPerPosition, inverse, out) {
    const source = contiguousData(x, "input");
    const cosine = contiguousData(cos, "cos");
    const sine = contiguousData(sin, "sin");
    const { rows, width } = rowsAndWidth(x.shape);
    ropeRows(
      source.data as FloatArray,
      source.offset,
      cosine.data as FloatArray,
      cosine.offset,
      sine.data as FloatArray,
      sine.offset,
      cos.shape[0],
      rowsPerPosition,
      inverse,
      asCpu(out, "output").view() as FloatArray,
      rows,
      width,
    );
  },
  crossEntropy(logits, targets, ignoreIndex, out) {
    const heapLabels = heapTargets(targets);
    if (heapLabels && logits.buffer.dtype === "float32" && shapeSize(logits.shape) >= STREAMING_ELEMENTS) {
      const { rows, width } = rowsAndWidth(logits.shape);
      withHeapOperands((operand) => {
        asCpu(out, "output").view()[0] = crossEntropyHeap(
          operand(logits, "logits"),
          heapLabels,
          rows,
          width,
          ignoreIndex,
        );
      });
      return;
    }
    const source = contiguousData(logits, "logits");
    const labels = contiguousData(targets, "targets");
    const { rows, width } = rowsAndWidth(logits.shape);
    const loss = crossEntropyRows(
      source.data as FloatArray,
      source.offset,
      labels.data,
      labels.offset,
      ignoreIndex,
      rows,
      width,
    );
    asCpu(out, "output").view()[0] = loss;
  },
  crossEntropyBackward(logits, targets, ignoreIndex, gradLoss, out) {
    const heapLabels = heapTargets(targets);
    const output = asCpu(out, "output");
    const outputBlock = output.block;
    if (heapLabels && outputBlock && output.dtype === "float32" && shapeSize(logits.shape) >= STREAMING_ELEMENTS) {
      const { rows, width } = rowsAndWidth(logits.shape);
      const upstream = arrayView(gradLoss, "gradLoss");
      withHeapOperands((operand) => {
        crossEntropyBackwardHeap(
          operand(logits, "logits"),
          heapLabels,
          { block: outputBlock, offset: 0 },
          rows,
          width,
          ignoreIndex,
          upstream.data[upstream.offset] as number,
        );
      });
      return;
    }
    const source = contiguousData(logits, "logits");
    const labels = contiguousData(targets, "targets");
    const { rows, width } = rowsAndWidth(logits.shape);
    const upstream = arrayView(gradLoss, "gradLoss");
    crossEntropyBackwardRows(
      source.data as FloatArray,
      source.offset,
      labels.data,
      labels.offset,
      ignoreIndex,
      upstream.data[upstream.offset],
      asCpu(out, "output").view() as FloatArray,
      rows,
      width,
    );
  },
  swiglu(gate, up, out) {
    const length = shapeSize(gate.shape);
    const output = asCpu(out, "output");
    const outputBlock = output.block;
    if (outputBlock) {
      withHeapOperands((operand) => {
        swigluHeap(operand(gate, "gate"), operand(up, "up"), { block: outputBlock, offset: 0 }, length);
      });
      return;
    }
    const g = contiguousData(gate, "gate");
    const u = contiguousData(up, "up");
    const o = output.view();
    for (let index = 0; index < length; index++) {
      const x = g.data[g.offset + index];
      o[index] = (x / (1 + Math.exp(-x))) * u.data[u.offset + index];
    }
  },
  swigluBackward(gate, up, gradOut, gradGate, gradUp) {
    const length = shapeSize(gate.shape);
    const gateOut = asCpu(gradGate, "gradGate");
    const gateOutBlock = gateOut.block;
    const upOut = asCpu(gradUp, "gradUp");
    const upOutBlock = upOut.block;
    if (gateOutBlock && upOutBlock) {
      withHeapOperands((operand) => {
        swigluBackwardHeap(
          operand(gate, "gate"),
          operand(up, "up"),
          operand(gradOut, "gradOut"),
          { block: gateOutBlock, offset: 0 },
          { block: upOutBlock, offset: 0 },
          length,
        );
      });
      return;
    }
    const g = contiguousData(gate, "gate");
    const u = contiguousData(up, "up");
    const d = contiguousData(gradOut, "gradOut");
    const dg = gateOut.view();
    const du = upOut.view();
    for (let index = 0; index < length; index++) {
      const x = g.data[g.offset + index];
      const denominator = 1 + Math.exp(-x);
      const s = 1 / denominator;
      const gradient = d.data[d.offset + index];
      du[index] = gradient * (x / denominator);
      dg[index] = gradient * u.data[u.offset + index] * (s * (1 + x * (1 - s)));
    }
  },
  adamw(param, grad, m, v, hyperparameters: AdamWHyperparameters) {
    const paramBlock = asCpu(param, "param").block;
    const gradBlock = asCpu(grad.buffer, "grad").block;
    const mBlock = asCpu(m, "m").block;
    const vBlock = asCpu(v, "v").block;
    if (
      paramBlock &&
      gradBlock &&
      mBlock &&
      vBlock &&
      param.dtype === "float32" &&
      grad.buffer.dtype === "float32" &&
      isContiguousLayout(grad.shape, grad.strides)
    ) {
      const at = (block: HeapBlock, offset = 0): Operand => ({ block, offset });
      adamwHeap(at(paramBlock), at(gradBlock, grad.offset), at(mBlock), at(vBlock), param.length, hyperparameters);
      return;
    }
    const gradient = contiguousData(grad, "grad");
    adamwStep(
      asCpu(param, "param").view() as FloatArray,
      gradient.data as FloatArray,
      gradient.offset,
      asCpu(m, "m").view() as FloatArray,
      asCpu(v, "v").view() as FloatArray,
      param.length,
      hyperparameters,
    );
  },
  argmax(x, out) {
    const source = contiguousData(x, "input");
    const { rows, width } = rowsAndWidth(x.shape);
    argmaxRows(source.data, source.offset, rows, width, asCpu(out, "output").view());
  },
  topk(x, k, values, indices) {
    const source = contiguousData(x, "input");
    const { rows, width } = rowsAndWidth(x.shape);
    topkRows(
      source.data,
      source.offset,
      rows,
      width,
      k,
      asCpu(values, "values").view(),
      asCpu(indices, "indices").view(),
    );
  },
  multinomial(weights, uniforms, out) {
    const source = contiguousData(weights, "weights");
    const draws = contiguousData(uniforms, "uniforms");
    const { rows, width } = rowsAndWidth(weights.shape);
    const samples = uniforms.shape[uniforms.shape.length - 1];
    multinomialRows(
      source.data,
      source.offset,
      rows,
      width,
      draws.data,
      draws.offset,
      samples,
      asCpu(out, "output").view(),
    );
  },
  matmulQuantized(x, weight, out) {
    const scales = weight.scales === null ? null : asCpu(weight.scales, "scales");
    cpuMatmulQuantized(x, asCpu(x.buffer, "input"), weight, asCpu(weight.data, "weight"), scales, asCpu(out, "output"));
  },
};

export class CpuBackend implements Backend {
  readonly name = "cpu";
  readonly kernels: Kernels & QuantizedKernels = kernels;
  private plainBytes = 0;
  private plainBuffers = 0;

  supportsDType(_dtype: DType): boolean {
    return true;
  }

  allocate(dtype: DType, length: number, zeroed = false): BackendBuffer {
    const buffer = new CpuBuffer(dtype, length, zeroed);
    if (!buffer.block) {
      this.plainBytes += length * bytesPerElement(dtype);
      this.plainBuffers++;
    }
    return buffer;
  }

  free(buffer: BackendBuffer): void {
    const cpu = asCpu(buffer, "freed");
    if (cpu.block) {
      getHeap().free(cpu.block);
      cpu.block = null;
    } else {
      this.plainBytes -= cpu.length * bytesPerElement(cpu.dtype);
      this.plainBuffers--;
    }
  }

  write(buffer: BackendBuffer, data: TypedArray): void {
    copyIntoArray(asCpu(buffer, "written").view(), data);
  }

  read(buffer: BackendBuffer): Promise<TypedArray> {
    return Promise.resolve(this.readSync(buffer));
  }

  readSync(buffer: BackendBuffer): TypedArray {
    return copyOfArray(asCpu(buffer, "read").view());
  }

  hostView(buffer: BackendBuffer): TypedArray {
    return cpuBufferData(buffer);
  }

  memory(): BackendMemoryInfo {
    const heap = getHeap().stats();
    return {
      bytesInUse: heap.bytesInUse + this.plainBytes,
      bytesPooled: heap.bytesPooled,
      buffersInUse: heap.blocksInUse + this.plainBuffers,
    };
  }
}

/** The raw elements of a CPU buffer (a live view, valid until the next allocation). */
export function cpuBufferData(buffer: BackendBuffer): TypedArray {
  return asCpu(buffer, "accessed").view();
}
