/**
 * Contiguous float32 transcendental kernels on the wasm heap: out = exp(x), out = sigmoid(x) = 1/(1+exp(−x))
 * and out = silu(x) = x/(1+exp(−x)), f32x4 SIMD with a scalar tail that runs the same float32 operations, so
 * a result never depends on an element's position. Operands are heap blocks with element offsets, read in
 * place; `out` may alias `x` exactly. Single-threaded.
 *
 * exp: clamp x to [−104, 89] (beyond, float32 exp is 0 or ∞; NaN passes through), n = round(x·log2 e),
 * r = x − n·ln2 with ln2 split in two (Cody–Waite: n·C1 is exact), e^r ≈ 1 + r + r²·P(r) with the degree-5
 * minimax P of Cephes' expf on |r| ≤ ln2/2, then the result is scaled by 2^n in two exact steps
 * 2^⌊n/2⌋ · 2^(n−⌊n/2⌋), so n ∈ [−150, 128] neither overflows the exponent field nor flushes: the only
 * rounding into the subnormal range is the last multiply. A few float32 ulps from the true exp (see the
 * tests for the measured bound). Not here: float64, strided views (the CPU backend's JavaScript kernels
 * handle those), log and the other unary ops.
 */
import { checkLength, heapModule, type Operand, operandAddress } from "./heap-kernels.js";
import { F32, FunctionBuilder, I32, V128 } from "./wasm-emitter.js";

export type TranscendentalOp = "exp" | "sigmoid" | "silu";

type TranscendentalExports = Record<TranscendentalOp, (x: number, out: number, length: number) => void>;

const LOWER = -104; // exp(−104) < 2^−150: rounds to 0 in float32
const UPPER = 89; // exp(89) > float32 max: ∞
const LOG2E = Math.LOG2E;
const LN2_HIGH = 0.693359375; // 355/512: n·LN2_HIGH is exact for |n| < 2^15
const LN2_LOW = -2.1219444e-4; // ln 2 − LN2_HIGH
/** Cephes expf: e^r ≈ 1 + r + r²·(P0·r⁵ + … + P5) on |r| ≤ ln2/2. */
const POLYNOMIAL = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];

/**
 * The float32 operations the kernels use, emitted either as f32x4/i32x4 SIMD (`vector`) or as scalar
 * f32/i32 instructions, so the body and the tail are one description of the algorithm.
 */
export class Lanes {
  constructor(
    readonly f: FunctionBuilder,
    readonly vector: boolean,
  ) {}
  floatLocal(): number {
    return this.f.local(this.vector ? V128 : F32);
  }
  intLocal(): number {
    return this.f.local(this.vector ? V128 : I32);
  }
  float(value: number): void {
    this.vector ? this.f.f32x4Const(value) : this.f.f32Const(value);
  }
  int(value: number): void {
    this.vector ? this.f.i32x4Const(value) : this.f.i32Const(value);
  }
  add(): void {
    this.vector ? this.f.f32x4Add() : this.f.f32Add();
  }
  sub(): void {
    this.vector ? this.f.f32x4Sub() : this.f.f32Sub();
  }
  mul(): void {
    this.vector ? this.f.f32x4Mul() : this.f.f32Mul();
  }
  div(): void {
    this.vector ? this.f.f32x4Div() : this.f.f32Div();
  }
  neg(): void {
    this.vector ? this.f.f32x4Neg() : this.f.f32Neg();
  }
  /** min(value, bound) for a non-NaN bound pushed second; NaN stays NaN. */
  atMost(): void {
    this.vector ? this.f.f32x4Pmin() : this.f.f32Min();
  }
  /** max(value, bound) for a non-NaN bound pushed second; NaN stays NaN. */
  atLeast(): void {
    this.vector ? this.f.f32x4Pmax() : this.f.f32Max();
  }
  nearest(): void {
    this.vector ? this.f.f32x4Nearest() : this.f.f32Nearest();
  }
  truncToInt(): void {
    this.vector ? this.f.i32x4TruncSatF32x4S() : this.f.i32TruncSatF32S();
  }
  intAdd(): void {
    this.vector ? this.f.i32x4Add() : this.f.i32Add();
  }
  intSub(): void {
    this.vector ? this.f.i32x4Sub() : this.f.i32Sub();
  }
  shiftLeft(count: number): void {
    this.f.i32Const(count);
    this.vector ? this.f.i32x4Shl() : this.f.i32Shl();
  }
  shiftRightSigned(count: number): void {
    this.f.i32Const(count);
    this.vector ? this.f.i32x4ShrS() : this.f.i32ShrS();
  }
  bitsToFloat(): void {
    if (!this.vector) this.f.f32ReinterpretI32();
  }
  load(): void {
    this.vector ? this.f.v128Load() : this.f.f32Load();
  }
  store(): void {
    this.vector ? this.f.v128Store() : this.f.f32Store();
  }
}

