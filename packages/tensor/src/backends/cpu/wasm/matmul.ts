/**
 * Batched float32 matmul on the wasm heap: out[b] (+)= op(A[b])·op(B[b]) for row-major operands, with
 * transposed storage and broadcast (stride-0) batches read in place. Heap blocks are used zero-copy; plain
 * Float32Arrays are copied through scratch heap memory. m = 1 runs the GEMV kernels, everything else the
 * packed GEMM; the output is tiled over the kernel threads (batches first, then columns, then rows), and
 * every output element is summed in the same order whatever the thread count, so results do not depend on
 * it. Not here: strides other than plain/transposed, other dtypes (the caller copies or uses `matmul-js`).
 */
import { getHeap, type HeapBlock, type WasmHeap } from "./heap.js";
import {
  DESCRIPTOR_WORDS,
  FIELD,
  JOB_GEMM,
  JOB_GEMV_ROWS,
  JOB_GEMV_TRANSPOSED,
  type KernelExports,
  MR,
  NR,
  PACKED_A_ELEMENTS,
  PACKED_B_ELEMENTS,
  TILE_ELEMENTS,
} from "./job.js";
import { buildMatmulModule } from "./kernels.js";
import { availableCores, MAXIMUM_WORKERS, ThreadPool } from "./threads.js";

export interface MatmulSpec {
  batch: number;
  m: number;
  n: number;
  k: number;
  /** A stored [k, m] (row-major) instead of [m, k]; read in place. */
  transA: boolean;
  /** B stored [n, k] (row-major) instead of [k, n]; read in place. */
  transB: boolean;
  /** Elements between consecutive batch entries of A; 0 broadcasts A over the batch. */
  aBatchStride: number;
  /** Elements between consecutive batch entries of B; 0 broadcasts B over the batch. */
  bBatchStride: number;
  /** out += A·B instead of out = A·B (gradient accumulation). */
  accumulate?: boolean;
}

/** Below this many multiply-adds a call runs on one thread: waking workers costs more than it saves. */
const PARALLEL_THRESHOLD = 1 << 18;
/**
 * GEMV is memory-bound and short, so only large ones wake workers. Measured with cold operands, 2 threads
 * vs 1: B transposed ([n, k], the layout of a Linear weight) gains 20–30% at 512×6400 and loses at
 * 512×1536; B row-major was mixed at 512×6400 (column strips of B read with a long stride).
 */
const GEMV_TRANSPOSED_PARALLEL_THRESHOLD = 1 << 21;
const GEMV_ROWS_PARALLEL_THRESHOLD = 1 << 23;
/** GEMM tasks per thread (see `planTasks`). */
const GEMM_TASKS_PER_THREAD = 4;

interface ThreadScratch {
  packedA: HeapBlock;
  packedB: HeapBlock;
  tile: HeapBlock;
}

interface Engine {
  heap: WasmHeap;
  kernels: KernelExports;
  pool: ThreadPool | null;
  /** Per-thread packing buffers, index 0 for the calling thread. */
  scratch: ThreadScratch[];
  /** The job descriptors of the current call (reused across calls). */
  descriptors: HeapBlock | null;
}

let engine: Engine | null = null;
let requestedThreads = availableCores();
let lastThreadCount = 0;

function getEngine(): Engine {
  if (engine === null) {
    const heap = getHeap();
    const module = new WebAssembly.Module(buildMatmulModule(heap.shared) as BufferSource);
    const instance = new WebAssembly.Instance(module, { env: { memory: heap.memory } });
    const kernels = instance.exports as unknown as KernelExports;
    const state: Engine = { heap, kernels, pool: null, scratch: [], descriptors: null };
    if (heap.shared) {
      state.pool = new ThreadPool(heap.memory, module, (thread) => {
        const scratch = scratchFor(state, thread);
        return [scratch.packedA.ptr, scratch.packedB.ptr, scratch.tile.ptr];
      });
    }
    engine = state;
  }
  return engine;
}

/** Sets how many threads (the calling one included) matmul uses; 1 disables the workers. */
export function setMatmulThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`[matmul] setMatmulThreads(${n}): the thread count must be a positive integer`);
  }
  requestedThreads = Math.min(n, MAXIMUM_WORKERS + 1);
}

