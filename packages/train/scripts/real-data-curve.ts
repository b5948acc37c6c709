/**
 * Turns the metrics.jsonl files of a real-data run (scripts/real-data-run.ts) into the README's curve: an SVG
 * of training loss (a moving average of 20 steps) and held-out loss per step, pretraining then SFT, and a text
 * table. Usage: tsx scripts/real-data-curve.ts <run folder> <output .svg>. Not part of the package build.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

interface Line {
  step: number;
  loss?: number;
  eval_loss?: number;
}

const [folder = "real-data-run", output = "real-data-run.svg"] = process.argv.slice(2);
const read = (stage: string): Line[] =>
  readFileSync(join(folder, stage, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Line);

function smooth(points: [number, number][], window: number): [number, number][] {
  return points.map(([x], index) => {
    const part = points.slice(Math.max(0, index - window + 1), index + 1);
    return [x, part.reduce((sum, [, y]) => sum + y, 0) / part.length];
  });
}

const stages = ["pretrain", "sft"].map((stage) => {
  const lines = read(stage);
  const train = smooth(
    lines.filter((line) => line.loss !== undefined).map((line) => [line.step, line.loss as number]),
    20,
  );
  const held = lines
    .filter((line) => line.eval_loss !== undefined)
    .map((line) => [line.step, line.eval_loss as number]);
  return { stage, train, held: held as [number, number][] };
});

const width = 640;
const height = 300;
const margin = 40;
const panel = (width - 3 * margin) / 2;
const yMax = 9;
const parts: string[] = [];
stages.forEach(({ stage, train, held }, index) => {
  const left = margin + index * (panel + margin);
  const xMax = Math.max(...train.map(([x]) => x), ...held.map(([x]) => x), 1);
  const x = (value: number) => left + (value / xMax) * panel;
  const y = (value: number) => margin + (1 - value / yMax) * (height - 2 * margin);
  const path = (points: [number, number][]) =>
    points.map(([px, py], at) => `${at === 0 ? "M" : "L"}${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(" ");
  parts.push(
    `<rect x="${left}" y="${margin}" width="${panel}" height="${height - 2 * margin}" fill="none" stroke="#999"/>`,
    `<text x="${left}" y="${margin - 8}" font-size="12">${stage}: loss (nats) by optimizer step, 0–${xMax}</text>`,
    ...[0, 3, 6, 9].map(
      (tick) => `<text x="${left - 4}" y="${y(tick) + 4}" font-size="10" text-anchor="end">${tick}</text>`,
    ),
    `<line x1="${left}" x2="${left + panel}" y1="${y(Math.log(6400))}" y2="${y(Math.log(6400))}" stroke="#ccc" stroke-dasharray="4"/>`,
    `<path d="${path(train)}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`,
    `<path d="${path(held)}" fill="none" stroke="#d62728" stroke-width="1.5"/>`,
    ...held.map(([px, py]) => `<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="2.5" fill="#d62728"/>`),
  );
});
parts.push(
  `<text x="${margin}" y="${height - 10}" font-size="11" fill="#1f77b4">training loss (mean of 20 steps)</text>`,
  `<text x="${margin + 220}" y="${height - 10}" font-size="11" fill="#d62728">held-out loss</text>`,
  `<text x="${margin + 340}" y="${height - 10}" font-size="11" fill="#999">dashed: ln 6400</text>`,
);
writeFileSync(
  output,
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">\n${parts.join("\n")}\n</svg>\n`,
);
for (const { stage, held } of stages) {
  process.stdout.write(`${stage}: ${held.map(([step, loss]) => `${step}: ${loss.toFixed(3)}`).join(", ")}\n`);
}
