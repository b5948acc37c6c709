/**
 * The matmul kernels as WebAssembly, emitted with `wasm-emitter.ts`: a GotoBLAS/BLIS-style GEMM (pack a
 * KC×NC panel of B into NR-wide slivers and an MC×KC block of A into MR-tall slivers, then run an MR×NR
 * register-blocked f32x4 micro-kernel over them) and two GEMV kernels for m = 1 (B row-major, and B
 * transposed). Every kernel reads one 64-byte job descriptor from the heap, so a worker thread runs the
 * same code on its share of the output. The GEMV kernels are in `gemv.ts`, the descriptor layout and blocking
 * sizes in `job.ts`. Not here: threading, batching and operand layout decisions (`matmul.ts`, `threads.ts`).
 */

import { crossEntropyKernelFunctions } from "./cross-entropy-kernels.js";
import { gemvRowsFunction, gemvTransposedFunction } from "./gemv.js";
import { quantizedKernelFunctions } from "./gemv-quantized.js";
import { DESCRIPTOR_WORDS, FIELD, JOB_GEMM, JOB_GEMV_ROWS, KC, MC, MR, NC, NR } from "./job.js";
import { rmsnormKernelFunctions } from "./rmsnorm-kernels.js";
import { streamingKernelFunctions } from "./streaming-kernels.js";
import { FunctionBuilder, I32, ModuleBuilder, V128 } from "./wasm-emitter.js";

/** The MR×NR micro-kernel over one packed A sliver and one packed B sliver; `load` starts from the output. */
function microKernelFunction(): FunctionBuilder {
  const f = new FunctionBuilder("micro_kernel", [I32, I32, I32, I32, I32, I32], []);
  const [packedA, packedB, depth, out, rowBytes, load] = [0, 1, 2, 3, 4, 5];
  const vectors = NR / 4;
  const accumulators: number[][] = [];
  for (let row = 0; row < MR; row++) {
    accumulators.push(Array.from({ length: vectors }, () => f.local(V128)));
  }
  const bVectors = Array.from({ length: vectors }, () => f.local(V128));
  const splat = f.local(V128);
  const rowPointer = f.local(I32);
  const counter = f.local(I32);
  // Start from the output tile (accumulate) or from zero.
  f.get(load).ifThen(
    () => {
      f.get(out).set(rowPointer);
      for (let row = 0; row < MR; row++) {
        for (let v = 0; v < vectors; v++)
          f.get(rowPointer)
            .v128Load(v * 16)
            .set(accumulators[row][v]);
        f.get(rowPointer).get(rowBytes).i32Add().set(rowPointer);
      }
    },
    () => {
      for (let row = 0; row < MR; row++) for (let v = 0; v < vectors; v++) f.v128Zero().set(accumulators[row][v]);
    },
  );
  // for p in 0..depth: acc[row][v] += A[row, p]·B[p, 4v … 4v+3]
  f.forLoop(
    counter,
    () => f.i32Const(0),
    depth,
    1,
    () => {
      for (let v = 0; v < vectors; v++)
        f.get(packedB)
          .v128Load(v * 16)
          .set(bVectors[v]);
      for (let row = 0; row < MR; row++) {
        f.get(packedA)
          .v128Load32Splat(row * 4)
          .set(splat);
        for (let v = 0; v < vectors; v++) {
          f.get(accumulators[row][v]).get(splat).get(bVectors[v]).f32x4Mul().f32x4Add().set(accumulators[row][v]);
        }
      }
      f.get(packedA)
        .i32Const(MR * 4)
        .i32Add()
        .set(packedA);
      f.get(packedB)
        .i32Const(NR * 4)
        .i32Add()
        .set(packedB);
    },
  );
  f.get(out).set(rowPointer);
  for (let row = 0; row < MR; row++) {
    for (let v = 0; v < vectors; v++)
      f.get(rowPointer)
        .get(accumulators[row][v])
        .v128Store(v * 16);
    f.get(rowPointer).get(rowBytes).i32Add().set(rowPointer);
  }
  return f;
}

/**
 * Packs a rows×depth block of A (element (i, p) at source + i·rowBytes + p·columnBytes) into MR-tall
 * slivers: packed[(i / MR)·depth·MR + p·MR + i % MR], zero-padding the last sliver.
 */
