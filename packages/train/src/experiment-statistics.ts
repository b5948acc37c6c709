/**
 * Summaries for the mask experiment: the mean and two-sided 95 % Student-t interval over seeds, paired
 * differences against the causal arm (same seed = same data order, so pairing removes the shared noise), and
 * the markdown table of a result. Pure functions of numbers; not here: running anything (experiment.ts).
 */

/** t(0.975, df) for df = 1 … 30 (standard tables); beyond 30 the normal 1.96 is within 4 %. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The 97.5 % quantile of Student's t with `degreesOfFreedom`. */
export function tQuantile975(degreesOfFreedom: number): number {
  if (!Number.isInteger(degreesOfFreedom) || degreesOfFreedom < 1) {
    throw new RangeError(`[experiment] degrees of freedom ${degreesOfFreedom}; use an integer ≥ 1`);
  }
  return T_975[degreesOfFreedom - 1] ?? 1.96;
}

export interface Interval {
  readonly mean: number;
  /** Half-width of the 95 % t-interval (NaN with fewer than two values). */
  readonly halfWidth: number;
  readonly count: number;
}

/** Mean ± t(0.975, n − 1) · s / √n over `values` (sample standard deviation s). */
export function tInterval(values: readonly number[]): Interval {
  const count = values.length;
  if (count === 0) return { mean: Number.NaN, halfWidth: Number.NaN, count };
  const mean = values.reduce((total, value) => total + value, 0) / count;
  if (count === 1) return { mean, halfWidth: Number.NaN, count };
  const variance = values.reduce((total, value) => total + (value - mean) ** 2, 0) / (count - 1);
  return { mean, halfWidth: (tQuantile975(count - 1) * Math.sqrt(variance)) / Math.sqrt(count), count };
}

/** Whether the interval excludes zero (a paired difference distinguishable from noise at 95 %). */
export function excludesZero(interval: Interval): boolean {
  return Number.isFinite(interval.halfWidth) && Math.abs(interval.mean) > interval.halfWidth;
}

/** "0.123 ± 0.045" with `digits` decimals ("0.123" with one value). */
export function formatInterval(interval: Interval, digits = 3): string {
  if (!Number.isFinite(interval.mean)) return "—";
  const mean = interval.mean.toFixed(digits);
  return Number.isFinite(interval.halfWidth) ? `${mean} ± ${interval.halfWidth.toFixed(digits)}` : mean;
}
