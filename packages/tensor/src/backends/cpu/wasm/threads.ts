/**
 * The kernel thread pool: worker threads (Node `worker_threads`, or Web Workers) that instantiate the same
 * compiled wasm module over the shared heap memory and run job descriptors on request. The main thread
 * publishes a descriptor list in control words at the start of the heap and bumps a generation counter;
 * then every thread, the main one included, takes the next unclaimed descriptor (an atomic counter) until
 * none is left, and the main thread waits with `Atomics` for the workers — so `dispatch` is synchronous and
 * a thread the OS delays does not hold up the others. Workers are spawned from inline source (no worker file
 * whose path a bundler could break) and unref'd, so an idle pool never keeps the process alive. Not here:
 * how work is split (`matmul.ts`).
 *
 * The protocol. One control word, STATE, holds the generation (high bits) and the number of workers that
 * have joined (low bits). A worker joins with one atomic add on STATE, which also tells it the generation it
 * joined in; `dispatch` bumps the generation with one atomic add, which tells it exactly which workers take
 * part — those that joined before the bump — so a worker that starts while jobs are being dispatched is
 * never counted for a generation it will not run, nor runs one it was not counted for (the race that hung
 * the main thread in `Atomics.wait` on a loaded machine: a late worker decremented a count that had not
 * included it). Every participant decrements PENDING once per generation, after its last claim; the main
 * thread adds the participant count to PENDING after the bump (a worker may already have finished) and
 * waits for zero. Waiting is `Atomics.wait` after a short bounded spin (SPIN_MICROSECONDS on the main thread,
 * WORKER_SPIN_MICROSECONDS in a worker), so an idle or waiting thread never holds a core for long. A thread that may not block (a browser window's main
 * thread) gets no workers: matmul runs there on that one thread.
 */
import { DESCRIPTOR_WORDS } from "./job.js";

const DESCRIPTOR_BYTES = DESCRIPTOR_WORDS * 4;
/** Control words (int32 indices into the heap's reserved first bytes). */
const STATE = 0;
const PENDING = 1;
const FAILED = 3;
const DESCRIPTORS = 4;
const COUNT = 5;
const NEXT_TASK = 6;
const CONTROL_WORDS = 16;
export const MAXIMUM_WORKERS = 256;
/** STATE = generation · 2^JOINED_BITS + joined workers. */
const JOINED_BITS = 9;
const JOINED_MASK = (1 << JOINED_BITS) - 1;
const GENERATION_STEP = 1 << JOINED_BITS;
/** How long the main thread polls for the workers before it blocks in `Atomics.wait` (a futex wake costs tens of µs). */
const SPIN_MICROSECONDS = 20;
/**
 * How long an idle worker polls for the next generation before it blocks. Longer than the main thread's: in a
 * decode step the matrix–vector products come 20–100 µs apart (norms, RoPE, attention in between), so a worker
 * that slept after 20 µs was woken, late, for nearly every one, and the main thread waited on it; one that polls
 * 200 µs is still running when the next arrives. An idle pool stops polling 200 µs after its last job.
 */
const WORKER_SPIN_MICROSECONDS = 200;

/** What a worker runs: join, then wait for a new generation, run its job list, report, repeat. */
const WORKER_SOURCE = `
"use strict";
function start(data) {
  const control = new Int32Array(data.memory.buffer, 0, ${CONTROL_WORDS});
  const instance = new WebAssembly.Instance(data.module, { env: { memory: data.memory } });
  const runJobs = instance.exports.run_jobs;
  let generation = Atomics.add(control, ${STATE}, 1) >>> ${JOINED_BITS};
  Atomics.notify(control, ${STATE});
  for (;;) {
    let state = Atomics.load(control, ${STATE});
    if (state >>> ${JOINED_BITS} === generation) {
      const deadline = performance.now() + ${WORKER_SPIN_MICROSECONDS / 1000};
      for (let poll = 1; state >>> ${JOINED_BITS} === generation; poll++) {
        if ((poll & 63) === 0 && performance.now() > deadline) break;
        state = Atomics.load(control, ${STATE});
      }
      while (state >>> ${JOINED_BITS} === generation) {
        Atomics.wait(control, ${STATE}, state);
        state = Atomics.load(control, ${STATE});
      }
    }
    generation = state >>> ${JOINED_BITS};
    const descriptors = control[${DESCRIPTORS}];
    const count = control[${COUNT}];
    try {
      for (let task = Atomics.add(control, ${NEXT_TASK}, 1); task < count; task = Atomics.add(control, ${NEXT_TASK}, 1)) {
        runJobs(descriptors + task * ${DESCRIPTOR_BYTES}, 1, data.scratch[0], data.scratch[1], data.scratch[2]);
      }
    } catch (error) {
      Atomics.store(control, ${FAILED}, 1);
    }
    if (Atomics.sub(control, ${PENDING}, 1) === 1) Atomics.notify(control, ${PENDING});
  }
}
if (typeof require === "function") {
  start(require("node:worker_threads").workerData);
} else {
  self.onmessage = (event) => start(event.data);
}
`;

interface NodeWorkerThreads {
  Worker: new (
    source: string,
    options: { eval: true; workerData: unknown },
  ) => { unref(): void; on(event: "error", listener: (error: unknown) => void): void };
}

interface Process {
  getBuiltinModule?: (name: string) => unknown;
}

function nodeWorkerThreads(): NodeWorkerThreads | null {
  const process = (globalThis as { process?: Process }).process;
  const module = process?.getBuiltinModule?.("node:worker_threads");
  return (module as NodeWorkerThreads | undefined) ?? null;
}

/**
 * The default thread count: the cores available to this process (os.availableParallelism /
 * navigator.hardwareConcurrency), at least 1 — and 1 on a thread that may not block (a browser window's main
 * thread), which gets no workers (see `ensureWorkers`).
 */
