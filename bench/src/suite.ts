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

/**
 * Median time (ms) of each function over `runs` rounds, after `warmup` untimed calls each (so every wasm
 * kernel has tiered up). Each round times every function once, in turn, so load from other processes on
 * this shared machine hits all of them alike instead of whichever happened to run during it.
 */
export async function interleavedMedians<Name extends string>(
  functions: Record<Name, () => unknown>,
  runs: number,
  warmup: number,
): Promise<Record<Name, number>> {
  const entries = Object.entries(functions) as Array<[Name, () => unknown]>;
  for (const [, fn] of entries) for (let index = 0; index < warmup; index++) await fn();
  const times = new Map<Name, number[]>(entries.map(([name]) => [name, []]));
  for (let round = 0; round < runs; round++) {
    for (const [name, fn] of entries) {
      const start = performance.now();
      await fn();
      times.get(name)?.push(performance.now() - start);
    }
  }
  const medians = {} as Record<Name, number>;
  for (const [name, list] of times) {
    list.sort((x, y) => x - y);
    medians[name] = list[Math.floor(list.length / 2)] ?? Number.NaN;
  }
  return medians;
}
