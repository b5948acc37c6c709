/**
 * The two GEMV kernels of the matmul module, for m = 1 (a decode step's projections): B row-major, and B
 * transposed (a PyTorch-layout weight read as its transpose). Emitted with `wasm-emitter.ts`, run by the
 * module's job dispatcher (kernels.ts) from a job descriptor (job.ts).
 */
import { FIELD } from "./job.js";
import { F32, FunctionBuilder, I32, V128 } from "./wasm-emitter.js";

/**
 * GEMV with B row-major (element (p, j) at b + (p·bRow + j)·4): out[j] (+)= Σ_p a[p]·B[p, j], four rows
 * of B per pass over the output so the output is read and written once per four rows.
 */
export function gemvRowsFunction(): FunctionBuilder {
  const f = new FunctionBuilder("gemv_rows", [I32], []);
  const descriptor = 0;
  const field = (name: keyof typeof FIELD) => {
    const local = f.local(I32);
    f.get(descriptor)
      .i32Load(FIELD[name] * 4)
      .set(local);
    return local;
  };
  const a = field("a");
  const aColumn = field("aColumnStride");
  const b = field("b");
  const bRow = field("bRowStride");
  const out = field("out");
  const n = field("n");
  const k = field("k");
  const accumulate = field("accumulate");
  const aStepBytes = f.local(I32);
  const rowBytes = f.local(I32);
  const n4 = f.local(I32);
  const k4 = f.local(I32);
  const p = f.local(I32);
  const j = f.local(I32);
  const jBytes = f.local(I32);
  const rows = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const scalars = [f.local(F32), f.local(F32), f.local(F32), f.local(F32)];
  const splats = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  f.get(aColumn).i32Const(2).i32Shl().set(aStepBytes);
  f.get(bRow).i32Const(2).i32Shl().set(rowBytes);
  f.get(n).i32Const(-4).i32And().set(n4);
  f.get(k).i32Const(-4).i32And().set(k4);
  f.get(accumulate)
    .i32Eqz()
    .ifThen(() => {
      f.forLoop(
        j,
        () => f.i32Const(0),
        n,
        1,
        () => f.get(out).get(j).i32Const(2).i32Shl().i32Add().f32Const(0).f32Store(),
      );
    });
  const addressOf = (base: number) => f.get(base).get(jBytes).i32Add();
  f.forLoop(
    p,
    () => f.i32Const(0),
    k4,
    4,
    () => {
      for (let r = 0; r < 4; r++) {
        f.get(a)
          .get(p)
          .i32Const(r)
          .i32Add()
          .get(aStepBytes)
          .i32Mul()
          .i32Add()
          .f32Load()
          .tee(scalars[r])
          .f32x4Splat()
          .set(splats[r]);
        f.get(b).get(p).i32Const(r).i32Add().get(rowBytes).i32Mul().i32Add().set(rows[r]);
      }
      f.forLoop(
        j,
        () => f.i32Const(0),
        n4,
        4,
        () => {
          f.get(j).i32Const(2).i32Shl().set(jBytes);
          addressOf(out);
          addressOf(out).v128Load();
          addressOf(rows[0]).v128Load().get(splats[0]).f32x4Mul();
          addressOf(rows[1]).v128Load().get(splats[1]).f32x4Mul().f32x4Add();
          addressOf(rows[2]).v128Load().get(splats[2]).f32x4Mul();
          addressOf(rows[3]).v128Load().get(splats[3]).f32x4Mul().f32x4Add();
          f.f32x4Add().f32x4Add().v128Store();
        },
      );
      f.forLoop(
        j,
        () => f.get(n4),
        n,
        1,
        () => {
          f.get(j).i32Const(2).i32Shl().set(jBytes);
          addressOf(out);
          addressOf(out).f32Load();
          addressOf(rows[0]).f32Load().get(scalars[0]).f32Mul();
          addressOf(rows[1]).f32Load().get(scalars[1]).f32Mul().f32Add();
          addressOf(rows[2]).f32Load().get(scalars[2]).f32Mul();
          addressOf(rows[3]).f32Load().get(scalars[3]).f32Mul().f32Add();
          f.f32Add().f32Add().f32Store();
        },
      );
    },
  );
  // Remaining rows, one at a time.
  f.forLoop(
    p,
    () => f.get(k4),
    k,
    1,
    () => {
      f.get(a).get(p).get(aStepBytes).i32Mul().i32Add().f32Load().tee(scalars[0]).f32x4Splat().set(splats[0]);
      f.get(b).get(p).get(rowBytes).i32Mul().i32Add().set(rows[0]);
      f.forLoop(
        j,
        () => f.i32Const(0),
        n4,
        4,
        () => {
          f.get(j).i32Const(2).i32Shl().set(jBytes);
          addressOf(out);
          addressOf(out).v128Load();
          addressOf(rows[0]).v128Load().get(splats[0]).f32x4Mul();
          f.f32x4Add().v128Store();
        },
      );
      f.forLoop(
        j,
        () => f.get(n4),
        n,
        1,
        () => {
          f.get(j).i32Const(2).i32Shl().set(jBytes);
          addressOf(out);
          addressOf(out).f32Load();
          addressOf(rows[0]).f32Load().get(scalars[0]).f32Mul();
          f.f32Add().f32Store();
        },
      );
    },
  );
  return f;
}

