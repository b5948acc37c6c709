/**
 * A float64 exp for wasm kernels that must agree with JavaScript's `Math.exp` bit for bit: fdlibm's
 * `__ieee754_exp` (Sun Microsystems, 1993; the algorithm V8's `Math.exp` runs on Node 20 and 24, which a test
 * checks against `Math.exp` itself), written out instruction by instruction over plain IEEE float64 operations,
 * with no fused multiply-add, so every step rounds as the C code's does. Its steps: filter NaN, ±∞, overflow
 * and underflow on the high word; reduce x = k·ln2 + r with ln2 split in two (k·ln2HI exact), or k = ±1 near
 * ±ln2, or return 1 + x for |x| < 2^−28; then exp(r) = 1 − ((lo − r·c/(2 − c)) − hi) from a degree-5 rational
 * correction c, scaled by 2^k (twice when the result is subnormal). Scalar only: one value per call site.
 * Not here: the float32 SIMD exp of the other kernels (transcendental.ts), log.
 */
import { F64, type FunctionBuilder, I32 } from "./wasm-emitter.js";

const LN2_HIGH = 0.6931471803691238;
const LN2_LOW = 1.9082149292705877e-10;
const INVERSE_LN2 = Math.LOG2E; // fdlibm's invln2, 0x3ff71547652b82fe: the same double
const P1 = 0.16666666666666602;
const P2 = -0.0027777777777015593;
const P3 = 0.00006613756321437934;
const P4 = -0.0000016533902205465252;
const P5 = 4.1381367970572385e-8;
const OVERFLOW = 709.782712893384;
const UNDERFLOW = -745.1332191019411;
const TWO_TO_MINUS_1000 = 9.332636185032189e-302;

export interface Exp64Locals {
  x: number;
  result: number;
  hi: number;
  lo: number;
  t: number;
  c: number;
  y: number;
  high: number;
  negative: number;
  k: number;
  done: number;
}

export function exp64Locals(f: FunctionBuilder): Exp64Locals {
  return {
    x: f.local(F64),
    result: f.local(F64),
    hi: f.local(F64),
    lo: f.local(F64),
    t: f.local(F64),
    c: f.local(F64),
    y: f.local(F64),
    high: f.local(I32),
    negative: f.local(I32),
    k: f.local(I32),
    done: f.local(I32),
  };
}

