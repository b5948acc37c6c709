/**
 * A per-case watchdog for hostile-input and fuzz tests: runs one case, and fails it when it took longer than
 * its time budget, when an asynchronous case is still pending at the deadline (a hang on I/O), or when the
 * process's peak resident memory rose by more than the memory budget while it ran. It also classifies how a
 * case ended: a result, a clean labelled error (`[label] …`), or a raw engine error (a TypeError,
 * RangeError, … or any error without a label) that the suites count as a failure.
 * A case that blocks the thread (a synchronous infinite loop, which no timer on this thread can interrupt) or
 * whose memory runs away is caught by a guard thread: a worker that watches a shared heartbeat and the
 * process's resident memory, and kills the process with the case's label on stderr once a case has run 10× its
 * time budget or grown memory by 10× its budget, so CI fails loudly instead of hanging or swapping.
 */
import { writeSync } from "node:fs";
import { Worker } from "node:worker_threads";

/** How a case ended. */
export type Outcome = { kind: "result"; value: unknown } | { kind: "clean"; message: string };

/** The budget of one case. */
export interface Budget {
  /** Milliseconds the case may take (default 1,000). */
  readonly milliseconds?: number;
  /** Megabytes by which the process's peak resident memory may grow while it runs (default 200). */
  readonly megabytes?: number;
}

/**
 * Shared with the guard thread: [0] when the current case started (ms since the time origin, 0 = idle),
 * [1] its time limit in ms, [2] resident bytes at its start, [3] its memory limit in bytes; then its label.
 */
const guardState = new Float64Array(new SharedArrayBuffer(4 * 8));
const guardLabel = new Uint8Array(new SharedArrayBuffer(256));
let guard: Worker | undefined;

const guardSource = `
const { workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const state = new Float64Array(workerData.state);
const label = new Uint8Array(workerData.label);
const origin = workerData.origin;
setInterval(() => {
  const started = state[0];
  if (started === 0) return;
  const elapsed = Date.now() - origin - started;
  const grown = process.memoryUsage.rss() - state[2];
  if (elapsed > state[1] || grown > state[3]) {
    const name = Buffer.from(label).toString("utf8").replace(/\\0+$/, "");
    writeSync(2, "[watchdog] " + name + (elapsed > state[1] ? " blocked the thread for " + Math.round(elapsed) + " ms" : " grew resident memory by " + Math.round(grown / 2 ** 20) + " MB") + "; killing the test process\\n");
    process.kill(process.pid, "SIGKILL");
  }
}, 100);
`;

/** Starts the guard thread once per process; it never keeps the process alive. */
function startGuard(): void {
  if (guard !== undefined) return;
  guard = new Worker(guardSource, {
    eval: true,
    workerData: { state: guardState.buffer, label: guardLabel.buffer, origin: Date.now() - performance.now() },
  });
  guard.unref();
  guard.on("error", (error) => writeSync(2, `[watchdog] the guard thread failed: ${String(error)}\n`));
}

/** Tells the guard thread a case started (or, with undefined, that none runs). */
function armGuard(label: string | undefined, milliseconds = 0, megabytes = 0): void {
  if (label === undefined) {
    guardState[0] = 0;
    return;
  }
  guardLabel.fill(0);
  guardLabel.set(new TextEncoder().encode(label).subarray(0, guardLabel.length - 1));
  guardState[1] = 10 * milliseconds;
  guardState[2] = process.memoryUsage.rss();
  guardState[3] = 10 * megabytes * 2 ** 20;
  guardState[0] = performance.now();
}

/** Peak resident memory of this process so far, in bytes (getrusage's ru_maxrss). */
export function peakResidentBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * Whether `error` is a clean library error: an Error whose message starts with a `[label]` (engine errors
 * never do: "Cannot read properties of undefined", "Invalid array length", "[object Object] is not…").
 */
export function isCleanError(error: unknown): error is Error {
  return error instanceof Error && /^\[[\w@/.-]+\] \S/.test(error.message);
}

/**
 * Runs `run` under the budget. Resolves with its outcome when it returns or throws a clean error; rejects
 * (failing the test, with `label` and the cause) on a raw error, a timeout or a memory overrun.
 */
export async function watchCase(label: string, run: () => unknown, budget: Budget = {}): Promise<Outcome> {
  const milliseconds = budget.milliseconds ?? 1_000;
  const megabytes = budget.megabytes ?? 200;
  startGuard();
  const peakBefore = peakResidentBytes();
  const start = performance.now();
  armGuard(label, milliseconds, megabytes);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${label}: still running after ${milliseconds} ms (a hang)`)),
      milliseconds + 50,
    );
  });
  let outcome: Outcome;
  try {
    const value = await Promise.race([Promise.resolve().then(run), deadline]);
    outcome = { kind: "result", value };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith(`${label}: still running`)) throw error;
    if (!isCleanError(error)) {
      const name = error instanceof Error ? error.constructor.name : typeof error;
      throw new Error(`${label}: a raw ${name} escaped: ${String((error as Error)?.message ?? error).slice(0, 300)}`);
    }
    outcome = { kind: "clean", message: error.message };
  } finally {
    clearTimeout(timer);
    armGuard(undefined);
  }
  const elapsed = performance.now() - start;
  if (elapsed > milliseconds)
    throw new Error(`${label}: took ${elapsed.toFixed(0)} ms; the budget is ${milliseconds} ms`);
  const grown = (peakResidentBytes() - peakBefore) / 2 ** 20;
  if (grown > megabytes) {
    throw new Error(`${label}: peak resident memory grew by ${grown.toFixed(0)} MB; the budget is ${megabytes} MB`);
  }
  return outcome;
}
