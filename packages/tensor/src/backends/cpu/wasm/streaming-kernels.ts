/**
 * Streaming kernels of the matmul module: one pass over contiguous float32 operands on the wasm heap, run as
 * the module's jobs so that a large one splits over the kernel threads (`runMatmulJobs`). Each is elementwise,
 * so a job is a range of elements and no result depends on the split or the thread count. Four job kinds,
 * each bit-identical to the kernels it replaces:
 * - BINARY: out = x + − × ÷ y, for two contiguous operands or one and a broadcast scalar. JavaScript's loops
 *   compute these in float64 and round once to float32; float64 carries more than 2·24 + 2 bits, so that
 *   double rounding equals the single float32 rounding wasm does.
 * - ADAMW: PyTorch's AdamW step in place, in float64 with the JavaScript kernel's expression order (the
 *   moments enter the update unrounded), two lanes of f64x2 at a time, each store rounded to float32.
 * - SWIGLU: out = silu(gate)·up, silu with the float32 operations of the transcendental kernel.
 * - SWIGLU_BACKWARD: gradGate and gradUp from gradOut, in the operation order of the unfused rules (mul's
 *   and silu's: gradGate = (gradOut·up)·(σ·(1 + gate·(1 − σ)))).
 * This file emits the kernels; `streaming.ts` runs them. Not here: strided or broadcast-row operands and float64
 * tensors (the JavaScript kernels keep those), the op front ends (`ops/`), the fallbacks where a backend has
 * no such kernel (`ops/composed.ts`).
 */
import { FIELD } from "./job.js";
import { emitExp, expLocals, type Lanes, laneLoops } from "./transcendental.js";
import { F64, FunctionBuilder, I32, V128 } from "./wasm-emitter.js";

/** Job kinds (descriptor word 0), after the quantized kernels' (gemv-quantized.ts). */
export const JOB_BINARY = 24;
export const JOB_ADAMW = 25;
export const JOB_SWIGLU = 26;
export const JOB_SWIGLU_BACKWARD = 27;

export type StreamingBinaryOp = "add" | "sub" | "mul" | "div";
export const BINARY_OPS: readonly StreamingBinaryOp[] = ["add", "sub", "mul", "div"];

/**
 * Descriptor words of a streaming job (the float32 jobs' words, reused): up to three input addresses, two
 * output addresses, the element count, the binary op's code and the inputs' steps (1 contiguous, 0 a scalar).
 */
export const STREAM_FIELD = {
  kind: FIELD.kind,
  first: FIELD.a,
  firstStep: FIELD.aColumnStride,
  second: FIELD.b,
  secondStep: FIELD.bColumnStride,
  third: FIELD.aRowStride,
  out: FIELD.out,
  secondOut: FIELD.outRowStride,
  length: FIELD.n,
  op: FIELD.m,
  /** AdamW: the address of its eight float64 constants; rmsnorm: of its float64 epsilon. */
  constants: FIELD.k,
  /** rmsnorm: the row width, and the row count of a column job. */
  width: FIELD.m,
  rows: FIELD.bRowStride,
  /** cross-entropy: the ignored target value. */
  ignore: FIELD.accumulate,
} as const;

export interface Fields {
  f: FunctionBuilder;
  field(name: keyof typeof STREAM_FIELD): number;
}

/** A job function over one descriptor pointer, its fields read into locals on demand. */
export function jobFunction(name: string): Fields {
  const f = new FunctionBuilder(name, [I32], []);
  const locals = new Map<string, number>();
  return {
    f,
    field(fieldName) {
      let local = locals.get(fieldName);
      if (local === undefined) {
        local = f.local(I32);
        f.get(0)
          .i32Load(STREAM_FIELD[fieldName] * 4)
          .set(local);
        locals.set(fieldName, local);
      }
      return local;
    },
  };
}

/** Pushes the element at `offset` of the operand at `address`. */
function loadAt(lanes: Lanes, address: number, offset: number): void {
  lanes.f.get(address).get(offset).i32Add();
  lanes.load();
}

