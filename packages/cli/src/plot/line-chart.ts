/**
 * Line charts for loss curves (and any other metric over steps), for `pretrain`, `sft` and `demo` run folders:
 * a Vega specification rendered headless to SVG by the `vega` library, and the SVG rendered to PNG by
 * `@resvg/resvg-js` (a prebuilt native renderer installed from the npm registry; text uses the system fonts).
 * Both libraries are loaded only when a chart is drawn, so other commands start without them. Where the
 * native renderer cannot load, `writeLineChart` still writes the SVG and says why there is no PNG. Not here:
 * collecting the metrics.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface ChartPoint {
  x: number;
  y: number;
}

export interface ChartSeries {
  /** Legend entry, e.g. "train" or "held out". */
  name: string;
  points: readonly ChartPoint[];
}

export interface LineChartOptions {
  title?: string;
  /** Default "step". */
  xTitle?: string;
  /** Default "loss". */
  yTitle?: string;
  /** Plot area in pixels; default 640 × 320. */
  width?: number;
  height?: number;
  /** Logarithmic y axis (all values must then be positive). */
  logY?: boolean;
}

/** The Vega specification of the chart (non-finite points left out). Pure; exported for tests and tools. */
export function lineChartSpec(series: readonly ChartSeries[], options: LineChartOptions = {}): Record<string, unknown> {
  const values = series.flatMap((entry) =>
    entry.points
      .filter((point) => Number.isFinite(point.x) && Number.isFinite(point.y) && (!options.logY || point.y > 0))
      .map((point) => ({ series: entry.name, x: point.x, y: point.y })),
  );
  if (values.length === 0) throw new Error("a line chart needs at least one finite point");
  return {
    $schema: "https://vega.github.io/schema/vega/v6.json",
    width: options.width ?? 640,
    height: options.height ?? 320,
    padding: 8,
    background: "white",
    ...(options.title === undefined ? {} : { title: { text: options.title, fontSize: 14 } }),
    data: [{ name: "points", values }],
    scales: [
      { name: "x", type: "linear", range: "width", nice: true, zero: false, domain: { data: "points", field: "x" } },
      {
        name: "y",
        type: options.logY ? "log" : "linear",
        range: "height",
        nice: true,
        zero: false,
        domain: { data: "points", field: "y" },
      },
      { name: "color", type: "ordinal", range: "category", domain: series.map((entry) => entry.name) },
    ],
    axes: [
      { orient: "bottom", scale: "x", title: options.xTitle ?? "step", grid: true, tickCount: 8 },
      { orient: "left", scale: "y", title: options.yTitle ?? "loss", grid: true, tickCount: 6 },
    ],
    legends: series.length > 1 ? [{ stroke: "color", orient: "top-right", symbolType: "stroke" }] : [],
    marks: [
      {
        type: "group",
        from: { facet: { name: "bySeries", data: "points", groupby: "series" } },
        marks: [
          {
            type: "line",
            from: { data: "bySeries" },
            encode: {
              enter: {
                x: { scale: "x", field: "x" },
                y: { scale: "y", field: "y" },
                stroke: { scale: "color", field: "series" },
                strokeWidth: { value: 1.5 },
              },
            },
          },
        ],
      },
    ],
  };
}

/** The chart as an SVG document (Vega, headless: no browser, no canvas). */
export async function renderLineChartSvg(series: readonly ChartSeries[], options: LineChartOptions = {}) {
  const vega = await import("vega");
  const view = new vega.View(vega.parse(lineChartSpec(series, options) as never), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders an SVG document to PNG bytes with resvg (system fonts for text), at `scale` times its size. */
export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  const { Resvg } = await import("@resvg/resvg-js");
  const renderer = new Resvg(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  });
  return renderer.render().asPng();
}

export interface WrittenChart {
  svg: string;
  /** Undefined when the PNG renderer could not load; `pngError` says why. */
  png?: string;
  pngError?: string;
}

/**
 * Writes `<basePath>.svg` and `<basePath>.png` (creating the folder); a PNG failure leaves the SVG and is
 * reported, not thrown.
 */
export async function writeLineChart(
  basePath: string,
  series: readonly ChartSeries[],
  options: LineChartOptions = {},
): Promise<WrittenChart> {
  const svg = await renderLineChartSvg(series, options);
  mkdirSync(dirname(basePath), { recursive: true });
  const svgPath = `${basePath}.svg`;
  writeFileSync(svgPath, svg);
  const pngPath = `${basePath}.png`;
  try {
    writeFileSync(pngPath, await svgToPng(svg));
    return { svg: svgPath, png: pngPath };
  } catch (error) {
    return { svg: svgPath, pngError: error instanceof Error ? error.message : String(error) };
  }
}
