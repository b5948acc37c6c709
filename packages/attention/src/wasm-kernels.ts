/**
 * The attention kernel's inner loops as WebAssembly SIMD, emitted at run time with @minimind/tensor's emitter
 * and instantiated on the CPU backend's heap memory (so they read tensors in place). Four functions over
 * byte addresses, float32 throughout; `wasm-attention.ts` drives them block by block in FlashAttention-2's
 * loop order:
 * - `scores(a, aRows, b, bRows, dim, tile, stride)`: tile[i·stride + j] = a_i · b_j (two a rows × four b
 *   rows per pass over dim, four lanes of d at a time, the lanes summed at the end);
 * - `accumulate(tile, outStride, innerStride, outputs, inner, source, dim, target)`:
 *   target[o·dim + d] += Σ_n tile[o·outStride + n·innerStride] · source[n·dim + d] (P·V, dS·K, and with the
 *   strides swapped dSᵀ·Q, Pᵀ·dO); a 2 × 4 block of weights that is all zero (masked) is skipped;
 * - `softmaxRows(tile, stride, count, columns, scale, mask, rowMax, rowSum, accumulator, dim)`: the online
 *   softmax step of one score tile: scale, mask (an int32 tile, −1 = attend), running max (a NaN sticks),
 *   rescale of the row's sum and accumulator when the max grows, tile ← exp(score − max);
 * - `gradientRows(tile, gradTile, stride, count, columns, scale, logSumExp, delta, mask)`: the backward's
 *   tile ← P = exp(score·scale − lse) (0 where masked or the row is fully masked), gradTile ← P·(dP − δ)·scale.
 * Two builds: plain SIMD and relaxed SIMD (`f32x4.relaxed_madd` for every multiply-add), the latter where the
 * engine validates it; `setAttentionSimd` (or MINIMIND_ATTENTION_SIMD=off|simd|relaxed) forces one, for tests.
 * Requires dim % 4 = 0. Not here: masks, score mods (those stay in the JavaScript kernel) and the loop over
 * blocks.
 */
import {
  FunctionBuilder,
  getHeap,
  I32,
  instantiateOnHeap,
  relaxedSimdSupported,
  V128,
} from "@minimind/tensor/internals";
import { address, gradientRowsFunction, laneSum, multiplyAdd, softmaxRowsFunction } from "./wasm-softmax.js";

export interface AttentionSimdExports {
  scores(a: number, aRows: number, b: number, bRows: number, dim: number, tile: number, stride: number): void;
  accumulate(
    tile: number,
    outStride: number,
    innerStride: number,
    outputs: number,
    inner: number,
    source: number,
    dim: number,
    target: number,
  ): void;
  softmaxRows(
    tile: number,
    stride: number,
    count: number,
    columns: number,
    scale: number,
    mask: number,
    rowMax: number,
    rowSum: number,
    accumulator: number,
    dim: number,
  ): void;
  gradientRows(
    tile: number,
    gradTile: number,
    stride: number,
    count: number,
    columns: number,
    scale: number,
    logSumExp: number,
    delta: number,
    mask: number,
  ): void;
}