function binaryFunction(): FunctionBuilder {
  const { f, field } = jobFunction("stream_binary");
  const [x, xStep, y, yStep, out, length, op] = (
    ["first", "firstStep", "second", "secondStep", "out", "length", "op"] as const
  ).map(field) as [number, number, number, number, number, number, number];
  const steps: ReadonlyArray<readonly [number, number]> = [
    [1, 1],
    [0, 1],
    [1, 0],
  ];
  BINARY_OPS.forEach((name, code) => {
    f.get(op)
      .i32Const(code)
      .i32Eq()
      .ifThen(() => {
        for (const [xContiguous, yContiguous] of steps) {
          f.get(xStep)
            .i32Const(xContiguous)
            .i32Eq()
            .get(yStep)
            .i32Const(yContiguous)
            .i32Eq()
            .i32And()
            .ifThen(() => {
              laneLoops(f, length, (lanes, offset) => {
                f.get(out).get(offset).i32Add();
                for (const [address, contiguous] of [
                  [x, xContiguous],
                  [y, yContiguous],
                ] as const) {
                  if (contiguous) loadAt(lanes, address, offset);
                  else if (lanes.vector) f.get(address).v128Load32Splat();
                  else f.get(address).f32Load();
                }
                lanes[name]();
                lanes.store();
              });
            });
        }
      });
  });
  return f;
}

/** The AdamW constants block: eight float64 values, in this order. */
export const ADAMW_CONSTANTS = [
  "decay",
  "beta1",
  "oneMinusBeta1",
  "beta2",
  "oneMinusBeta2",
  "stepSize",
  "inverseSqrtCorrection2",
  "epsilon",
] as const;

/**
 * The float64 operations of the widening kernels (AdamW here, rmsnorm-kernels.ts): two float32 elements widened
 * to an f64x2 at a time (`vector`), or one to an f64 for an odd last element, so both are one description.
 */
export class Wide {
  constructor(
    readonly f: FunctionBuilder,
    readonly vector: boolean,
  ) {}
  local(): number {
    return this.f.local(this.vector ? V128 : F64);
  }
  /** Pushes the element(s) at the byte address `address` pushes, widened to float64. */
  load(address: () => void): void {
    address();
    if (this.vector) this.f.v128Load64Zero().f64x2PromoteLowF32x4();
    else this.f.f32Load().f64PromoteF32();
  }
  /** Stores the float64 value(s) pushed last, rounded to float32, at the address pushed before them. */
  store(): void {
    if (this.vector) this.f.f32x4DemoteF64x2Zero().v128Store64Low();
    else this.f.f32DemoteF64().f32Store();
  }
  add(): void {
    this.vector ? this.f.f64x2Add() : this.f.f64Add();
  }
  sub(): void {
    this.vector ? this.f.f64x2Sub() : this.f.f64Sub();
  }
  mul(): void {
    this.vector ? this.f.f64x2Mul() : this.f.f64Mul();
  }
  div(): void {
    this.vector ? this.f.f64x2Div() : this.f.f64Div();
  }
  sqrt(): void {
    this.vector ? this.f.f64x2Sqrt() : this.f.f64Sqrt();
  }
}

/**
 * Emits `body` over elements [0, count) two at a time with f64x2 lanes, then the odd last one as a scalar;
 * `byteOffset` holds the element's byte offset. `body` runs once per `wide` kind at emission.
 */
export function pairLoops(f: FunctionBuilder, count: number, body: (wide: Wide, byteOffset: number) => void): void {
  const j = f.local(I32);
  const pairs = f.local(I32);
  const byteOffset = f.local(I32);
  f.get(count).i32Const(-2).i32And().set(pairs);
  for (const vector of [true, false]) {
    const wide = new Wide(f, vector);
    f.forLoop(
      j,
      () => (vector ? f.i32Const(0) : f.get(pairs)),
      vector ? pairs : count,
      vector ? 2 : 1,
      () => {
        f.get(j).i32Const(2).i32Shl().set(byteOffset);
        body(wide, byteOffset);
      },
    );
  }
}