export function availableCores(): number {
  if (!threadCanBlock()) return 1;
  const process = (globalThis as { process?: Process }).process;
  const os = process?.getBuiltinModule?.("node:os") as { availableParallelism?: () => number } | undefined;
  if (os?.availableParallelism) return Math.max(1, os.availableParallelism());
  const navigator = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, navigator?.hardwareConcurrency ?? 1);
}

let canBlock: boolean | null = null;

/**
 * Whether this thread may block in `Atomics.wait`: Node's main thread and workers, a browser's workers — not a
 * browser window's main thread, where `Atomics.wait` throws.
 */
export function threadCanBlock(): boolean {
  if (canBlock === null) {
    try {
      // The value differs, so this returns "not-equal" at once where blocking is allowed.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      canBlock = true;
    } catch {
      canBlock = false;
    }
  }
  return canBlock;
}

export class ThreadPool {
  private readonly control: Int32Array;
  private spawned = 0;
  private spawnFailed = false;

  /**
   * `scratchFor(thread)` gives thread `thread`'s (1…) scratch pointers [packedA, packedB, tile], allocated
   * once and kept for the worker's lifetime.
   */
  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly module: WebAssembly.Module,
    private readonly scratchFor: (thread: number) => readonly [number, number, number],
  ) {
    this.control = new Int32Array(memory.buffer, 0, CONTROL_WORDS);
  }

  /** Workers that have joined (started and counted by the next dispatch). */
  readyWorkers(): number {
    return Atomics.load(this.control, STATE) & JOINED_MASK;
  }

  /**
   * Makes sure `workers` workers exist, waiting up to `readyTimeoutMs` for the ones spawned now to join.
   * Returns how many have joined; fewer when workers cannot be created here, and none on a thread that may
   * not block (it could only spin while they run). A worker that joins later takes part from the next
   * dispatch on.
   */
  ensureWorkers(workers: number, readyTimeoutMs = 5000): number {
    if (!threadCanBlock()) return 0;
    const wanted = Math.min(workers, MAXIMUM_WORKERS);
    if (wanted > this.spawned && !this.spawnFailed) {
      try {
        while (this.spawned < wanted) {
          this.spawnWorker(this.spawned);
          this.spawned++;
        }
      } catch {
        this.spawnFailed = true;
      }
      this.waitForWorkers(readyTimeoutMs);
    }
    return Math.min(wanted, this.readyWorkers());
  }

  /** Waits up to `timeoutMs` for every spawned worker to join; returns how many have. */
  waitForWorkers(timeoutMs: number): number {
    const deadline = Date.now() + timeoutMs;
    let state = Atomics.load(this.control, STATE);
    while ((state & JOINED_MASK) < this.spawned && Date.now() < deadline) {
      Atomics.wait(this.control, STATE, state, 50);
      state = Atomics.load(this.control, STATE);
    }
    return state & JOINED_MASK;
  }

  /**
   * Runs the `count` descriptors at byte `descriptors` on the calling thread and every joined worker: each
   * thread takes the next unclaimed descriptor until none is left (so a thread the OS delays does not hold
   * up the others), and the call returns when all are done. `runJob` runs one descriptor on this thread.
   * The calling thread must be able to block (`ensureWorkers` gives it no workers otherwise).
   */
  dispatch(descriptors: number, count: number, runJob: (pointer: number) => void): void {
    const control = this.control;
    control[DESCRIPTORS] = descriptors;
    control[COUNT] = count;
    Atomics.store(control, NEXT_TASK, 0);
    Atomics.store(control, FAILED, 0);
    // The bump publishes the job list and says who takes part: the workers that joined before it.
    const participants = Atomics.add(control, STATE, GENERATION_STEP) & JOINED_MASK;
    Atomics.notify(control, STATE);
    Atomics.add(control, PENDING, participants);
    let failure: unknown = null;
    try {
      for (let task = Atomics.add(control, NEXT_TASK, 1); task < count; task = Atomics.add(control, NEXT_TASK, 1)) {
        runJob(descriptors + task * DESCRIPTOR_BYTES);
      }
    } catch (error) {
      failure = error;
      Atomics.store(control, NEXT_TASK, count);
    }
    let pending = Atomics.load(control, PENDING);
    if (pending !== 0) {
      const deadline = performance.now() + SPIN_MICROSECONDS / 1000;
      for (let poll = 1; pending !== 0; poll++) {
        if ((poll & 63) === 0 && performance.now() > deadline) break;
        pending = Atomics.load(control, PENDING);
      }
      while (pending !== 0) {
        Atomics.wait(control, PENDING, pending);
        pending = Atomics.load(control, PENDING);
      }
    }
    if (failure !== null) throw failure;
    if (Atomics.load(control, FAILED) !== 0) {
      throw new Error(
        "[wasm threads] a worker's matmul kernel trapped (out-of-bounds operand?); check the operand sizes and offsets",
      );
    }
  }

  private spawnWorker(index: number): void {
    const data = { module: this.module, memory: this.memory, scratch: this.scratchFor(index + 1) };
    const threads = nodeWorkerThreads();
    if (threads !== null) {
      const worker = new threads.Worker(WORKER_SOURCE, { eval: true, workerData: data });
      worker.on("error", () => {
        this.spawnFailed = true;
      });
      worker.unref();
      return;
    }
    const WebWorker = (globalThis as { Worker?: new (url: string) => { postMessage(data: unknown): void } }).Worker;
    if (WebWorker === undefined || typeof Blob === "undefined" || typeof URL === "undefined") {
      throw new Error("[wasm threads] no worker API here");
    }
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    new WebWorker(url).postMessage(data);
  }
}