export interface ExpLocals {
  clamped: number;
  rounded: number;
  reduced: number;
  squared: number;
  power: number;
  half: number;
}

export function expLocals(lanes: Lanes): ExpLocals {
  return {
    clamped: lanes.floatLocal(),
    rounded: lanes.floatLocal(),
    reduced: lanes.floatLocal(),
    squared: lanes.floatLocal(),
    power: lanes.intLocal(),
    half: lanes.intLocal(),
  };
}

/** Pops an argument, pushes its exp (float32, the kernels' exp: also used by @minimind/attention). */
export function emitExp(lanes: Lanes, locals: ExpLocals): void {
  const { f } = lanes;
  const { clamped, rounded, reduced, squared, power, half } = locals;
  lanes.float(LOWER);
  lanes.atLeast();
  lanes.float(UPPER);
  lanes.atMost();
  f.tee(clamped);
  lanes.float(LOG2E);
  lanes.mul();
  lanes.nearest();
  f.tee(rounded);
  lanes.truncToInt();
  f.set(power);
  // r = (x − n·C1) − n·C2
  f.get(clamped).get(rounded);
  lanes.float(LN2_HIGH);
  lanes.mul();
  lanes.sub();
  f.get(rounded);
  lanes.float(LN2_LOW);
  lanes.mul();
  lanes.sub();
  f.tee(reduced).get(reduced);
  lanes.mul();
  f.set(squared);
  // ((((P0·r + P1)·r + P2)·r + P3)·r + P4)·r + P5, then ·r² + r + 1
  lanes.float(POLYNOMIAL[0]);
  for (const coefficient of POLYNOMIAL.slice(1)) {
    f.get(reduced);
    lanes.mul();
    lanes.float(coefficient);
    lanes.add();
  }
  f.get(squared);
  lanes.mul();
  f.get(reduced);
  lanes.add();
  lanes.float(1);
  lanes.add();
  // · 2^h · 2^(n−h) with h = n >> 1, each factor built in the exponent bits.
  f.get(power);
  lanes.shiftRightSigned(1);
  f.tee(half);
  lanes.int(127);
  lanes.intAdd();
  lanes.shiftLeft(23);
  lanes.bitsToFloat();
  lanes.mul();
  f.get(power).get(half);
  lanes.intSub();
  lanes.int(127);
  lanes.intAdd();
  lanes.shiftLeft(23);
  lanes.bitsToFloat();
  lanes.mul();
}

/**
 * Emits `body` over elements [0, length): four lanes at a time, then the rest one by one with the same float32
 * operations (so a result never depends on an element's position); `offset` holds the element's byte offset.
 * `body` runs twice at emission, once per `lanes` kind, and declares its locals there.
 */
export function laneLoops(f: FunctionBuilder, length: number, body: (lanes: Lanes, offset: number) => void): void {
  const index = f.local(I32);
  const vectorLength = f.local(I32);
  const offset = f.local(I32);
  f.get(length).i32Const(-4).i32And().set(vectorLength);
  for (const vector of [true, false]) {
    const lanes = new Lanes(f, vector);
    f.forLoop(
      index,
      () => (vector ? f.i32Const(0) : f.get(vectorLength)),
      vector ? vectorLength : length,
      vector ? 4 : 1,
      () => {
        f.get(index).i32Const(2).i32Shl().set(offset);
        body(lanes, offset);
      },
    );
  }
}

/** One kernel (x, out, length) over byte addresses: four lanes at a time, then the rest one by one. */
function transcendentalFunction(op: TranscendentalOp): FunctionBuilder {
  const f = new FunctionBuilder(op, [I32, I32, I32], []);
  const [x, out, length] = [0, 1, 2];
  laneLoops(f, length, (lanes, offset) => {
    const value = lanes.floatLocal();
    const locals = expLocals(lanes);
    f.get(out).get(offset).i32Add();
    f.get(x).get(offset).i32Add();
    lanes.load();
    if (op === "exp") {
      emitExp(lanes, locals);
    } else {
      f.tee(value);
      lanes.neg();
      emitExp(lanes, locals);
      lanes.float(1);
      lanes.add();
      f.set(locals.squared); // 1 + exp(−x), reusing a local
      if (op === "sigmoid") lanes.float(1);
      else f.get(value);
      f.get(locals.squared);
      lanes.div();
    }
    lanes.store();
  });
  return f;
}

const getKernels = heapModule<TranscendentalExports>(() =>
  (["exp", "sigmoid", "silu"] as const).map(transcendentalFunction),
);
const KERNEL = "wasm transcendental";

/** out[i] = op(x[i]) for i < length, op one of exp, sigmoid, silu (float32 throughout). */
export function transcendentalInto(op: TranscendentalOp, x: Operand, out: Operand, length: number): void {
  checkLength(KERNEL, length);
  getKernels()[op](operandAddress(KERNEL, "x", x, length), operandAddress(KERNEL, "out", out, length), length);
}