function scoresFunction(relaxed: boolean): FunctionBuilder {
  const f = new FunctionBuilder("scores", [I32, I32, I32, I32, I32, I32, I32], []);
  const [a, aRows, b, bRows, dim, tile, stride] = [0, 1, 2, 3, 4, 5, 6];
  const i = f.local(I32);
  const j = f.local(I32);
  const offset = f.local(I32);
  const dimBytes = f.local(I32);
  const rowsEven = f.local(I32);
  const columnsFour = f.local(I32);
  const aAddress = [f.local(I32), f.local(I32)];
  const bAddress = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const aLanes = [f.local(V128), f.local(V128)];
  const bLanes = f.local(V128);
  const sums = Array.from({ length: 8 }, () => f.local(V128));
  f.get(dim).i32Const(2).i32Shl().set(dimBytes);
  f.get(aRows).i32Const(-2).i32And().set(rowsEven);
  f.get(bRows).i32Const(-4).i32And().set(columnsFour);
  const block = (rows: number, columns: number) => {
    for (let r = 0; r < rows; r++) {
      address(f, a, () => f.get(i).i32Const(r).i32Add().get(dim).i32Mul());
      f.set(aAddress[r] as number);
    }
    for (let c = 0; c < columns; c++) {
      address(f, b, () => f.get(j).i32Const(c).i32Add().get(dim).i32Mul());
      f.set(bAddress[c] as number);
    }
    for (let s = 0; s < rows * columns; s++) f.v128Zero().set(sums[s] as number);
    f.forLoop(
      offset,
      () => f.i32Const(0),
      dimBytes,
      16,
      () => {
        for (let r = 0; r < rows; r++) {
          f.get(aAddress[r] as number)
            .get(offset)
            .i32Add()
            .v128Load()
            .set(aLanes[r] as number);
        }
        for (let c = 0; c < columns; c++) {
          f.get(bAddress[c] as number)
            .get(offset)
            .i32Add()
            .v128Load()
            .set(bLanes);
          for (let r = 0; r < rows; r++) {
            const sum = sums[r * columns + c] as number;
            multiplyAdd(
              f,
              relaxed,
              () => f.get(aLanes[r] as number),
              () => f.get(bLanes),
              () => f.get(sum),
            );
            f.set(sum);
          }
        }
      },
    );
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < columns; c++) {
        address(f, tile, () => f.get(i).i32Const(r).i32Add().get(stride).i32Mul().get(j).i32Add().i32Const(c).i32Add());
        laneSum(f, sums[r * columns + c] as number);
        f.f32Store();
      }
    }
  };
  const overColumns = (rows: number) => {
    f.forLoop(
      j,
      () => f.i32Const(0),
      columnsFour,
      4,
      () => block(rows, 4),
    );
    f.forLoop(
      j,
      () => f.get(columnsFour),
      bRows,
      1,
      () => block(rows, 1),
    );
  };
  f.forLoop(
    i,
    () => f.i32Const(0),
    rowsEven,
    2,
    () => overColumns(2),
  );
  f.forLoop(
    i,
    () => f.get(rowsEven),
    aRows,
    1,
    () => overColumns(1),
  );
  return f;
}

function accumulateFunction(relaxed: boolean): FunctionBuilder {
  const f = new FunctionBuilder("accumulate", [I32, I32, I32, I32, I32, I32, I32, I32], []);
  const [tile, outStride, innerStride, outputs, inner, source, dim, target] = [0, 1, 2, 3, 4, 5, 6, 7];
  const o = f.local(I32);
  const n = f.local(I32);
  const offset = f.local(I32);
  const dimBytes = f.local(I32);
  const outputsEven = f.local(I32);
  const innerFour = f.local(I32);
  const targetAddress = [f.local(I32), f.local(I32)];
  const sourceAddress = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const weights = Array.from({ length: 8 }, () => f.local(V128));
  const sourceLanes = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const targetLanes = f.local(V128);
  f.get(dim).i32Const(2).i32Shl().set(dimBytes);
  f.get(outputs).i32Const(-2).i32And().set(outputsEven);
  f.get(inner).i32Const(-4).i32And().set(innerFour);
  const block = (rows: number, columns: number) => {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < columns; c++) {
        address(f, tile, () =>
          f
            .get(o)
            .i32Const(r)
            .i32Add()
            .get(outStride)
            .i32Mul()
            .get(n)
            .i32Const(c)
            .i32Add()
            .get(innerStride)
            .i32Mul()
            .i32Add(),
        );
        f.v128Load32Splat().set(weights[r * columns + c] as number);
      }
    }
    // skip the block when every weight is zero (masked keys)
    f.get(weights[0] as number);
    for (let w = 1; w < rows * columns; w++) f.get(weights[w] as number).v128Or();
    f.v128AnyTrue();
    f.ifThen(() => {
      for (let r = 0; r < rows; r++) {
        address(f, target, () => f.get(o).i32Const(r).i32Add().get(dim).i32Mul());
        f.set(targetAddress[r] as number);
      }
      for (let c = 0; c < columns; c++) {
        address(f, source, () => f.get(n).i32Const(c).i32Add().get(dim).i32Mul());
        f.set(sourceAddress[c] as number);
      }
      f.forLoop(
        offset,
        () => f.i32Const(0),
        dimBytes,
        16,
        () => {
          for (let c = 0; c < columns; c++) {
            f.get(sourceAddress[c] as number)
              .get(offset)
              .i32Add()
              .v128Load()
              .set(sourceLanes[c] as number);
          }
          for (let r = 0; r < rows; r++) {
            const at = targetAddress[r] as number;
            f.get(at).get(offset).i32Add().v128Load().set(targetLanes);
            for (let c = 0; c < columns; c++) {
              multiplyAdd(
                f,
                relaxed,
                () => f.get(weights[r * columns + c] as number),
                () => f.get(sourceLanes[c] as number),
                () => f.get(targetLanes),
              );
              f.set(targetLanes);
            }
            f.get(at).get(offset).i32Add().get(targetLanes).v128Store();
          }
        },
      );
    });
  };
  const overInner = (rows: number) => {
    f.forLoop(
      n,
      () => f.i32Const(0),
      innerFour,
      4,
      () => block(rows, 4),
    );
    f.forLoop(
      n,
      () => f.get(innerFour),
      inner,
      1,
      () => block(rows, 1),
    );
  };
  f.forLoop(
    o,
    () => f.i32Const(0),
    outputsEven,
    2,
    () => overInner(2),
  );
  f.forLoop(
    o,
    () => f.get(outputsEven),
    outputs,
    1,
    () => overInner(1),
  );
  return f;
}