/**
 * GEMV with B transposed (element (p, j) at b + (j·bColumn + p)·4): out[j] (+)= dot(a, B[:, j]), a
 * contiguous dot product per output, two f32x4 accumulators wide.
 */
export function gemvTransposedFunction(): FunctionBuilder {
  const f = new FunctionBuilder("gemv_transposed", [I32], []);
  const descriptor = 0;
  const field = (name: keyof typeof FIELD) => {
    const local = f.local(I32);
    f.get(descriptor)
      .i32Load(FIELD[name] * 4)
      .set(local);
    return local;
  };
  const a = field("a");
  const b = field("b");
  const bColumn = field("bColumnStride");
  const out = field("out");
  const n = field("n");
  const k = field("k");
  const accumulate = field("accumulate");
  const k8 = f.local(I32);
  const j = f.local(I32);
  const p = f.local(I32);
  const column = f.local(I32);
  const first = f.local(V128);
  const second = f.local(V128);
  const sum = f.local(F32);
  const target = f.local(I32);
  f.get(k).i32Const(-8).i32And().set(k8);
  f.forLoop(
    j,
    () => f.i32Const(0),
    n,
    1,
    () => {
      f.get(b).get(j).get(bColumn).i32Mul().i32Const(2).i32Shl().i32Add().set(column);
      f.v128Zero().set(first);
      f.v128Zero().set(second);
      f.forLoop(
        p,
        () => f.i32Const(0),
        k8,
        8,
        () => {
          const at = () => f.get(p).i32Const(2).i32Shl();
          f.get(first).get(column);
          at();
          f.i32Add().v128Load();
          f.get(a);
          at();
          f.i32Add().v128Load().f32x4Mul().f32x4Add().set(first);
          f.get(second).get(column);
          at();
          f.i32Add().v128Load(16);
          f.get(a);
          at();
          f.i32Add().v128Load(16).f32x4Mul().f32x4Add().set(second);
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
          f.get(sum).get(column).get(p).i32Const(2).i32Shl().i32Add().f32Load();
          f.get(a).get(p).i32Const(2).i32Shl().i32Add().f32Load().f32Mul().f32Add().set(sum);
        },
      );
      f.get(out).get(j).i32Const(2).i32Shl().i32Add().set(target);
      f.get(accumulate).ifThen(() => f.get(target).f32Load().get(sum).f32Add().set(sum));
      f.get(target).get(sum).f32Store();
    },
  );
  return f;
}
