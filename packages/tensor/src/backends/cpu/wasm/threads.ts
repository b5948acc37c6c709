/**
 * The kernel thread pool: worker threads (Node `worker_threads`, or Web Workers) that instantiate the same
 * compiled wasm module over the shared heap memory and run job descriptors on request. The main thread
 * publishes a descriptor list in control words at the start of the heap and bumps a generation counter;
 * then every thread, the main one included, takes the next unclaimed descriptor (an atomic counter) until
 * none is left, and the main thread waits with `Atomics` for the workers — so `dispatch` is synchronous and
 * a thread the OS delays does not hold up the others. Workers are spawned from inline source (no worker file whose path a bundler could break) and
 * unref'd, so an idle pool never keeps the process alive. Not here: how work is split (`matmul.ts`).
 */
import { DESCRIPTOR_WORDS } from "./job.js";

const DESCRIPTOR_BYTES = DESCRIPTOR_WORDS * 4;
/** Control words (int32 indices into the heap's reserved first bytes). */
const GENERATION = 0;
const PENDING = 1;
const READY = 2;
const FAILED = 3;
const DESCRIPTORS = 4;
const COUNT = 5;
const NEXT_TASK = 6;
const CONTROL_WORDS = 16;
export const MAXIMUM_WORKERS = 256;

/** What a worker runs: wait for a new generation, run its job list, report, repeat. */
const WORKER_SOURCE = `
"use strict";
function start(data) {
  const control = new Int32Array(data.memory.buffer, 0, ${CONTROL_WORDS});
  const instance = new WebAssembly.Instance(data.module, { env: { memory: data.memory } });
  const runJobs = instance.exports.run_jobs;
  let seen = Atomics.load(control, ${GENERATION});
  Atomics.add(control, ${READY}, 1);
  Atomics.notify(control, ${READY});
  for (;;) {
    Atomics.wait(control, ${GENERATION}, seen);
    seen = Atomics.load(control, ${GENERATION});
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

/** Cores available to this process (os.availableParallelism / navigator.hardwareConcurrency), at least 1. */
export function availableCores(): number {
  const process = (globalThis as { process?: Process }).process;
  const os = process?.getBuiltinModule?.("node:os") as { availableParallelism?: () => number } | undefined;
  if (os?.availableParallelism) return Math.max(1, os.availableParallelism());
  const navigator = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, navigator?.hardwareConcurrency ?? 1);
}

/** Whether the main thread may block in `Atomics.wait` (Node yes; a browser window no). */
function mainThreadCanWait(): boolean {
  return nodeWorkerThreads() !== null;
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

  /** Workers that have started and can take jobs. */
  readyWorkers(): number {
    return Math.min(this.spawned, Atomics.load(this.control, READY));
  }

  /**
   * Makes sure `workers` workers exist, waiting (up to a few seconds, where the main thread may block) for
   * new ones to start. Returns how many are ready; fewer when workers cannot be created here.
   */
  ensureWorkers(workers: number): number {
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
      if (mainThreadCanWait()) {
        const deadline = Date.now() + 5000;
        let ready = Atomics.load(this.control, READY);
        while (ready < this.spawned && Date.now() < deadline) {
          Atomics.wait(this.control, READY, ready, 50);
          ready = Atomics.load(this.control, READY);
        }
      }
    }
    return Math.min(wanted, this.readyWorkers());
  }

  /**
   * Runs the `count` descriptors at byte `descriptors` on the calling thread and every ready worker: each
   * thread takes the next unclaimed descriptor until none is left (so a thread the OS delays does not hold
   * up the others), and the call returns when all are done. `runJob` runs one descriptor on this thread.
   */
  dispatch(descriptors: number, count: number, runJob: (pointer: number) => void): void {
    const control = this.control;
    const workers = this.readyWorkers();
    control[DESCRIPTORS] = descriptors;
    control[COUNT] = count;
    Atomics.store(control, NEXT_TASK, 0);
    Atomics.store(control, FAILED, 0);
    Atomics.store(control, PENDING, workers);
    Atomics.add(control, GENERATION, 1);
    Atomics.notify(control, GENERATION);
    let failure: unknown = null;
    try {
      for (let task = Atomics.add(control, NEXT_TASK, 1); task < count; task = Atomics.add(control, NEXT_TASK, 1)) {
        runJob(descriptors + task * DESCRIPTOR_BYTES);
      }
    } catch (error) {
      failure = error;
      Atomics.store(control, NEXT_TASK, count);
    }
    const canWait = mainThreadCanWait();
    let pending = Atomics.load(control, PENDING);
    while (pending !== 0) {
      if (canWait) Atomics.wait(control, PENDING, pending);
      pending = Atomics.load(control, PENDING);
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