/** How many threads the last matmul call ran on (for tests and benchmarks). */
export function getLastMatmulThreadCount(): number {
  return lastThreadCount;
}

/** The thread count matmul will use (1 where the heap memory cannot be shared). */
export function getMatmulThreads(): number {
  return getEngine().pool === null ? 1 : requestedThreads;
}

function scratchFor(state: Engine, thread: number): ThreadScratch {
  while (state.scratch.length <= thread) {
    state.scratch.push({
      packedA: state.heap.alloc(PACKED_A_ELEMENTS),
      packedB: state.heap.alloc(PACKED_B_ELEMENTS),
      tile: state.heap.alloc(TILE_ELEMENTS),
    });
  }
  return state.scratch[thread];
}

type Operand = HeapBlock | Float32Array;

interface Placed {
  /** Byte address of element 0 of the operand in the heap. */
  address: number;
  /** Scratch block holding a copy, to copy back (output) and free. */
  copy: HeapBlock | null;
}

/** Places `elements` elements of an operand from `offset` in the heap, copying plain arrays. */
function place(state: Engine, operand: Operand, offset: number, elements: number, copyIn: boolean): Placed {
  if (!(operand instanceof Float32Array)) return { address: operand.ptr + offset * 4, copy: null };
  if (operand.buffer === state.heap.memory.buffer) {
    return { address: operand.byteOffset + offset * 4, copy: null };
  }
  const copy = state.heap.alloc(Math.max(elements, 1));
  if (copyIn) copy.f32().set(operand.subarray(offset, offset + elements));
  return { address: copy.ptr, copy };
}

function checkExtent(name: string, operand: Operand, offset: number, needed: number): void {
  if (!Number.isInteger(offset) || offset < 0) {
    throw new Error(`[matmul] ${name} offset ${offset} must be a non-negative integer element index`);
  }
  if (needed > 0 && offset + needed > operand.length) {
    throw new Error(
      `[matmul] operand ${name} has ${operand.length} elements but the spec reads ${needed} from offset ${offset}; check m/n/k, batch and ${name}BatchStride`,
    );
  }
}

function checkSpec(spec: MatmulSpec): void {
  for (const field of ["batch", "m", "n", "k", "aBatchStride", "bBatchStride"] as const) {
    const value = spec[field];
    if (!Number.isInteger(value) || value < 0) {
      throw new Error(`[matmul] spec.${field} = ${value} must be a non-negative integer`);
    }
  }
}

/** One rectangle of one batch entry's output, for one thread. */
interface Task {
  batch: number;
  rowStart: number;
  rowEnd: number;
  columnStart: number;
  columnEnd: number;
}

export function splitRange(length: number, parts: number, unit: number): Array<[number, number]> {
  const units = Math.ceil(length / unit);
  const ranges: Array<[number, number]> = [];
  for (let part = 0; part < parts; part++) {
    const start = Math.min(length, Math.floor((units * part) / parts) * unit);
    const end = Math.min(length, Math.floor((units * (part + 1)) / parts) * unit);
    if (end > start) ranges.push([start, end]);
  }
  return ranges;
}

/**
 * The output split into tasks for `threads` threads — about four per thread, so threads that finish early (or
 * that the OS did not delay) take more: whole batch entries when there are enough; else, for a GEMV, column
 * strips; else a grid of R row × C column blocks of each entry. Every task packs its own rows of A (once per
 * column block) and its own columns of B (once per row block), so the grid is the one that packs the fewest
 * elements, C·m·k + R·k·n (at 1024³ on 2 threads, 2 × 4 blocks pack 6 matrices' worth where 8 column strips
 * packed 9). Each output element is summed in the same order whatever the split.
 */
