/**
 * Cross-entropy over rows of logits as jobs of the matmul module (descriptor words: streaming-kernels.ts), bit
 * for bit the JavaScript row kernels (`crossEntropyRows`, `crossEntropyBackwardRows`): the row maximum, then
 * Σ exp(x − max) in float64 in element order with fdlibm's exp — the one `Math.exp` runs (exp64.ts) — and the
 * gradient's float32 stores in the same order. Two job kinds over a range of rows; a row whose target is the
 * ignored value is skipped (forward) or zeroed (backward):
 * - CROSS_ENTROPY: each kept row's float64 Σ exp(x − max) and max into a scratch array; the host finishes
 *   the mean with `Math.log` (wasm has no log), in row order, exactly as the JavaScript kernel sums it.
 * - CROSS_ENTROPY_BACKWARD: out = float32(exp(x − max)), then out ·= scale / Σ, then out[target] −= scale.
 * Targets are checked on the host first. Not here: the host side (streaming.ts).
 */
import { emitExp64, exp64Locals } from "./exp64.js";
import { jobFunction } from "./streaming-kernels.js";
import { F64, type FunctionBuilder, I32 } from "./wasm-emitter.js";

export const JOB_CROSS_ENTROPY = 31;
export const JOB_CROSS_ENTROPY_BACKWARD = 32;

/** The row maximum of the float32 row at `base` into the float64 `maximum` (`x > max` keeps the first; NaN skipped). */
function emitRowMaximum(
  f: FunctionBuilder,
  base: number,
  width: number,
  j: number,
  value: number,
  maximum: number,
): void {
  f.f64Const(Number.NEGATIVE_INFINITY).set(maximum);
  f.forLoop(
    j,
    () => f.i32Const(0),
    width,
    1,
    () => {
      f.get(base).get(j).i32Const(2).i32Shl().i32Add().f32Load().f64PromoteF32().set(value);
      f.get(value).get(maximum).get(value).get(maximum).f64Gt().select().set(maximum);
    },
  );
}

/**
 * Σ exp(x − max) over the row at `base` into the float64 `sum`, element by element; with `out`, each exp also
 * stored there rounded to float32 (the backward's first pass).
 */
function emitExpSum(
  f: FunctionBuilder,
  row: { base: number; width: number; j: number; maximum: number; sum: number; value: number },
  locals: ReturnType<typeof exp64Locals>,
  out?: number,
): void {
  const { base, width, j, maximum, sum, value } = row;
  f.f64Const(0).set(sum);
  f.forLoop(
    j,
    () => f.i32Const(0),
    width,
    1,
    () => {
      f.get(base).get(j).i32Const(2).i32Shl().i32Add().f32Load().f64PromoteF32().get(maximum).f64Sub();
      emitExp64(f, locals);
      f.set(value);
      if (out !== undefined) f.get(out).get(j).i32Const(2).i32Shl().i32Add().get(value).f32DemoteF64().f32Store();
      f.get(sum).get(value).f64Add().set(sum);
    },
  );
}

function forwardFunction(): FunctionBuilder {
  const { f, field } = jobFunction("cross_entropy");
  const [logits, targets, scratch, rows, width, ignore] = (
    ["first", "third", "out", "length", "width", "ignore"] as const
  ).map(field) as [number, number, number, number, number, number];
  const row = f.local(I32);
  const j = f.local(I32);
  const base = f.local(I32);
  const value = f.local(F64);
  const maximum = f.local(F64);
  const sum = f.local(F64);
  const locals = exp64Locals(f);
  f.forLoop(
    row,
    () => f.i32Const(0),
    rows,
    1,
    () => {
      f.get(targets)
        .get(row)
        .i32Const(2)
        .i32Shl()
        .i32Add()
        .i32Load()
        .get(ignore)
        .i32Ne()
        .ifThen(() => {
          f.get(logits).get(row).get(width).i32Mul().i32Const(2).i32Shl().i32Add().set(base);
          emitRowMaximum(f, base, width, j, value, maximum);
          emitExpSum(f, { base, width, j, maximum, sum, value }, locals);
          f.get(scratch).get(row).i32Const(4).i32Shl().i32Add().get(sum).f64Store();
          f.get(scratch).get(row).i32Const(4).i32Shl().i32Add().get(maximum).f64Store(8);
        });
    },
  );
  return f;
}

function backwardFunction(): FunctionBuilder {
  const { f, field } = jobFunction("cross_entropy_backward");
  const [logits, targets, out, rows, width, ignore, constants] = (
    ["first", "third", "out", "length", "width", "ignore", "constants"] as const
  ).map(field) as [number, number, number, number, number, number, number];
  const row = f.local(I32);
  const j = f.local(I32);
  const base = f.local(I32);
  const outBase = f.local(I32);
  const target = f.local(I32);
  const address = f.local(I32);
  const value = f.local(F64);
  const maximum = f.local(F64);
  const sum = f.local(F64);
  const scale = f.local(F64);
  const factor = f.local(F64);
  const locals = exp64Locals(f);
  f.get(constants).f64Load().set(scale);
  f.forLoop(
    row,
    () => f.i32Const(0),
    rows,
    1,
    () => {
      f.get(out).get(row).get(width).i32Mul().i32Const(2).i32Shl().i32Add().set(outBase);
      f.get(targets).get(row).i32Const(2).i32Shl().i32Add().i32Load().tee(target);
      f.get(ignore)
        .i32Eq()
        .ifThen(
          () => {
            f.forLoop(
              j,
              () => f.i32Const(0),
              width,
              1,
              () => {
                f.get(outBase).get(j).i32Const(2).i32Shl().i32Add().f32Const(0).f32Store();
              },
            );
          },
          () => {
            f.get(logits).get(row).get(width).i32Mul().i32Const(2).i32Shl().i32Add().set(base);
            emitRowMaximum(f, base, width, j, value, maximum);
            // out = float32(exp(x − max)); Σ of the float64 values
            emitExpSum(f, { base, width, j, maximum, sum, value }, locals, outBase);
            // out ·= scale / Σ; out[target] −= scale
            f.get(scale).get(sum).f64Div().set(factor);
            f.forLoop(
              j,
              () => f.i32Const(0),
              width,
              1,
              () => {
                f.get(outBase).get(j).i32Const(2).i32Shl().i32Add().tee(address);
                f.get(address).f32Load().f64PromoteF32().get(factor).f64Mul().f32DemoteF64().f32Store();
              },
            );
            f.get(outBase).get(target).i32Const(2).i32Shl().i32Add().tee(address);
            f.get(address).f32Load().f64PromoteF32().get(scale).f64Sub().f32DemoteF64().f32Store();
          },
        );
    },
  );
  return f;
}

/** The cross-entropy kernels with their job kinds, for the module's dispatcher (kernels.ts). */
export function crossEntropyKernelFunctions(): Array<{ kind: number; fn: FunctionBuilder }> {
  return [
    { kind: JOB_CROSS_ENTROPY, fn: forwardFunction() },
    { kind: JOB_CROSS_ENTROPY_BACKWARD, fn: backwardFunction() },
  ];
}
