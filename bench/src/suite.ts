/**
 * What a benchmark suite is and what it reports. A suite measures our code and, in the same process and
 * run, a peer doing the same work, so the ratio survives a noisy shared machine; lone absolute times don't.
 */

/** One measured figure, printed as one JSON line by `pnpm bench --json`. */
export interface BenchResult {
  suite: string;
  case: string;
  metric: string;
  unit: string;
  value: number;
  peer: string | null;
  peerValue: number | null;
  /** value / peerValue for "higher is better" metrics, peerValue / value for times; null without a peer. */
  ratio: number | null;
}

export interface Suite {
  name: string;
  description: string;
  /** Yields results as they are measured, so long suites show progress. */
  run: (options: { log: (line: string) => void }) => AsyncIterable<BenchResult>;
}

/** Median of `runs` timings (ms) of `fn`, after `warmup` untimed calls. */
export async function medianMs(fn: () => unknown | Promise<unknown>, runs = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return times.length % 2 === 1 ? (times[mid] as number) : ((times[mid - 1] as number) + (times[mid] as number)) / 2;
}