function packAFunction(): FunctionBuilder {
  const f = new FunctionBuilder("pack_a", [I32, I32, I32, I32, I32, I32], []);
  const [source, rowBytes, columnBytes, rows, depth, packed] = [0, 1, 2, 3, 4, 5];
  const rowStart = f.local(I32);
  const rowsHere = f.local(I32);
  const p = f.local(I32);
  const row = f.local(I32);
  const pointer = f.local(I32);
  const columnPointer = f.local(I32);
  const limit = f.local(I32);
  f.forLoop(
    rowStart,
    () => f.i32Const(0),
    rows,
    MR,
    () => {
      f.minOf(
        () => f.i32Const(MR),
        () => f.get(rows).get(rowStart).i32Sub(),
      ).set(rowsHere);
      f.get(source).get(rowStart).get(rowBytes).i32Mul().i32Add().set(columnPointer);
      f.get(rowsHere)
        .i32Const(MR)
        .i32Eq()
        .ifThen(
          () => {
            f.forLoop(
              p,
              () => f.i32Const(0),
              depth,
              1,
              () => {
                f.get(columnPointer).set(pointer);
                for (let r = 0; r < MR; r++) {
                  f.get(packed)
                    .get(pointer)
                    .f32Load()
                    .f32Store(r * 4);
                  if (r < MR - 1) f.get(pointer).get(rowBytes).i32Add().set(pointer);
                }
                f.get(columnPointer).get(columnBytes).i32Add().set(columnPointer);
                f.get(packed)
                  .i32Const(MR * 4)
                  .i32Add()
                  .set(packed);
              },
            );
          },
          () => {
            f.i32Const(MR).set(limit);
            f.forLoop(
              p,
              () => f.i32Const(0),
              depth,
              1,
              () => {
                f.get(columnPointer).set(pointer);
                f.forLoop(
                  row,
                  () => f.i32Const(0),
                  rowsHere,
                  1,
                  () => {
                    f.get(packed).get(row).i32Const(2).i32Shl().i32Add().get(pointer).f32Load().f32Store();
                    f.get(pointer).get(rowBytes).i32Add().set(pointer);
                  },
                );
                f.forLoop(
                  row,
                  () => f.get(rowsHere),
                  limit,
                  1,
                  () => {
                    f.get(packed).get(row).i32Const(2).i32Shl().i32Add().f32Const(0).f32Store();
                  },
                );
                f.get(columnPointer).get(columnBytes).i32Add().set(columnPointer);
                f.get(packed)
                  .i32Const(MR * 4)
                  .i32Add()
                  .set(packed);
              },
            );
          },
        );
    },
  );
  return f;
}

/**
 * Packs a depth×columns panel of B (element (p, j) at source + p·rowBytes + j·columnBytes) into NR-wide
 * slivers: packed[(j / NR)·depth·NR + p·NR + j % NR], zero-padding the last sliver. Contiguous rows
 * (columnBytes = 4) are copied a vector at a time.
 */