function adamwFunction(): FunctionBuilder {
  const { f, field } = jobFunction("stream_adamw");
  const [param, grad, m, v, length, constants] = (
    ["first", "second", "out", "third", "length", "constants"] as const
  ).map(field) as [number, number, number, number, number, number];
  // The constants, read once: as float64 scalars and as f64x2 splats.
  type Constants = Record<(typeof ADAMW_CONSTANTS)[number], number>;
  const scalars = {} as Constants;
  const splats = {} as Constants;
  ADAMW_CONSTANTS.forEach((name, slot) => {
    scalars[name] = f.local(F64);
    splats[name] = f.local(V128);
    f.get(constants)
      .f64Load(slot * 8)
      .tee(scalars[name])
      .f64x2Splat()
      .set(splats[name]);
  });
  pairLoops(f, length, (wide, offset) => {
    const value = wide.vector ? splats : scalars;
    const at = (address: number) => () => f.get(address).get(offset).i32Add();
    const g = wide.local();
    const mi = wide.local();
    const vi = wide.local();
    wide.load(at(grad));
    f.set(g);
    // m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g·g
    f.get(value.beta1);
    wide.load(at(m));
    wide.mul();
    f.get(value.oneMinusBeta1).get(g);
    wide.mul();
    wide.add();
    f.set(mi);
    f.get(value.beta2);
    wide.load(at(v));
    wide.mul();
    f.get(value.oneMinusBeta2).get(g);
    wide.mul();
    f.get(g);
    wide.mul();
    wide.add();
    f.set(vi);
    at(m)();
    f.get(mi);
    wide.store();
    at(v)();
    f.get(vi);
    wide.store();
    // p = p·decay − (stepSize·m) / (√v · 1/√(1 − β2^t) + ε), with the unrounded m and v
    at(param)();
    wide.load(at(param));
    f.get(value.decay);
    wide.mul();
    f.get(value.stepSize).get(mi);
    wide.mul();
    f.get(vi);
    wide.sqrt();
    f.get(value.inverseSqrtCorrection2);
    wide.mul();
    f.get(value.epsilon);
    wide.add();
    wide.div();
    wide.sub();
    wide.store();
  });
  return f;
}

/**
 * Pushes silu(x) = x / (1 + exp(−x)) for x in `gate`, and leaves 1 + exp(−x) in `denominator`: the
 * transcendental kernel's float32 sequence, so the values are that kernel's bit for bit.
 */
function emitSilu(lanes: Lanes, gate: number, denominator: number, locals: ReturnType<typeof expLocals>): void {
  const { f } = lanes;
  f.get(gate);
  lanes.neg();
  emitExp(lanes, locals);
  lanes.float(1);
  lanes.add();
  f.set(denominator);
  f.get(gate).get(denominator);
  lanes.div();
}

function swigluFunction(): FunctionBuilder {
  const { f, field } = jobFunction("stream_swiglu");
  const [gate, up, out, length] = (["first", "second", "out", "length"] as const).map(field) as [
    number,
    number,
    number,
    number,
  ];
  laneLoops(f, length, (lanes, offset) => {
    const x = lanes.floatLocal();
    const denominator = lanes.floatLocal();
    const locals = expLocals(lanes);
    f.get(out).get(offset).i32Add();
    loadAt(lanes, gate, offset);
    f.set(x);
    emitSilu(lanes, x, denominator, locals);
    loadAt(lanes, up, offset);
    lanes.mul();
    lanes.store();
  });
  return f;
}

function swigluBackwardFunction(): FunctionBuilder {
  const { f, field } = jobFunction("stream_swiglu_backward");
  const [gate, up, gradOut, gradGate, gradUp, length] = (
    ["first", "second", "third", "out", "secondOut", "length"] as const
  ).map(field) as [number, number, number, number, number, number];
  laneLoops(f, length, (lanes, offset) => {
    const x = lanes.floatLocal();
    const denominator = lanes.floatLocal();
    const sigmoid = lanes.floatLocal();
    const gradient = lanes.floatLocal();
    const locals = expLocals(lanes);
    loadAt(lanes, gate, offset);
    f.set(x);
    loadAt(lanes, gradOut, offset);
    f.set(gradient);
    // gradUp = gradOut · silu(gate)
    f.get(gradUp).get(offset).i32Add().get(gradient);
    emitSilu(lanes, x, denominator, locals);
    lanes.mul();
    lanes.store();
    // σ = 1 / (1 + exp(−gate)), as the sigmoid kernel computes it
    lanes.float(1);
    f.get(denominator);
    lanes.div();
    f.set(sigmoid);
    // gradGate = (gradOut · up) · (σ · (1 + gate · (1 − σ)))
    f.get(gradGate).get(offset).i32Add().get(gradient);
    loadAt(lanes, up, offset);
    lanes.mul();
    f.get(sigmoid);
    lanes.float(1);
    f.get(x);
    lanes.float(1);
    f.get(sigmoid);
    lanes.sub();
    lanes.mul();
    lanes.add();
    lanes.mul();
    lanes.mul();
    lanes.store();
  });
  return f;
}

/** The streaming kernels with their job kinds, for the module's dispatcher (kernels.ts). */
export function streamingKernelFunctions(): Array<{ kind: number; fn: FunctionBuilder }> {
  return [
    { kind: JOB_BINARY, fn: binaryFunction() },
    { kind: JOB_ADAMW, fn: adamwFunction() },
    { kind: JOB_SWIGLU, fn: swigluFunction() },
    { kind: JOB_SWIGLU_BACKWARD, fn: swigluBackwardFunction() },
  ];
}
