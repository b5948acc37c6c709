/**
 * The matmul module's job contract, shared by the kernels (emitted in kernels.ts and gemv.ts) and their host
 * side (matmul.ts, threads.ts): register and cache blocking sizes, the job kinds, the 64-byte job descriptor's
 * fields and the per-thread scratch sizes. Constants only.
 */

/**
 * Micro-tile rows and columns (NR is a multiple of 4). 5×8 keeps 10 accumulators, the two B vectors of a
 * depth step, a splat and a product in V8's 15 usable vector registers. Chosen by timing variants built
 * in one process, in interleaved rounds (1024³, one thread, 2-core AMD EPYC, Node 20): 5×8 and 2×16 with
 * B in registers ~49 GFLOP/s; 3×12 ~46; 4×8 ~42; 6×8 ~34 (one accumulator spills; reading B from memory
 * instead: ~27); 8×8 ~25. KC 128–512 and MC 60–240 were all within 2%.
 */
export const MR = 5;
export const NR = 8;
/** Depth steps per micro-kernel loop iteration (a power of two). */
/** Cache blocking: a KC×NR sliver of B stays in L1, an MC×KC block of A in L2, a KC×NC panel of B in L3. */
export const KC = 256;
export const MC = 120;
export const NC = 2048;

/** Job kinds (descriptor word 0). */
export const JOB_GEMM = 0;
export const JOB_GEMV_ROWS = 1;
export const JOB_GEMV_TRANSPOSED = 2;

/** Descriptor words (int32 each); strides in elements, pointers in bytes. */
export const DESCRIPTOR_WORDS = 16;
export const FIELD = {
  kind: 0,
  a: 1,
  aRowStride: 2,
  aColumnStride: 3,
  b: 4,
  bRowStride: 5,
  bColumnStride: 6,
  out: 7,
  outRowStride: 8,
  m: 9,
  n: 10,
  k: 11,
  accumulate: 12,
  packedA: 13,
  packedB: 14,
  tile: 15,
} as const;

/** Scratch per thread, in float32 elements. */
export const PACKED_A_ELEMENTS = MC * KC;
export const PACKED_B_ELEMENTS = KC * (NC + NR);
export const TILE_ELEMENTS = MR * NR;

export interface KernelExports {
  /** Runs `count` consecutive descriptors starting at byte `descriptors` with the given scratch blocks. */
  run_jobs(descriptors: number, count: number, packedA: number, packedB: number, tile: number): void;
}
