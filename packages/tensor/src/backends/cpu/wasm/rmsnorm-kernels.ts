/**
 * RMSNorm as jobs of the matmul module (see streaming-kernels.ts for the descriptor words), bit for bit the
 * JavaScript row kernels (`rmsnormRows`, `rmsnormBackwardRows`): every row's sums run in float64 in element
 * order, as scalar adds, and each output is the same float64 expression rounded once to float32 — so the
 * elementwise parts can use f64x2 lanes without changing a bit. Three job kinds:
 * - RMSNORM (a range of rows): out = x · r · w with r = 1/√(Σx²/d + ε).
 * - RMSNORM_BACKWARD_ROWS (a range of rows): gradX = r·g·w − (r³·Σ(g·w·x)/d)·x, and each row's r (float64)
 *   into a scratch array for the next job.
 * - RMSNORM_BACKWARD_COLUMNS (a range of columns): gradWeight[j] += g·x·r over the rows in order, rounded to
 *   float32 after every row as the JavaScript kernel's float32 array stores it, so columns can be split over
 *   threads and rows cannot.
 * Not here: the host side (streaming.ts), strided operands (the backend copies them first).
 */
import { jobFunction, pairLoops } from "./streaming-kernels.js";
import { F64, type FunctionBuilder, I32, V128 } from "./wasm-emitter.js";

export const JOB_RMSNORM = 28;
export const JOB_RMSNORM_BACKWARD_ROWS = 29;
export const JOB_RMSNORM_BACKWARD_COLUMNS = 30;

/** r = 1 / √(squares / width + ε) into `r`, from float64 locals. */
function emitScale(f: FunctionBuilder, squares: number, width: number, epsilon: number, r: number): void {
  f.f64Const(1).get(squares).get(width).f64ConvertI32S().f64Div().get(epsilon).f64Add().f64Sqrt().f64Div().set(r);
}

function forwardFunction(): FunctionBuilder {
  const { f, field } = jobFunction("rmsnorm");
  const [x, weight, out, rows, width, constants] = (
    ["first", "second", "out", "length", "width", "constants"] as const
  ).map(field) as [number, number, number, number, number, number];
  const epsilon = f.local(F64);
  const row = f.local(I32);
  const rowBytes = f.local(I32);
  const base = f.local(I32);
  const outBase = f.local(I32);
  const j = f.local(I32);
  const squares = f.local(F64);
  const value = f.local(F64);
  const scale = f.local(F64);
  const scaleVector = f.local(V128);
  f.get(constants).f64Load().set(epsilon);
  f.get(width).i32Const(2).i32Shl().set(rowBytes);
  f.forLoop(
    row,
    () => f.i32Const(0),
    rows,
    1,
    () => {
      f.get(x).get(row).get(rowBytes).i32Mul().i32Add().set(base);
      f.get(out).get(row).get(rowBytes).i32Mul().i32Add().set(outBase);
      // Σ x² in float64, element by element
      f.f64Const(0).set(squares);
      f.forLoop(
        j,
        () => f.i32Const(0),
        width,
        1,
        () => {
          f.get(base).get(j).i32Const(2).i32Shl().i32Add().f32Load().f64PromoteF32().tee(value);
          f.get(value).f64Mul().get(squares).f64Add().set(squares);
        },
      );
      emitScale(f, squares, width, epsilon, scale);
      f.get(scale).f64x2Splat().set(scaleVector);
      // out = (x · r) · w
      pairLoops(f, width, (wide, byteOffset) => {
        f.get(outBase).get(byteOffset).i32Add();
        wide.load(() => f.get(base).get(byteOffset).i32Add());
        f.get(wide.vector ? scaleVector : scale);
        wide.mul();
        wide.load(() => f.get(weight).get(byteOffset).i32Add());
        wide.mul();
        wide.store();
      });
    },
  );
  return f;
}

