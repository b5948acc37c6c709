/**
 * The thread pool's stress run, a script for `threads.test.ts` to start in a child process (so a hang is a
 * killed child and a failed test, not a stuck test runner): `node --import tsx threads-stress.ts <seed>
 * <milliseconds>`. On its own heap and pool it dispatches many small GEMM job lists of random shapes split
 * into random task counts, while workers are being added without waiting for them to start (so workers
 * join between and during dispatches), and checks every result bit for bit against the same descriptors run
 * on this thread alone, the output poisoned with NaN before each dispatch (a task still running when
 * `dispatch` returns leaves NaN or a partial sum). Runs for at least the given time and 300 dispatches, then
 * waits for every worker to have joined and runs 100 more on all of them. Prints one JSON line: dispatches,
 * workers joined, mismatches.
 */
import { createHeap } from "./heap.js";
import {
  DESCRIPTOR_WORDS,
  FIELD,
  JOB_GEMM,
  type KernelExports,
  PACKED_A_ELEMENTS,
  PACKED_B_ELEMENTS,
  TILE_ELEMENTS,
} from "./job.js";
import { buildMatmulModule } from "./kernels.js";
import { ThreadPool } from "./threads.js";

const MAXIMUM_SIDE = 40;
const MAXIMUM_TASKS = 8;
const WORKERS = 3;
const MINIMUM_DISPATCHES = 300;

function run(seed: number, milliseconds: number): { dispatches: number; workers: number; mismatches: string[] } {
  let state = seed >>> 0;
  const random = (below: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Math.floor((state / 2 ** 32) * below);
  };
  const heap = createHeap(true);
  const module = new WebAssembly.Module(buildMatmulModule(true) as BufferSource);
  const kernels = new WebAssembly.Instance(module, { env: { memory: heap.memory } })
    .exports as unknown as KernelExports;
  const scratch = Array.from({ length: WORKERS + 1 }, () => [
    heap.alloc(PACKED_A_ELEMENTS).ptr,
    heap.alloc(PACKED_B_ELEMENTS).ptr,
    heap.alloc(TILE_ELEMENTS).ptr,
  ]);
  const own = scratch[0] as number[];
  const pool = new ThreadPool(heap.memory, module, (thread) => scratch[thread] as [number, number, number]);
  const side = MAXIMUM_SIDE;
  const a = heap.alloc(side * side);
  const b = heap.alloc(side * side);
  const out = heap.alloc(side * side);
  const expected = heap.alloc(side * side);
  const descriptors = heap.alloc(2 * MAXIMUM_TASKS * DESCRIPTOR_WORDS);
  const mismatches: string[] = [];
  let dispatches = 0;
  let workers = 0;
  const step = () => {
    // Now and then one more worker, not waited for: it joins while the dispatches go on.
    if (workers < WORKERS && random(64) === 0) pool.ensureWorkers(++workers, 0);
    const m = 1 + random(side);
    const n = 1 + random(side);
    const k = 1 + random(side);
    const tasks = 1 + random(Math.min(m, MAXIMUM_TASKS));
    const aView = a.f32();
    const bView = b.f32();
    for (let index = 0; index < m * k; index++) aView[index] = random(17) - 8;
    for (let index = 0; index < k * n; index++) bView[index] = (random(1001) - 500) / 64;
    const words = descriptors.i32();
    for (const [copy, target] of [
      [0, out],
      [1, expected],
    ] as const) {
      for (let task = 0; task < tasks; task++) {
        const rowStart = Math.floor((task * m) / tasks);
        const rowEnd = Math.floor(((task + 1) * m) / tasks);
        const base = (copy * MAXIMUM_TASKS + task) * DESCRIPTOR_WORDS;
        words.fill(0, base, base + DESCRIPTOR_WORDS);
        words[base + FIELD.kind] = JOB_GEMM;
        words[base + FIELD.a] = a.ptr + rowStart * k * 4;
        words[base + FIELD.aRowStride] = k;
        words[base + FIELD.aColumnStride] = 1;
        words[base + FIELD.b] = b.ptr;
        words[base + FIELD.bRowStride] = n;
        words[base + FIELD.bColumnStride] = 1;
        words[base + FIELD.out] = target.ptr + rowStart * n * 4;
        words[base + FIELD.outRowStride] = n;
        words[base + FIELD.m] = rowEnd - rowStart;
        words[base + FIELD.n] = n;
        words[base + FIELD.k] = k;
      }
    }
    out.f32().fill(Number.NaN);
    const [packedA, packedB, tile] = own as [number, number, number];
    kernels.run_jobs(descriptors.ptr + MAXIMUM_TASKS * DESCRIPTOR_WORDS * 4, tasks, packedA, packedB, tile);
    pool.dispatch(descriptors.ptr, tasks, (pointer) => kernels.run_jobs(pointer, 1, packedA, packedB, tile));
    dispatches++;
    const got = out.i32();
    const want = expected.i32();
    for (let index = 0; index < m * n; index++) {
      if (got[index] !== want[index]) {
        mismatches.push(
          `dispatch ${dispatches} (${m}×${k}·${k}×${n}, ${tasks} tasks, ${pool.readyWorkers()} workers joined): element ${index} is ${out.f32()[index]}, expected ${expected.f32()[index]}`,
        );
        return;
      }
    }
  };
  const start = Date.now();
  while ((Date.now() - start < milliseconds || dispatches < MINIMUM_DISPATCHES) && mismatches.length === 0) step();
  // Every worker started must have joined by now (none lost); the last dispatches run on all of them.
  workers = WORKERS;
  pool.ensureWorkers(WORKERS, 0);
  const joined = pool.waitForWorkers(30_000);
  for (let index = 0; index < 100 && mismatches.length === 0; index++) step();
  return { dispatches, workers: joined, mismatches };
}

const [seed = "1", milliseconds = "3000"] = process.argv.slice(2);
process.stdout.write(`${JSON.stringify(run(Number(seed), Number(milliseconds)))}\n`);