/** Which build runs: "relaxed" (relaxed SIMD), "simd" (plain SIMD) or "off" (the JavaScript kernel). */
export type AttentionSimdMode = "relaxed" | "simd" | "off";

function defaultMode(): AttentionSimdMode {
  const forced = typeof process !== "undefined" ? process.env?.MINIMIND_ATTENTION_SIMD : undefined;
  if (forced === "off" || forced === "simd") return forced;
  if (forced === "relaxed") {
    if (!relaxedSimdSupported()) {
      throw new Error(
        "[attention] MINIMIND_ATTENTION_SIMD=relaxed, but this engine has no relaxed SIMD (Node 22+ has)",
      );
    }
    return forced;
  }
  if (forced !== undefined && forced !== "" && forced !== "auto") {
    throw new Error(`[attention] MINIMIND_ATTENTION_SIMD=${forced}; expected off, simd, relaxed or auto`);
  }
  return relaxedSimdSupported() ? "relaxed" : "simd";
}

let mode: AttentionSimdMode | undefined;
const instances = new Map<string, AttentionSimdExports>();

/** The build the attention kernel uses now (chosen at first use: relaxed SIMD where the engine has it). */
export function attentionSimdMode(): AttentionSimdMode {
  mode ??= defaultMode();
  return mode;
}

/**
 * Forces a build ("relaxed" throws where the engine lacks relaxed SIMD), or "auto" to choose again. For
 * tests and benches; results agree across builds within float32 rounding.
 */
export function setAttentionSimd(next: AttentionSimdMode | "auto"): void {
  if (next === "relaxed" && !relaxedSimdSupported()) {
    throw new Error("[setAttentionSimd] this engine has no relaxed SIMD (Node 22+ and Chromium 114+ have it)");
  }
  mode = next === "auto" ? defaultMode() : next;
}

/** The kernels of the current build on the heap's memory, or undefined when the mode is "off". */
export function attentionSimdKernels(): AttentionSimdExports | undefined {
  const current = attentionSimdMode();
  if (current === "off") return undefined;
  const heap = getHeap();
  const key = `${current}:${heap.shared}`;
  let exports = instances.get(key);
  if (exports === undefined) {
    const relaxed = current === "relaxed";
    exports = instantiateOnHeap<AttentionSimdExports>([
      scoresFunction(relaxed),
      accumulateFunction(relaxed),
      softmaxRowsFunction(),
      gradientRowsFunction(),
    ]);
    instances.set(key, exports);
  }
  return exports;
}
