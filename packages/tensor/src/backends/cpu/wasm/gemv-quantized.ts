/**
 * The matmul module's kernels for sub-fp32 weights (inference only): a weight W [n, k] in the PyTorch Linear
 * layout, stored as int8 with one float32 scale per block of 32 along k (llama.cpp's Q8_0 layout, with a
 * float32 scale instead of an fp16 one) or as bfloat16. Five job kinds, run by the module's job dispatcher
 * (kernels.ts) from the usual 64-byte descriptor:
 * - GEMV (m = 1, a decode step): out[j] = dot(a, W[j, :]) with W's row widened to float32 in registers —
 *   int8 · scale, or bf16 bits shifted into a float32's upper half — and summed in exactly the order of the
 *   float32 `gemv_transposed` kernel (two f32x4 accumulators over k rounded down to 8, lanes summed as
 *   (0 + 1) + (2 + 3), then the scalar tail), so the result is bit-identical to that kernel run on the
 *   dequantized weight.
 * - the integer int8 GEMV (the default for int8 decode): activations rounded to int16 per block of 32, block
 *   sums in exact int32 lanes, one float32 multiply-add per block — about half the instructions, within a
 *   stated bound of the exact product instead of bit-identical (`gemvInt8DotFunction`).
 * - DEQUANTIZE: rows of W widened to float32 [rows, k], the panel the GEMM path (m > 1) then multiplies.
 * Storage: int8 rows are padded to a multiple of 32 bytes (zeros), scales are [n, ⌈k/32⌉] float32; bf16
 * rows are padded to a multiple of 8 values (16 bytes). Not here: quantization itself (the front end's
 * `quantizeWeight`), threading (`matmul.ts`).
 */
import { FIELD } from "./job.js";
import { F32, FunctionBuilder, I32, unsignedLeb128, V128 } from "./wasm-emitter.js";

/** Job kinds of these kernels (descriptor word 0), after the float32 ones in job.ts. */
export const JOB_GEMV_INT8 = 16;
export const JOB_GEMV_BF16 = 17;
export const JOB_DEQUANTIZE_INT8 = 18;
export const JOB_DEQUANTIZE_BF16 = 19;
export const JOB_GEMV_INT8_DOT = 20;

/** Values per int8 block (one scale each). */
export const INT8_BLOCK = 32;
/** bf16 rows are padded to this many values. */
export const BF16_ROW_ALIGN = 8;

/**
 * Descriptor words of a quantized job (the float32 jobs' words, reused): `a` the float32 activations (GEMV),
 * `b` the first weight row's bytes, `scales` the first row's scales (int8), `out` the first output element,
 * `n` the rows of W this job covers, `k` the depth.
 */
export const QUANTIZED_FIELD = {
  kind: FIELD.kind,
  a: FIELD.a,
  weights: FIELD.b,
  scales: FIELD.bColumnStride,
  /** The int16 activations' block scales (the integer GEMV only). */
  activationScales: FIELD.aRowStride,
  out: FIELD.out,
  n: FIELD.n,
  k: FIELD.k,
} as const;

/** Bytes of one stored weight row. */
export function int8RowBytes(k: number): number {
  return Math.ceil(k / INT8_BLOCK) * INT8_BLOCK;
}
export function bf16RowBytes(k: number): number {
  return Math.ceil(k / BF16_ROW_ALIGN) * BF16_ROW_ALIGN * 2;
}

const SIMD = 0xfd;
/** i8x16.shuffle lanes that interleave 16-bit halves: zero (first operand) low, the bf16 bits (second) high. */
const WIDEN_LOW = [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23];
const WIDEN_HIGH = [8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31];