function packBFunction(): FunctionBuilder {
  const f = new FunctionBuilder("pack_b", [I32, I32, I32, I32, I32, I32], []);
  const [source, rowBytes, columnBytes, depth, columns, packed] = [0, 1, 2, 3, 4, 5];
  const columnStart = f.local(I32);
  const columnsHere = f.local(I32);
  const p = f.local(I32);
  const column = f.local(I32);
  const pointer = f.local(I32);
  const rowPointer = f.local(I32);
  const limit = f.local(I32);
  f.i32Const(NR).set(limit);
  f.forLoop(
    columnStart,
    () => f.i32Const(0),
    columns,
    NR,
    () => {
      f.minOf(
        () => f.i32Const(NR),
        () => f.get(columns).get(columnStart).i32Sub(),
      ).set(columnsHere);
      f.get(source).get(columnStart).get(columnBytes).i32Mul().i32Add().set(rowPointer);
      f.get(columnsHere)
        .i32Const(NR)
        .i32Eq()
        .ifThen(
          () => {
            f.get(columnBytes)
              .i32Const(4)
              .i32Eq()
              .ifThen(
                () => {
                  f.forLoop(
                    p,
                    () => f.i32Const(0),
                    depth,
                    1,
                    () => {
                      for (let v = 0; v < NR / 4; v++)
                        f.get(packed)
                          .get(rowPointer)
                          .v128Load(v * 16)
                          .v128Store(v * 16);
                      f.get(rowPointer).get(rowBytes).i32Add().set(rowPointer);
                      f.get(packed)
                        .i32Const(NR * 4)
                        .i32Add()
                        .set(packed);
                    },
                  );
                },
                () => {
                  f.forLoop(
                    p,
                    () => f.i32Const(0),
                    depth,
                    1,
                    () => {
                      f.get(rowPointer).set(pointer);
                      for (let c = 0; c < NR; c++) {
                        f.get(packed)
                          .get(pointer)
                          .f32Load()
                          .f32Store(c * 4);
                        if (c < NR - 1) f.get(pointer).get(columnBytes).i32Add().set(pointer);
                      }
                      f.get(rowPointer).get(rowBytes).i32Add().set(rowPointer);
                      f.get(packed)
                        .i32Const(NR * 4)
                        .i32Add()
                        .set(packed);
                    },
                  );
                },
              );
          },
          () => {
            f.forLoop(
              p,
              () => f.i32Const(0),
              depth,
              1,
              () => {
                f.get(rowPointer).set(pointer);
                f.forLoop(
                  column,
                  () => f.i32Const(0),
                  columnsHere,
                  1,
                  () => {
                    f.get(packed).get(column).i32Const(2).i32Shl().i32Add().get(pointer).f32Load().f32Store();
                    f.get(pointer).get(columnBytes).i32Add().set(pointer);
                  },
                );
                f.forLoop(
                  column,
                  () => f.get(columnsHere),
                  limit,
                  1,
                  () => {
                    f.get(packed).get(column).i32Const(2).i32Shl().i32Add().f32Const(0).f32Store();
                  },
                );
                f.get(rowPointer).get(rowBytes).i32Add().set(rowPointer);
                f.get(packed)
                  .i32Const(NR * 4)
                  .i32Add()
                  .set(packed);
              },
            );
          },
        );
    },
  );
  return f;
}

/**
 * Copies a rows×columns region between the output (row stride `outRowBytes`) and the MR×NR tile
 * (row stride NR·4); `toTile` = 1 copies output → tile, 0 tile → output.
 */
function tileCopyFunction(): FunctionBuilder {
  const f = new FunctionBuilder("tile_copy", [I32, I32, I32, I32, I32, I32], []);
  const [out, outRowBytes, tile, rows, columns, toTile] = [0, 1, 2, 3, 4, 5];
  const row = f.local(I32);
  const column = f.local(I32);
  const outAddress = f.local(I32);
  const tileAddress = f.local(I32);
  f.forLoop(
    row,
    () => f.i32Const(0),
    rows,
    1,
    () => {
      f.forLoop(
        column,
        () => f.i32Const(0),
        columns,
        1,
        () => {
          f.get(out)
            .get(row)
            .get(outRowBytes)
            .i32Mul()
            .i32Add()
            .get(column)
            .i32Const(2)
            .i32Shl()
            .i32Add()
            .set(outAddress);
          f.get(tile)
            .get(row)
            .i32Const(NR * 4)
            .i32Mul()
            .i32Add()
            .get(column)
            .i32Const(2)
            .i32Shl()
            .i32Add()
            .set(tileAddress);
          f.get(toTile).ifThen(
            () => f.get(tileAddress).get(outAddress).f32Load().f32Store(),
            () => f.get(outAddress).get(tileAddress).f32Load().f32Store(),
          );
        },
      );
    },
  );
  return f;
}

