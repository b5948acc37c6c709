import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { temporaryFolder } from "../testing/built-cli.js";
import { lineChartSpec, renderLineChartSvg, svgToPng, writeLineChart } from "./line-chart.js";

const folder = temporaryFolder();
afterAll(() => folder.remove());

const train = {
  name: "train",
  points: Array.from({ length: 50 }, (_, step) => ({ x: step, y: 8 * Math.exp(-step / 15) + 1 })),
};
const heldOut = {
  name: "held out",
  points: [0, 10, 20, 30, 40].map((step) => ({ x: step, y: 8 * Math.exp(-step / 18) + 1.3 })),
};

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

describe("lineChartSpec", () => {
  it("leaves out non-finite points and refuses a chart with none", () => {
    const spec = lineChartSpec([
      {
        name: "a",
        points: [
          { x: 0, y: 1 },
          { x: 1, y: Number.NaN },
          { x: 2, y: Infinity },
        ],
      },
    ]);
    expect((spec.data as { values: unknown[] }[])[0]?.values).toEqual([{ series: "a", x: 0, y: 1 }]);
    expect(() => lineChartSpec([{ name: "a", points: [{ x: 0, y: Number.NaN }] }])).toThrow(
      /at least one finite point/,
    );
  });
});

describe("renderLineChartSvg", () => {
  it("draws one line per series, the axis titles and a legend", async () => {
    const svg = await renderLineChartSvg([train, heldOut], { title: "pretrain loss", yTitle: "loss" });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("pretrain loss");
    expect(svg).toContain(">step<");
    expect(svg).toContain(">held out<");
    // Two line marks: Vega writes each as one path with the "mark-line" role inside a group.
    expect(svg.match(/class="mark-line role-mark"/g)?.length).toBe(2);
  });
});

describe("svgToPng and writeLineChart", () => {
  it("renders a PNG at twice the SVG size and writes both files", async () => {
    const svg = await renderLineChartSvg([train], { width: 300, height: 150 });
    const png = await svgToPng(svg);
    expect([...png.slice(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const declared = /width="(\d+)" height="(\d+)"/.exec(svg);
    expect(pngSize(png)).toEqual({ width: Number(declared?.[1]) * 2, height: Number(declared?.[2]) * 2 });

    const written = await writeLineChart(join(folder.path, "run", "loss"), [train, heldOut]);
    expect(written.pngError).toBeUndefined();
    expect(readFileSync(written.svg, "utf8")).toContain("</svg>");
    expect(pngSize(readFileSync(written.png as string)).width).toBeGreaterThan(600);
  });
});