/** The function builder plus the few integer-widening instructions these kernels need. */
class WideningBuilder extends FunctionBuilder {
  private emit(...values: number[]): this {
    this.code.push(...values);
    return this;
  }
  /** Eight int8 values sign-extended to i16x8 (`v128.load8x8_s`). */
  v128Load8x8S(offset = 0): this {
    return this.emit(SIMD, 0x01, 0, ...unsignedLeb128(offset));
  }
  i32x4ExtendLowI16x8S(): this {
    return this.emit(SIMD, ...unsignedLeb128(0xa7));
  }
  i32x4ExtendHighI16x8S(): this {
    return this.emit(SIMD, ...unsignedLeb128(0xa8));
  }
  f32x4ConvertI32x4S(): this {
    return this.emit(SIMD, ...unsignedLeb128(0xfa));
  }
  i8x16Shuffle(lanes: readonly number[]): this {
    return this.emit(SIMD, 0x0d, ...lanes);
  }
  i32Load8S(offset = 0): this {
    return this.emit(0x2c, 0, ...unsignedLeb128(offset));
  }
  i32Load16U(offset = 0): this {
    return this.emit(0x2f, 0, ...unsignedLeb128(offset));
  }
  f32ConvertI32S(): this {
    return this.emit(0xb2);
  }
  i16x8ExtendLowI8x16S(): this {
    return this.emit(SIMD, ...unsignedLeb128(0x87));
  }
  i16x8ExtendHighI8x16S(): this {
    return this.emit(SIMD, ...unsignedLeb128(0x88));
  }
  /** Lane-pair products of two i16x8 summed into i32x4 (`i32x4.dot_i16x8_s`). */
  i32x4DotI16x8S(): this {
    return this.emit(SIMD, ...unsignedLeb128(0xba));
  }
}

type Format = "int8" | "bf16";

/** Reads the descriptor words a kernel needs into locals. */
function fields(f: FunctionBuilder) {
  const field = (name: keyof typeof QUANTIZED_FIELD) => {
    const local = f.local(I32);
    f.get(0)
      .i32Load(QUANTIZED_FIELD[name] * 4)
      .set(local);
    return local;
  };
  return {
    a: field("a"),
    weights: field("weights"),
    scales: field("scales"),
    out: field("out"),
    n: field("n"),
    k: field("k"),
  };
}

/**
 * Pushes two f32x4 (values p … p+3 and p+4 … p+7 of a row) widened from the weight bytes at `address`
 * (int8: times the splatted scale in `scale`).
 */
function widenEight(
  f: WideningBuilder,
  format: Format,
  address: () => void,
  offset: number,
  scale: number,
  zero: number,
) {
  if (format === "int8") {
    const q = f.local(V128);
    address();
    f.v128Load8x8S(offset).set(q);
    f.get(q).i32x4ExtendLowI16x8S().f32x4ConvertI32x4S().get(scale).f32x4Mul();
    f.get(q).i32x4ExtendHighI16x8S().f32x4ConvertI32x4S().get(scale).f32x4Mul();
  } else {
    const w = f.local(V128);
    address();
    f.v128Load(offset).set(w);
    f.get(zero).get(w).i8x16Shuffle(WIDEN_LOW);
    f.get(zero).get(w).i8x16Shuffle(WIDEN_HIGH);
  }
}

/** Pushes the float32 value of weight p of the row at `row` (int8: times the block's scale). */
function widenOne(f: WideningBuilder, format: Format, row: number, p: number, scaleRow: number) {
  if (format === "int8") {
    f.get(row).get(p).i32Add().i32Load8S().f32ConvertI32S();
    f.get(scaleRow).get(p).i32Const(5).i32ShrS().i32Const(2).i32Shl().i32Add().f32Load().f32Mul();
  } else {
    f.get(row).get(p).i32Const(1).i32Shl().i32Add().i32Load16U().i32Const(16).i32Shl().f32ReinterpretI32();
  }
}

/** The row's byte stride (k padded as stored) into `rowBytes`, and the scale row's into `scaleBytes`. */
function strides(f: FunctionBuilder, format: Format, k: number, rowBytes: number, scaleBytes: number) {
  if (format === "int8") {
    f.get(k)
      .i32Const(INT8_BLOCK - 1)
      .i32Add()
      .i32Const(-INT8_BLOCK)
      .i32And()
      .set(rowBytes);
    f.get(rowBytes).i32Const(3).i32ShrS().set(scaleBytes); // ⌈k/32⌉ float32 scales
  } else {
    f.get(k)
      .i32Const(BF16_ROW_ALIGN - 1)
      .i32Add()
      .i32Const(-BF16_ROW_ALIGN)
      .i32And()
      .i32Const(1)
      .i32Shl()
      .set(rowBytes);
    f.i32Const(0).set(scaleBytes);
  }
}