/** The macro-kernel: every MR×NR tile of a packed mc×kc block of A times a packed kc×nc panel of B. */
function macroKernelFunction(indices: { micro: number; tileCopy: number }): FunctionBuilder {
  // (packedA, packedB, mc, nc, kc, out, outRowStride, load, tile)
  const f = new FunctionBuilder("macro_kernel", [I32, I32, I32, I32, I32, I32, I32, I32, I32], []);
  const [packedA, packedB, mc, nc, kc, out, outRowStride, load, tile] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const jr = f.local(I32);
  const ir = f.local(I32);
  const columnsHere = f.local(I32);
  const rowsHere = f.local(I32);
  const outRowBytes = f.local(I32);
  const outTile = f.local(I32);
  const aSliver = f.local(I32);
  const bSliver = f.local(I32);
  f.get(outRowStride).i32Const(2).i32Shl().set(outRowBytes);
  f.forLoop(
    jr,
    () => f.i32Const(0),
    nc,
    NR,
    () => {
      f.minOf(
        () => f.i32Const(NR),
        () => f.get(nc).get(jr).i32Sub(),
      ).set(columnsHere);
      f.get(packedB).get(jr).get(kc).i32Mul().i32Const(2).i32Shl().i32Add().set(bSliver);
      f.forLoop(
        ir,
        () => f.i32Const(0),
        mc,
        MR,
        () => {
          f.minOf(
            () => f.i32Const(MR),
            () => f.get(mc).get(ir).i32Sub(),
          ).set(rowsHere);
          f.get(packedA).get(ir).get(kc).i32Mul().i32Const(2).i32Shl().i32Add().set(aSliver);
          f.get(out).get(ir).get(outRowBytes).i32Mul().i32Add().get(jr).i32Const(2).i32Shl().i32Add().set(outTile);
          f.get(rowsHere)
            .i32Const(MR)
            .i32Eq()
            .get(columnsHere)
            .i32Const(NR)
            .i32Eq()
            .i32And()
            .ifThen(
              () => {
                f.get(aSliver).get(bSliver).get(kc).get(outTile).get(outRowBytes).get(load).call(indices.micro);
              },
              () => {
                // Edge tile: compute in the tile buffer, starting from the output's values when accumulating,
                // so every element sees the same sequence of roundings as in a full tile.
                f.get(load).ifThen(() => {
                  f.get(outTile)
                    .get(outRowBytes)
                    .get(tile)
                    .get(rowsHere)
                    .get(columnsHere)
                    .i32Const(1)
                    .call(indices.tileCopy);
                });
                f.get(aSliver)
                  .get(bSliver)
                  .get(kc)
                  .get(tile)
                  .i32Const(NR * 4)
                  .get(load)
                  .call(indices.micro);
                f.get(outTile)
                  .get(outRowBytes)
                  .get(tile)
                  .get(rowsHere)
                  .get(columnsHere)
                  .i32Const(0)
                  .call(indices.tileCopy);
              },
            );
        },
      );
    },
  );
  return f;
}

/** One GEMM job: out (+)= A·B over the descriptor's m×n×k, blocked by NC, KC and MC. */
function gemmFunction(indices: { packA: number; packB: number; macro: number }): FunctionBuilder {
  const f = new FunctionBuilder("gemm", [I32], []);
  const descriptor = 0;
  const field = (name: keyof typeof FIELD) => {
    const local = f.local(I32);
    f.get(descriptor)
      .i32Load(FIELD[name] * 4)
      .set(local);
    return local;
  };
  const a = field("a");
  const aRow = field("aRowStride");
  const aColumn = field("aColumnStride");
  const b = field("b");
  const bRow = field("bRowStride");
  const bColumn = field("bColumnStride");
  const out = field("out");
  const outRow = field("outRowStride");
  const m = field("m");
  const n = field("n");
  const k = field("k");
  const accumulate = field("accumulate");
  const packedA = field("packedA");
  const packedB = field("packedB");
  const tile = field("tile");
  const jc = f.local(I32);
  const pc = f.local(I32);
  const ic = f.local(I32);
  const nc = f.local(I32);
  const kc = f.local(I32);
  const mc = f.local(I32);
  const load = f.local(I32);
  f.forLoop(
    jc,
    () => f.i32Const(0),
    n,
    NC,
    () => {
      f.minOf(
        () => f.i32Const(NC),
        () => f.get(n).get(jc).i32Sub(),
      ).set(nc);
      f.forLoop(
        pc,
        () => f.i32Const(0),
        k,
        KC,
        () => {
          f.minOf(
            () => f.i32Const(KC),
            () => f.get(k).get(pc).i32Sub(),
          ).set(kc);
          // Accumulate into the output after the first depth block, or from the start when asked.
          f.get(accumulate).i32Const(1).get(pc).i32Eqz().select().set(load);
          // pack_b(b + (pc·bRow + jc·bColumn)·4, bRow·4, bColumn·4, kc, nc, packedB)
          f.get(b).get(pc).get(bRow).i32Mul().get(jc).get(bColumn).i32Mul().i32Add().i32Const(2).i32Shl().i32Add();
          f.get(bRow).i32Const(2).i32Shl().get(bColumn).i32Const(2).i32Shl();
          f.get(kc).get(nc).get(packedB).call(indices.packB);
          f.forLoop(
            ic,
            () => f.i32Const(0),
            m,
            MC,
            () => {
              f.minOf(
                () => f.i32Const(MC),
                () => f.get(m).get(ic).i32Sub(),
              ).set(mc);
              f.get(a).get(ic).get(aRow).i32Mul().get(pc).get(aColumn).i32Mul().i32Add().i32Const(2).i32Shl().i32Add();
              f.get(aRow).i32Const(2).i32Shl().get(aColumn).i32Const(2).i32Shl();
              f.get(mc).get(kc).get(packedA).call(indices.packA);
              f.get(packedA).get(packedB).get(mc).get(nc).get(kc);
              f.get(out).get(ic).get(outRow).i32Mul().get(jc).i32Add().i32Const(2).i32Shl().i32Add();
              f.get(outRow).get(load).get(tile).call(indices.macro);
            },
          );
        },
      );
    },
  );
  return f;
}

