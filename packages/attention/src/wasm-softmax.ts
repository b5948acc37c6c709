/**
 * The element-wise parts of the wasm attention kernels (see `wasm-kernels.ts`): the forward's online-softmax
 * step over a score tile (`softmaxRows`) and the backward's probability and score-gradient tiles
 * (`gradientRows`), f32x4 SIMD with scalar tails running the same float32 operations; masks are int32 tiles
 * (−1 = attend), exp is @minimind/tensor's float32 exp. Also the emission helpers both files use.
 */
import { emitExp, expLocals, F32, FunctionBuilder, I32, Lanes, V128 } from "@minimind/tensor/internals";

/** a·b + c: `relaxed_madd` or a multiply then an add. Each callback pushes one vector. */
export function multiplyAdd(f: FunctionBuilder, relaxed: boolean, a: () => void, b: () => void, c: () => void): void {
  a();
  b();
  if (relaxed) {
    c();
    f.f32x4RelaxedMadd();
  } else {
    f.f32x4Mul();
    c();
    f.f32x4Add();
  }
}

/** Pushes the sum of the four lanes of a vector local ((l0 + l1) + l2) + l3. */
export function laneSum(f: FunctionBuilder, vector: number): void {
  f.get(vector).f32x4ExtractLane(0);
  for (let lane = 1; lane < 4; lane++) f.get(vector).f32x4ExtractLane(lane).f32Add();
}

/** Pushes `base + index · 4` (a byte address of element `index`), index given as a callback. */
export function address(f: FunctionBuilder, base: number, index: () => void): void {
  f.get(base);
  index();
  f.i32Const(2).i32Shl().i32Add();
}

export function softmaxRowsFunction(): FunctionBuilder {
  const f = new FunctionBuilder("softmaxRows", [I32, I32, I32, I32, F32, I32, I32, I32, I32, I32], []);
  const [tile, stride, count, columns, scale, mask, rowMax, rowSum, accumulator, dim] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const vector = new Lanes(f, true);
  const scalar = new Lanes(f, false);
  const vectorExp = expLocals(vector);
  const scalarExp = expLocals(scalar);
  const i = f.local(I32);
  const j = f.local(I32);
  const columnsFour = f.local(I32);
  const row = f.local(I32); // byte address of tile row i
  const maskRow = f.local(I32);
  const score = f.local(V128);
  const maximum = f.local(V128);
  const sum = f.local(V128);
  const scalarScore = f.local(F32);
  const blockMax = f.local(F32);
  const running = f.local(F32);
  const correction = f.local(F32);
  const total = f.local(F32);
  const accumulatorRow = f.local(I32);
  const minusInfinity = Number.NEGATIVE_INFINITY;
  f.get(columns).i32Const(-4).i32And().set(columnsFour);
  f.forLoop(
    i,
    () => f.i32Const(0),
    count,
    1,
    () => {
      f.block(() => {
        address(f, tile, () => f.get(i).get(stride).i32Mul());
        f.set(row);
        address(f, mask, () => f.get(i).get(stride).i32Mul());
        f.set(maskRow);
        // scores: scale, mask, running block max (f32x4.max / f32.max keep a NaN)
        f.f32x4Const(minusInfinity).set(maximum);
        f.f32Const(minusInfinity).set(blockMax);
        f.forLoop(
          j,
          () => f.i32Const(0),
          columnsFour,
          4,
          () => {
            address(f, row, () => f.get(j));
            address(f, row, () => f.get(j));
            f.v128Load().get(scale).f32x4Splat().f32x4Mul();
            f.f32x4Const(minusInfinity);
            address(f, maskRow, () => f.get(j));
            f.v128Load().v128Bitselect().tee(score).v128Store();
            f.get(maximum).get(score).f32x4Max().set(maximum);
          },
        );
        f.forLoop(
          j,
          () => f.get(columnsFour),
          columns,
          1,
          () => {
            address(f, row, () => f.get(j));
            address(f, row, () => f.get(j));
            f.f32Load().get(scale).f32Mul();
            f.f32Const(minusInfinity);
            address(f, maskRow, () => f.get(j));
            f.i32Load().select().tee(scalarScore).f32Store();
            f.get(blockMax).get(scalarScore).f32Max().set(blockMax);
          },
        );
        f.get(blockMax);
        for (let lane = 0; lane < 4; lane++) f.get(maximum).f32x4ExtractLane(lane).f32Max();
        f.tee(blockMax);
        f.f32Const(minusInfinity).f32Eq();
        f.ifThen(() => {
          // nothing visible in this block for row i: its weights are zero
          f.forLoop(
            j,
            () => f.i32Const(0),
            columns,
            1,
            () => {
              address(f, row, () => f.get(j));
              f.f32Const(0).f32Store();
            },
          );
        });
        f.get(blockMax).f32Const(minusInfinity).f32Eq().brIf(0);
        address(f, rowMax, () => f.get(i));
        f.f32Load().set(running);
        address(f, accumulator, () => f.get(i).get(dim).i32Mul());
        f.set(accumulatorRow);
        f.get(blockMax).get(running).f32Gt();
        f.ifThen(() => {
          f.get(running).get(blockMax).f32Sub();
          emitExp(scalar, scalarExp);
          f.set(correction);
          address(f, rowSum, () => f.get(i));
          address(f, rowSum, () => f.get(i));
          f.f32Load().get(correction).f32Mul().f32Store();
          f.forLoop(
            j,
            () => f.i32Const(0),
            dim,
            4,
            () => {
              address(f, accumulatorRow, () => f.get(j));
              address(f, accumulatorRow, () => f.get(j));
              f.v128Load().get(correction).f32x4Splat().f32x4Mul().v128Store();
            },
          );
          address(f, rowMax, () => f.get(i));
          f.get(blockMax).f32Store();
          f.get(blockMax).set(running);
        });
        // weights exp(score − running max), and their sum
        f.v128Zero().set(sum);
        f.f32Const(0).set(total);
        f.forLoop(
          j,
          () => f.i32Const(0),
          columnsFour,
          4,
          () => {
            address(f, row, () => f.get(j));
            address(f, row, () => f.get(j));
            f.v128Load().get(running).f32x4Splat().f32x4Sub();
            emitExp(vector, vectorExp);
            f.tee(score).v128Store();
            f.get(sum).get(score).f32x4Add().set(sum);
          },
        );
        f.forLoop(
          j,
          () => f.get(columnsFour),
          columns,
          1,
          () => {
            address(f, row, () => f.get(j));
            address(f, row, () => f.get(j));
            f.f32Load().get(running).f32Sub();
            emitExp(scalar, scalarExp);
            f.tee(scalarScore).f32Store();
            f.get(total).get(scalarScore).f32Add().set(total);
          },
        );
        address(f, rowSum, () => f.get(i));
        address(f, rowSum, () => f.get(i));
        f.f32Load();
        laneSum(f, sum);
        f.f32Add().get(total).f32Add().f32Store();
      });
    },
  );
  return f;
}

