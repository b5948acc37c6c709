/**
 * A per-case watchdog for hostile-input and fuzz tests: runs one case, and fails it when it took longer than
 * its time budget, when an asynchronous case is still pending at the deadline (a hang on I/O), or when the
 * process's peak resident memory rose by more than the memory budget while it ran. It also classifies how a
 * case ended: a result, a clean labelled error (`[label] …`), or a raw engine error (a TypeError,
 * RangeError, … or any error without a label) that the suites count as a failure.
 * Not a sandbox: a synchronous infinite loop blocks the timer too; vitest's test timeout is the last line.
 */

/** How a case ended. */
export type Outcome = { kind: "result"; value: unknown } | { kind: "clean"; message: string };

/** The budget of one case. */
export interface Budget {
  /** Milliseconds the case may take (default 1,000). */
  readonly milliseconds?: number;
  /** Megabytes by which the process's peak resident memory may grow while it runs (default 200). */
  readonly megabytes?: number;
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
  const peakBefore = peakResidentBytes();
  const start = performance.now();
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