/** Runs descriptors with the calling thread's scratch, each with the kernel it names. */
function runJobsFunction(indices: {
  gemm: number;
  gemvRows: number;
  gemvTransposed: number;
  /** Further kernels by job kind (the sub-fp32 weight kernels of gemv-quantized.ts, streaming-kernels.ts). */
  more: ReadonlyArray<{ kind: number; index: number }>;
}): FunctionBuilder {
  const f = new FunctionBuilder("run_jobs", [I32, I32, I32, I32, I32], []);
  const [descriptors, count, packedA, packedB, tile] = [0, 1, 2, 3, 4];
  const index = f.local(I32);
  const pointer = f.local(I32);
  const kind = f.local(I32);
  f.forLoop(
    index,
    () => f.i32Const(0),
    count,
    1,
    () => {
      f.get(descriptors)
        .get(index)
        .i32Const(DESCRIPTOR_WORDS * 4)
        .i32Mul()
        .i32Add()
        .set(pointer);
      // The descriptor is this thread's alone while it runs, so it can carry this thread's scratch.
      f.get(pointer)
        .get(packedA)
        .i32Store(FIELD.packedA * 4);
      f.get(pointer)
        .get(packedB)
        .i32Store(FIELD.packedB * 4);
      f.get(pointer)
        .get(tile)
        .i32Store(FIELD.tile * 4);
      f.get(pointer)
        .i32Load(FIELD.kind * 4)
        .set(kind);
      for (const { kind: moreKind, index: moreIndex } of indices.more) {
        f.get(kind)
          .i32Const(moreKind)
          .i32Eq()
          .ifThen(() => f.get(pointer).call(moreIndex).i32Const(-1).set(kind));
      }
      f.get(kind)
        .i32Const(JOB_GEMM)
        .i32Eq()
        .ifThen(
          () => f.get(pointer).call(indices.gemm),
          () => {
            f.get(kind)
              .i32Const(JOB_GEMV_ROWS)
              .i32Eq()
              .ifThen(
                () => f.get(pointer).call(indices.gemvRows),
                () =>
                  f
                    .get(kind)
                    .i32Const(-1)
                    .i32Eq()
                    .i32Eqz()
                    .ifThen(() => f.get(pointer).call(indices.gemvTransposed)),
              );
          },
        );
    },
  );
  return f;
}

/** The binary of the matmul module, importing `env.memory` (shared or not). */
export function buildMatmulModule(sharedMemory: boolean): Uint8Array {
  const module = new ModuleBuilder(sharedMemory);
  const micro = module.add(microKernelFunction());
  const packA = module.add(packAFunction());
  const packB = module.add(packBFunction());
  const tileCopy = module.add(tileCopyFunction());
  const macro = module.add(macroKernelFunction({ micro, tileCopy }));
  const gemm = module.add(gemmFunction({ packA, packB, macro }));
  const gemvRows = module.add(gemvRowsFunction());
  const gemvTransposed = module.add(gemvTransposedFunction());
  const more = [
    ...quantizedKernelFunctions(),
    ...streamingKernelFunctions(),
    ...rmsnormKernelFunctions(),
    ...crossEntropyKernelFunctions(),
  ].map(({ kind, fn }) => ({
    kind,
    index: module.add(fn),
  }));
  module.add(runJobsFunction({ gemm, gemvRows, gemvTransposed, more }));
  return module.encode();
}