function planTasks(spec: MatmulSpec, threads: number): Task[] {
  const { batch, m, n, k } = spec;
  const wanted = threads === 1 ? 1 : (m === 1 ? 4 : GEMM_TASKS_PER_THREAD) * threads;
  const tasks: Task[] = [];
  if (batch >= wanted || threads === 1) {
    for (let index = 0; index < batch; index++) {
      tasks.push({ batch: index, rowStart: 0, rowEnd: m, columnStart: 0, columnEnd: n });
    }
    return tasks;
  }
  const blocks = Math.ceil(wanted / batch);
  let rowRanges: Array<[number, number]> = [[0, m]];
  let columnRanges: Array<[number, number]>;
  if (m === 1) {
    columnRanges = splitRange(n, blocks, 64);
  } else {
    let best = { rows: 1, columns: blocks, cost: Number.POSITIVE_INFINITY };
    for (let rows = 1; rows <= blocks; rows++) {
      if (blocks % rows !== 0) continue;
      const columns = blocks / rows;
      if (Math.ceil(m / MR) < rows || Math.ceil(n / NR) < columns) continue;
      const cost = columns * m * k + rows * k * n;
      if (cost < best.cost) best = { rows, columns, cost };
    }
    if (!Number.isFinite(best.cost)) {
      best = n >= m ? { rows: 1, columns: blocks, cost: 0 } : { rows: blocks, columns: 1, cost: 0 };
    }
    rowRanges = splitRange(m, best.rows, MR);
    columnRanges = splitRange(n, best.columns, NR);
  }
  for (let index = 0; index < batch; index++) {
    for (const [rowStart, rowEnd] of rowRanges) {
      for (const [columnStart, columnEnd] of columnRanges) {
        tasks.push({ batch: index, rowStart, rowEnd, columnStart, columnEnd });
      }
    }
  }
  return tasks;
}

/**
 * out[outOffset + b·m·n …] (+)= A_b·B_b, with A_b at aOffset + b·aBatchStride and B_b at
 * bOffset + b·bBatchStride (in elements). Synchronous.
 */
export function matmul(
  a: Operand,
  aOffset: number,
  b: Operand,
  bOffset: number,
  out: Operand,
  outOffset: number,
  spec: MatmulSpec,
): void {
  checkSpec(spec);
  const { batch, m, n, k, aBatchStride, bBatchStride } = spec;
  const accumulate = spec.accumulate === true;
  if (batch === 0 || m === 0 || n === 0) return;
  const aElements = (batch - 1) * aBatchStride + m * k;
  const bElements = (batch - 1) * bBatchStride + k * n;
  const outElements = batch * m * n;
  checkExtent("a", a, aOffset, m * k === 0 ? 0 : aElements);
  checkExtent("b", b, bOffset, k * n === 0 ? 0 : bElements);
  checkExtent("out", out, outOffset, outElements);
  const state = getEngine();
  if (k === 0) {
    if (!accumulate) {
      const view = out instanceof Float32Array ? out : out.f32();
      view.fill(0, outOffset, outOffset + outElements);
    }
    return;
  }
  const placedA = place(state, a, aOffset, aElements, true);
  const placedB = place(state, b, bOffset, bElements, true);
  const placedOut = place(state, out, outOffset, outElements, accumulate);
  try {
    run(state, spec, accumulate, placedA.address, placedB.address, placedOut.address);
    if (placedOut.copy !== null) {
      (out as Float32Array).set(placedOut.copy.f32().subarray(0, outElements), outOffset);
    }
  } finally {
    for (const placed of [placedA, placedB, placedOut]) if (placed.copy !== null) state.heap.free(placed.copy);
  }
}