/** Pops a float64 x, pushes exp(x) exactly as fdlibm's `__ieee754_exp` computes it. */
export function emitExp64(f: FunctionBuilder, locals: Exp64Locals): void {
  const { x, result, hi, lo, t, c, y, high, negative, k, done } = locals;
  const finish = (value: () => void) => {
    value();
    f.set(result).i32Const(1).set(done);
  };
  f.tee(x).highWordOfF64().tee(high);
  f.i32Const(31).i32ShrU().set(negative);
  f.get(high).i32Const(0x7fffffff).i32And().set(high);
  f.i32Const(0).set(done);
  f.i32Const(0).set(k);
  f.f64Const(0).set(hi);
  f.f64Const(0).set(lo);
  // Non-finite, overflowing and underflowing arguments (|x| ≥ 709.78 by the high word).
  f.get(high)
    .i32Const(0x40862e42)
    .i32GeU()
    .ifThen(() => {
      f.get(high)
        .i32Const(0x7ff00000)
        .i32GeU()
        .ifThen(
          () => {
            // NaN → NaN (x + x), +∞ → +∞, −∞ → 0.
            f.get(x)
              .get(x)
              .f64Eq()
              .ifThen(
                () => finish(() => f.get(x).f64Const(0).get(negative).i32Eqz().select()),
                () => finish(() => f.get(x).get(x).f64Add()),
              );
          },
          () => {
            f.get(x)
              .f64Const(OVERFLOW)
              .f64Gt()
              .ifThen(() => finish(() => f.f64Const(Number.POSITIVE_INFINITY)));
            f.get(x)
              .f64Const(UNDERFLOW)
              .f64Lt()
              .ifThen(() => finish(() => f.f64Const(0)));
          },
        );
    });
  f.get(done)
    .i32Eqz()
    .ifThen(() => {
      // Argument reduction: x = k·ln2 + r, |r| ≤ ln2/2.
      f.get(high)
        .i32Const(0x3fd62e42)
        .i32GtU()
        .ifThen(
          () => {
            f.get(high)
              .i32Const(0x3ff0a2b2)
              .i32LtU()
              .ifThen(
                () => {
                  // |x| < 1.5·ln2: k = ±1
                  f.get(x).f64Const(-LN2_HIGH).f64Const(LN2_HIGH).get(negative).select().f64Sub().set(hi);
                  f.f64Const(-LN2_LOW).f64Const(LN2_LOW).get(negative).select().set(lo);
                  f.i32Const(1).get(negative).i32Const(1).i32Shl().i32Sub().set(k);
                },
                () => {
                  // k = (int)(x/ln2 ± 0.5), toward zero
                  f.f64Const(INVERSE_LN2).get(x).f64Mul();
                  f.f64Const(-0.5).f64Const(0.5).get(negative).select().f64Add().i32TruncSatF64S().set(k);
                  f.get(k).f64ConvertI32S().set(t);
                  f.get(x).get(t).f64Const(LN2_HIGH).f64Mul().f64Sub().set(hi);
                  f.get(t).f64Const(LN2_LOW).f64Mul().set(lo);
                },
              );
            f.get(hi).get(lo).f64Sub().set(x);
          },
          () => {
            f.get(high)
              .i32Const(0x3e300000)
              .i32LtU()
              .ifThen(() => finish(() => f.f64Const(1).get(x).f64Add()));
          },
        );
    });
  f.get(done)
    .i32Eqz()
    .ifThen(() => {
      f.get(x).get(x).f64Mul().set(t);
      // c = x − t·(P1 + t·(P2 + t·(P3 + t·(P4 + t·P5))))
      f.get(x).get(t);
      f.f64Const(P1).get(t).f64Const(P2).get(t).f64Const(P3).get(t).f64Const(P4).get(t).f64Const(P5);
      f.f64Mul().f64Add().f64Mul().f64Add().f64Mul().f64Add().f64Mul().f64Add();
      f.f64Mul().f64Sub().set(c);
      f.get(k)
        .i32Eqz()
        .ifThen(
          // 1 − ((x·c)/(c − 2) − x)
          () =>
            finish(() =>
              f.f64Const(1).get(x).get(c).f64Mul().get(c).f64Const(2).f64Sub().f64Div().get(x).f64Sub().f64Sub(),
            ),
          () => {
            // y = 1 − ((lo − (x·c)/(2 − c)) − hi), then · 2^k
            f.f64Const(1).get(lo).get(x).get(c).f64Mul().f64Const(2).get(c).f64Sub().f64Div().f64Sub();
            f.get(hi).f64Sub().f64Sub().set(y);
            f.get(k)
              .i32Const(-1021)
              .i32GeS()
              .ifThen(
                () => {
                  f.get(k)
                    .i32Const(1024)
                    .i32Eq()
                    .ifThen(
                      () =>
                        finish(() =>
                          f
                            .get(y)
                            .f64Const(2)
                            .f64Mul()
                            .f64Const(2 ** 1023)
                            .f64Mul(),
                        ),
                      () => finish(() => f.get(y).get(k).f64PowerOfTwo().f64Mul()),
                    );
                },
                () =>
                  finish(() =>
                    f
                      .get(y)
                      .get(k)
                      .i32Const(1000)
                      .i32Add()
                      .f64PowerOfTwo()
                      .f64Mul()
                      .f64Const(TWO_TO_MINUS_1000)
                      .f64Mul(),
                  ),
              );
          },
        );
    });
  f.get(result);
}