export function gradientRowsFunction(): FunctionBuilder {
  const f = new FunctionBuilder("gradientRows", [I32, I32, I32, I32, I32, F32, I32, I32, I32], []);
  const [tile, gradTile, stride, count, columns, scale, logSumExp, delta, mask] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const vector = new Lanes(f, true);
  const scalar = new Lanes(f, false);
  const vectorExp = expLocals(vector);
  const scalarExp = expLocals(scalar);
  const i = f.local(I32);
  const j = f.local(I32);
  const columnsFour = f.local(I32);
  const row = f.local(I32);
  const gradRow = f.local(I32);
  const maskRow = f.local(I32);
  const rowLogSumExp = f.local(F32);
  const rowDelta = f.local(F32);
  const probability = f.local(V128);
  const visible = f.local(V128);
  const scalarProbability = f.local(F32);
  const scalarVisible = f.local(I32);
  f.get(columns).i32Const(-4).i32And().set(columnsFour);
  f.forLoop(
    i,
    () => f.i32Const(0),
    count,
    1,
    () => {
      address(f, tile, () => f.get(i).get(stride).i32Mul());
      f.set(row);
      address(f, gradTile, () => f.get(i).get(stride).i32Mul());
      f.set(gradRow);
      address(f, mask, () => f.get(i).get(stride).i32Mul());
      f.set(maskRow);
      address(f, logSumExp, () => f.get(i));
      f.f32Load().set(rowLogSumExp);
      address(f, delta, () => f.get(i));
      f.f32Load().set(rowDelta);
      // a fully-masked row (lse = −∞) has zero probabilities and gradients: treat every key as masked
      f.get(rowLogSumExp).f32Const(Number.NEGATIVE_INFINITY).f32Eq();
      f.ifThen(() => f.i32Const(0).set(maskRow)); // address 0 is never a mask: see the zero tile below
      f.forLoop(
        j,
        () => f.i32Const(0),
        columnsFour,
        4,
        () => {
          f.get(maskRow).i32Eqz();
          f.ifThen(
            () => f.v128Zero().set(visible),
            () => {
              address(f, maskRow, () => f.get(j));
              f.v128Load().set(visible);
            },
          );
          address(f, row, () => f.get(j));
          address(f, row, () => f.get(j));
          f.v128Load().get(scale).f32x4Splat().f32x4Mul().get(rowLogSumExp).f32x4Splat().f32x4Sub();
          emitExp(vector, vectorExp);
          f.v128Zero().get(visible).v128Bitselect().tee(probability).v128Store();
          address(f, gradRow, () => f.get(j));
          f.get(probability);
          address(f, gradRow, () => f.get(j));
          f.v128Load().get(rowDelta).f32x4Splat().f32x4Sub().f32x4Mul().get(scale).f32x4Splat().f32x4Mul();
          f.v128Zero().get(visible).v128Bitselect().v128Store();
        },
      );
      f.forLoop(
        j,
        () => f.get(columnsFour),
        columns,
        1,
        () => {
          f.get(maskRow).i32Eqz();
          f.ifThen(
            () => f.i32Const(0).set(scalarVisible),
            () => {
              address(f, maskRow, () => f.get(j));
              f.i32Load().set(scalarVisible);
            },
          );
          address(f, row, () => f.get(j));
          address(f, row, () => f.get(j));
          f.f32Load().get(scale).f32Mul().get(rowLogSumExp).f32Sub();
          emitExp(scalar, scalarExp);
          f.f32Const(0).get(scalarVisible).select().tee(scalarProbability).f32Store();
          address(f, gradRow, () => f.get(j));
          f.get(scalarProbability);
          address(f, gradRow, () => f.get(j));
          f.f32Load().get(rowDelta).f32Sub().f32Mul().get(scale).f32Mul();
          f.f32Const(0).get(scalarVisible).select().f32Store();
        },
      );
    },
  );
  return f;
}