function backwardRowsFunction(): FunctionBuilder {
  const { f, field } = jobFunction("rmsnorm_backward_rows");
  const [x, weight, gradient, gradX, scales, rows, width, constants] = (
    ["first", "second", "third", "out", "secondOut", "length", "width", "constants"] as const
  ).map(field) as [number, number, number, number, number, number, number, number];
  const epsilon = f.local(F64);
  const row = f.local(I32);
  const rowBytes = f.local(I32);
  const base = f.local(I32);
  const gradientBase = f.local(I32);
  const outBase = f.local(I32);
  const j = f.local(I32);
  const offset = f.local(I32);
  const squares = f.local(F64);
  const dot = f.local(F64);
  const value = f.local(F64);
  const r = f.local(F64);
  const correction = f.local(F64);
  const rVector = f.local(V128);
  const correctionVector = f.local(V128);
  f.get(constants).f64Load().set(epsilon);
  f.get(width).i32Const(2).i32Shl().set(rowBytes);
  f.forLoop(
    row,
    () => f.i32Const(0),
    rows,
    1,
    () => {
      f.get(row).get(rowBytes).i32Mul().set(offset);
      f.get(x).get(offset).i32Add().set(base);
      f.get(gradient).get(offset).i32Add().set(gradientBase);
      f.get(gradX).get(offset).i32Add().set(outBase);
      f.f64Const(0).set(squares);
      f.f64Const(0).set(dot);
      // Σ x² and Σ (g·w)·x in float64, element by element
      f.forLoop(
        j,
        () => f.i32Const(0),
        width,
        1,
        () => {
          f.get(j).i32Const(2).i32Shl().set(offset);
          f.get(base).get(offset).i32Add().f32Load().f64PromoteF32().set(value);
          f.get(squares).get(value).get(value).f64Mul().f64Add().set(squares);
          f.get(dot);
          f.get(gradientBase).get(offset).i32Add().f32Load().f64PromoteF32();
          f.get(weight).get(offset).i32Add().f32Load().f64PromoteF32();
          f.f64Mul().get(value).f64Mul().f64Add().set(dot);
        },
      );
      emitScale(f, squares, width, epsilon, r);
      // correction = r·r·r·dot / d, r kept for the column job
      f.get(r).get(r).f64Mul().get(r).f64Mul().get(dot).f64Mul().get(width).f64ConvertI32S().f64Div().set(correction);
      f.get(scales).get(row).i32Const(3).i32Shl().i32Add().get(r).f64Store();
      f.get(r).f64x2Splat().set(rVector);
      f.get(correction).f64x2Splat().set(correctionVector);
      // gradX = r·g·w − correction·x
      pairLoops(f, width, (wide, byteOffset) => {
        f.get(outBase).get(byteOffset).i32Add();
        f.get(wide.vector ? rVector : r);
        wide.load(() => f.get(gradientBase).get(byteOffset).i32Add());
        wide.mul();
        wide.load(() => f.get(weight).get(byteOffset).i32Add());
        wide.mul();
        f.get(wide.vector ? correctionVector : correction);
        wide.load(() => f.get(base).get(byteOffset).i32Add());
        wide.mul();
        wide.sub();
        wide.store();
      });
    },
  );
  return f;
}

function backwardColumnsFunction(): FunctionBuilder {
  const { f, field } = jobFunction("rmsnorm_backward_columns");
  // x, g and gradWeight at this job's first column; `width` is the row stride, `length` the columns.
  const [x, gradient, gradWeight, scales, columns, rows, width] = (
    ["first", "third", "out", "secondOut", "length", "rows", "width"] as const
  ).map(field) as [number, number, number, number, number, number, number];
  const row = f.local(I32);
  const offset = f.local(I32);
  const r = f.local(F64);
  const rVector = f.local(V128);
  f.forLoop(
    row,
    () => f.i32Const(0),
    rows,
    1,
    () => {
      f.get(scales).get(row).i32Const(3).i32Shl().i32Add().f64Load().tee(r).f64x2Splat().set(rVector);
      f.get(row).get(width).i32Mul().i32Const(2).i32Shl().set(offset);
      // gradWeight[j] = float32(gradWeight[j] + (g·x)·r)
      pairLoops(f, columns, (wide, byteOffset) => {
        f.get(gradWeight).get(byteOffset).i32Add();
        wide.load(() => f.get(gradWeight).get(byteOffset).i32Add());
        wide.load(() => f.get(gradient).get(offset).i32Add().get(byteOffset).i32Add());
        wide.load(() => f.get(x).get(offset).i32Add().get(byteOffset).i32Add());
        wide.mul();
        f.get(wide.vector ? rVector : r);
        wide.mul();
        wide.add();
        wide.store();
      });
    },
  );
  return f;
}

/** The rmsnorm kernels with their job kinds, for the module's dispatcher (kernels.ts). */
export function rmsnormKernelFunctions(): Array<{ kind: number; fn: FunctionBuilder }> {
  return [
    { kind: JOB_RMSNORM, fn: forwardFunction() },
    { kind: JOB_RMSNORM_BACKWARD_ROWS, fn: backwardRowsFunction() },
    { kind: JOB_RMSNORM_BACKWARD_COLUMNS, fn: backwardColumnsFunction() },
  ];
}