/** GEMV over sub-fp32 weights: out[j] = dot(a, W[j, :]) for the job's n rows. */
export function gemvQuantizedFunction(format: Format): FunctionBuilder {
  const f = new WideningBuilder(`gemv_${format}`, [I32], []);
  const { a, weights, scales, out, n, k } = fields(f);
  const rowBytes = f.local(I32);
  const scaleBytes = f.local(I32);
  const k8 = f.local(I32);
  const j = f.local(I32);
  const p = f.local(I32);
  const blockStart = f.local(I32);
  const blockEnd = f.local(I32);
  const row = f.local(I32);
  const scaleRow = f.local(I32);
  const scale = f.local(V128);
  const zero = f.local(V128);
  const first = f.local(V128);
  const second = f.local(V128);
  const sum = f.local(F32);
  strides(f, format, k, rowBytes, scaleBytes);
  f.get(k).i32Const(-8).i32And().set(k8);
  f.v128Zero().set(zero);
  f.v128Zero().set(scale);
  f.forLoop(
    j,
    () => f.i32Const(0),
    n,
    1,
    () => {
      f.get(weights).get(j).get(rowBytes).i32Mul().i32Add().set(row);
      f.get(scales).get(j).get(scaleBytes).i32Mul().i32Add().set(scaleRow);
      f.v128Zero().set(first);
      f.v128Zero().set(second);
      // One block of 32 at a time (int8: one scale per block), eight values per step.
      f.forLoop(
        blockStart,
        () => f.i32Const(0),
        k8,
        INT8_BLOCK,
        () => {
          if (format === "int8") {
            f.get(scaleRow).get(blockStart).i32Const(3).i32ShrS().i32Add().v128Load32Splat().set(scale);
          }
          f.minOf(
            () => f.get(blockStart).i32Const(INT8_BLOCK).i32Add(),
            () => f.get(k8),
          ).set(blockEnd);
          f.forLoop(
            p,
            () => f.get(blockStart),
            blockEnd,
            8,
            () => {
              const weightAddress = () =>
                format === "int8" ? f.get(row).get(p).i32Add() : f.get(row).get(p).i32Const(1).i32Shl().i32Add();
              widenEight(f, format, weightAddress, 0, scale, zero);
              // Stack: low four, high four. Multiply each by a's matching four and add to its accumulator.
              const high = f.local(V128);
              f.set(high);
              f.get(a).get(p).i32Const(2).i32Shl().i32Add().v128Load().f32x4Mul().get(first).f32x4Add().set(first);
              f.get(high);
              f.get(a).get(p).i32Const(2).i32Shl().i32Add().v128Load(16).f32x4Mul().get(second).f32x4Add().set(second);
            },
          );
        },
      );
      f.get(first).get(second).f32x4Add().set(first);
      f.f32x4LaneSum(first).set(sum);
      f.forLoop(
        p,
        () => f.get(k8),
        k,
        1,
        () => {
          f.get(sum);
          widenOne(f, format, row, p, scaleRow);
          f.get(a).get(p).i32Const(2).i32Shl().i32Add().f32Load().f32Mul().f32Add().set(sum);
        },
      );
      f.get(out).get(j).i32Const(2).i32Shl().i32Add().get(sum).f32Store();
    },
  );
  return f;
}

/**
 * The int8 GEMV on integer lanes (llama.cpp's way for Q8_0, with 16-bit activations): the activations arrive
 * as int16 with one float32 scale per block of 32 (`a` the int16 values, k padded to the block with zeros;
 * `activationScales` their scales), so each block is Σ q_w·q_a in exact int32 arithmetic (`i32x4.dot_i16x8_s`:
 * at most 32·127·32767 < 2^31) and the float32 work is one multiply-add per block by d_w·d_a. About half the
 * instructions per weight of the widening kernel above. Not bit-identical to the float32 matmul: see
 * `quantizeActivations` for the error.
 */