function run(
  state: Engine,
  spec: MatmulSpec,
  accumulate: boolean,
  aAddress: number,
  bAddress: number,
  outAddress: number,
): void {
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = spec;
  let threads = 1;
  const work = batch * m * n * k;
  const threshold =
    m > 1 ? PARALLEL_THRESHOLD : transB ? GEMV_TRANSPOSED_PARALLEL_THRESHOLD : GEMV_ROWS_PARALLEL_THRESHOLD;
  if (state.pool !== null && requestedThreads > 1 && work >= threshold) {
    threads = 1 + state.pool.ensureWorkers(requestedThreads - 1);
  }
  lastThreadCount = threads;
  const aRowStride = transA ? 1 : k;
  const aColumnStride = transA ? m : 1;
  const bRowStride = transB ? 1 : n;
  const bColumnStride = transB ? k : 1;
  const kind = m > 1 ? JOB_GEMM : transB ? JOB_GEMV_TRANSPOSED : JOB_GEMV_ROWS;
  const tasks = planTasks(spec, threads);
  const words = tasks.length * DESCRIPTOR_WORDS;
  if (state.descriptors === null || state.descriptors.length < words) {
    if (state.descriptors !== null) state.heap.free(state.descriptors);
    state.descriptors = state.heap.alloc(Math.max(words, DESCRIPTOR_WORDS * 64));
  }
  const descriptor = state.descriptors.i32();
  tasks.forEach((task, index) => {
    const base = index * DESCRIPTOR_WORDS;
    const aMatrix = aAddress + task.batch * aBatchStride * 4;
    const bMatrix = bAddress + task.batch * bBatchStride * 4;
    const outMatrix = outAddress + task.batch * m * n * 4;
    descriptor[base + FIELD.kind] = kind;
    descriptor[base + FIELD.a] = aMatrix + task.rowStart * aRowStride * 4;
    descriptor[base + FIELD.aRowStride] = aRowStride;
    descriptor[base + FIELD.aColumnStride] = aColumnStride;
    descriptor[base + FIELD.b] = bMatrix + task.columnStart * bColumnStride * 4;
    descriptor[base + FIELD.bRowStride] = bRowStride;
    descriptor[base + FIELD.bColumnStride] = bColumnStride;
    descriptor[base + FIELD.out] = outMatrix + (task.rowStart * n + task.columnStart) * 4;
    descriptor[base + FIELD.outRowStride] = n;
    descriptor[base + FIELD.m] = task.rowEnd - task.rowStart;
    descriptor[base + FIELD.n] = task.columnEnd - task.columnStart;
    descriptor[base + FIELD.k] = k;
    descriptor[base + FIELD.accumulate] = accumulate ? 1 : 0;
  });
  const own = scratchFor(state, 0);
  const runOwn = (pointer: number, count: number) =>
    state.kernels.run_jobs(pointer, count, own.packedA.ptr, own.packedB.ptr, own.tile.ptr);
  if (threads === 1 || state.pool === null) {
    runOwn(state.descriptors.ptr, tasks.length);
    return;
  }
  state.pool.dispatch(state.descriptors.ptr, tasks.length, (pointer) => runOwn(pointer, 1));
}

/**
 * Runs `count` job descriptors of any kind the module dispatches (the sub-fp32 weight kernels of
 * gemv-quantized.ts use it) on up to `threads` threads, the calling one included and never more than
 * `setMatmulThreads` allows: `write(words, base, index)` fills descriptor `index` at `words[base …]`. Synchronous.
 */
export function runMatmulJobs(
  count: number,
  threads: number,
  write: (words: Int32Array, base: number, index: number) => void,
): void {
  if (count === 0) return;
  const state = getEngine();
  let used = 1;
  if (state.pool !== null && requestedThreads > 1 && threads > 1 && count > 1) {
    used = 1 + state.pool.ensureWorkers(Math.min(threads, requestedThreads) - 1);
  }
  lastThreadCount = used;
  const words = count * DESCRIPTOR_WORDS;
  if (state.descriptors === null || state.descriptors.length < words) {
    if (state.descriptors !== null) state.heap.free(state.descriptors);
    state.descriptors = state.heap.alloc(Math.max(words, DESCRIPTOR_WORDS * 64));
  }
  const descriptor = state.descriptors.i32();
  for (let index = 0; index < count; index++) write(descriptor, index * DESCRIPTOR_WORDS, index);
  const own = scratchFor(state, 0);
  const runOwn = (pointer: number, jobs: number) =>
    state.kernels.run_jobs(pointer, jobs, own.packedA.ptr, own.packedB.ptr, own.tile.ptr);
  if (used === 1 || state.pool === null) {
    runOwn(state.descriptors.ptr, count);
    return;
  }
  state.pool.dispatch(state.descriptors.ptr, count, (pointer) => runOwn(pointer, 1));
}
