/**
 * A terminal sparkline (`▇▆▅▄▃▂▂▁`) for the recent values of a metric, e.g. the loss in a progress line.
 * Scaled between the minimum and maximum shown; non-finite values are drawn as a space. Not a chart: the
 * SVG/PNG plots are in plot/line-chart.ts.
 */

const LEVELS = "▁▂▃▄▅▆▇█";

/** The last `width` values as block characters (fewer if there are fewer values). */
export function sparkline(values: readonly number[], width: number): string {
  if (width <= 0) return "";
  const shown = values.slice(-width);
  const finite = shown.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return " ".repeat(shown.length);
  const low = Math.min(...finite);
  const high = Math.max(...finite);
  const top = LEVELS.length - 1;
  return shown
    .map((value) => {
      if (!Number.isFinite(value)) return " ";
      const level = high === low ? Math.floor(top / 2) : Math.round(((value - low) / (high - low)) * top);
      return LEVELS[level];
    })
    .join("");
}