export function gemvInt8DotFunction(): FunctionBuilder {
  const f = new WideningBuilder("gemv_int8_dot", [I32], []);
  const { a, weights, scales, out, n, k } = fields(f);
  const activationScales = f.local(I32);
  f.get(0)
    .i32Load(QUANTIZED_FIELD.activationScales * 4)
    .set(activationScales);
  const rowBytes = f.local(I32);
  const scaleBytes = f.local(I32);
  const j = f.local(I32);
  const w = f.local(I32);
  const p = f.local(I32);
  const x = f.local(I32);
  const ws = f.local(I32);
  const xs = f.local(I32);
  const first = f.local(V128);
  const second = f.local(V128);
  const integers = f.local(V128);
  const accumulator = f.local(V128);
  strides(f, "int8", k, rowBytes, scaleBytes);
  f.forLoop(
    j,
    () => f.i32Const(0),
    n,
    1,
    () => {
      f.get(weights).get(j).get(rowBytes).i32Mul().i32Add().set(w);
      f.get(scales).get(j).get(scaleBytes).i32Mul().i32Add().set(ws);
      f.get(a).set(x);
      f.get(activationScales).set(xs);
      f.v128Zero().set(accumulator);
      f.forLoop(
        p,
        () => f.i32Const(0),
        rowBytes,
        INT8_BLOCK,
        () => {
          f.get(w).get(p).i32Add().v128Load(0).set(first);
          f.get(w).get(p).i32Add().v128Load(16).set(second);
          f.get(first).i16x8ExtendLowI8x16S().get(x).v128Load(0).i32x4DotI16x8S();
          f.get(first).i16x8ExtendHighI8x16S().get(x).v128Load(16).i32x4DotI16x8S().i32x4Add();
          f.get(second).i16x8ExtendLowI8x16S().get(x).v128Load(32).i32x4DotI16x8S();
          f.get(second).i16x8ExtendHighI8x16S().get(x).v128Load(48).i32x4DotI16x8S().i32x4Add();
          f.i32x4Add().set(integers);
          f.get(integers).f32x4ConvertI32x4S();
          f.get(ws).f32Load().get(xs).f32Load().f32Mul().f32x4Splat();
          f.f32x4Mul().get(accumulator).f32x4Add().set(accumulator);
          f.get(x).i32Const(64).i32Add().set(x);
          f.get(ws).i32Const(4).i32Add().set(ws);
          f.get(xs).i32Const(4).i32Add().set(xs);
        },
      );
      f.get(out).get(j).i32Const(2).i32Shl().i32Add();
      f.f32x4LaneSum(accumulator).f32Store();
    },
  );
  return f;
}

/** Widens the job's n rows of W to float32, out [n, k] row-major (row stride k). */
export function dequantizeFunction(format: Format): FunctionBuilder {
  const f = new WideningBuilder(`dequantize_${format}`, [I32], []);
  const { weights, scales, out, n, k } = fields(f);
  const rowBytes = f.local(I32);
  const scaleBytes = f.local(I32);
  const k8 = f.local(I32);
  const j = f.local(I32);
  const p = f.local(I32);
  const row = f.local(I32);
  const scaleRow = f.local(I32);
  const target = f.local(I32);
  const scale = f.local(V128);
  const zero = f.local(V128);
  const high = f.local(V128);
  strides(f, format, k, rowBytes, scaleBytes);
  f.get(k).i32Const(-8).i32And().set(k8);
  f.v128Zero().set(zero);
  f.v128Zero().set(scale);
  f.forLoop(
    j,
    () => f.i32Const(0),
    n,
    1,
    () => {
      f.get(weights).get(j).get(rowBytes).i32Mul().i32Add().set(row);
      f.get(scales).get(j).get(scaleBytes).i32Mul().i32Add().set(scaleRow);
      f.get(out).get(j).get(k).i32Mul().i32Const(2).i32Shl().i32Add().set(target);
      f.forLoop(
        p,
        () => f.i32Const(0),
        k8,
        8,
        () => {
          if (format === "int8") {
            f.get(scaleRow).get(p).i32Const(3).i32ShrS().i32Const(-4).i32And().i32Add().v128Load32Splat().set(scale);
          }
          const weightAddress = () =>
            format === "int8" ? f.get(row).get(p).i32Add() : f.get(row).get(p).i32Const(1).i32Shl().i32Add();
          widenEight(f, format, weightAddress, 0, scale, zero);
          f.set(high);
          const low = f.local(V128);
          f.set(low);
          f.get(target).get(p).i32Const(2).i32Shl().i32Add().get(low).v128Store();
          f.get(target).get(p).i32Const(2).i32Shl().i32Add().get(high).v128Store(16);
        },
      );
      f.forLoop(
        p,
        () => f.get(k8),
        k,
        1,
        () => {
          f.get(target).get(p).i32Const(2).i32Shl().i32Add();
          widenOne(f, format, row, p, scaleRow);
          f.f32Store();
        },
      );
    },
  );
  return f;
}

/** The quantized kernels with their job kinds, for the module's dispatcher. */
export function quantizedKernelFunctions(): Array<{ kind: number; fn: FunctionBuilder }> {
  return [
    { kind: JOB_GEMV_INT8, fn: gemvQuantizedFunction("int8") },
    { kind: JOB_GEMV_BF16, fn: gemvQuantizedFunction("bf16") },
    { kind: JOB_DEQUANTIZE_INT8, fn: dequantizeFunction("int8") },
    { kind: JOB_DEQUANTIZE_BF16, fn: dequantizeFunction("bf16") },
    { kind: JOB_GEMV_INT8_DOT, fn: gemvInt8DotFunction() },
  ];
}
