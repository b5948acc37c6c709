/**
 * Contiguous float32 elementwise kernels on the wasm heap, f32x4 SIMD with a scalar tail: out = a + b,
 * out = a · b, and out = a + alpha · b (axpy, e.g. for gradient accumulation and optimizer steps). Operands
 * are heap blocks with element offsets, read in place; `out` may alias `a` or `b` exactly. Single-threaded:
 * these are memory-bound and short. Not here: broadcasting and strides (the CPU backend's JavaScript
 * kernels handle those), transcendental functions.
 */
import { checkLength, heapModule, type Operand, operandAddress } from "./heap-kernels.js";
import { F32, FunctionBuilder, I32, V128, type ValueType } from "./wasm-emitter.js";

interface ElementwiseExports {
  add(a: number, b: number, out: number, length: number): void;
  mul(a: number, b: number, out: number, length: number): void;
  axpy(a: number, b: number, out: number, length: number, alpha: number): void;
}

type Operation = "add" | "mul" | "axpy";

/** One kernel: (a, b, out, length[, alpha]) over byte addresses; four lanes at a time, then the rest. */
function binaryFunction(operation: Operation): FunctionBuilder {
  const params: ValueType[] = operation === "axpy" ? [I32, I32, I32, I32, F32] : [I32, I32, I32, I32];
  const f = new FunctionBuilder(operation, params, []);
  const [a, b, out, length, alpha] = [0, 1, 2, 3, 4];
  const index = f.local(I32);
  const vectorLength = f.local(I32);
  const offset = f.local(I32);
  const alphaVector = f.local(V128);
  if (operation === "axpy") f.get(alpha).f32x4Splat().set(alphaVector);
  f.get(length).i32Const(-4).i32And().set(vectorLength);
  const combine = (vector: boolean) => {
    if (operation === "add") vector ? f.f32x4Add() : f.f32Add();
    if (operation === "mul") vector ? f.f32x4Mul() : f.f32Mul();
  };
  const operandB = (vector: boolean) => {
    f.get(b).get(offset).i32Add();
    vector ? f.v128Load() : f.f32Load();
    if (operation === "axpy") {
      if (vector) f.get(alphaVector).f32x4Mul().f32x4Add();
      else f.get(alpha).f32Mul().f32Add();
    }
  };
  for (const vector of [true, false]) {
    f.forLoop(
      index,
      () => (vector ? f.i32Const(0) : f.get(vectorLength)),
      vector ? vectorLength : length,
      vector ? 4 : 1,
      () => {
        f.get(index).i32Const(2).i32Shl().set(offset);
        f.get(out).get(offset).i32Add();
        f.get(a).get(offset).i32Add();
        vector ? f.v128Load() : f.f32Load();
        operandB(vector);
        combine(vector);
        vector ? f.v128Store() : f.f32Store();
      },
    );
  }
  return f;
}

const getKernels = heapModule<ElementwiseExports>(() => (["add", "mul", "axpy"] as const).map(binaryFunction));
const KERNEL = "wasm elementwise";
const address = (name: string, operand: Operand, length: number) => operandAddress(KERNEL, name, operand, length);

/** out[i] = a[i] + b[i] for i < length. */
export function addInto(a: Operand, b: Operand, out: Operand, length: number): void {
  checkLength(KERNEL, length);
  getKernels().add(address("a", a, length), address("b", b, length), address("out", out, length), length);
}

/** out[i] = a[i] · b[i] for i < length. */
export function mulInto(a: Operand, b: Operand, out: Operand, length: number): void {
  checkLength(KERNEL, length);
  getKernels().mul(address("a", a, length), address("b", b, length), address("out", out, length), length);
}

/** out[i] = a[i] + alpha · b[i] for i < length (alpha rounded to float32). */
export function axpyInto(a: Operand, alpha: number, b: Operand, out: Operand, length: number): void {
  checkLength(KERNEL, length);
  getKernels().axpy(address("a", a, length), address("b", b, length), address("out", out, length), length, alpha);
}
