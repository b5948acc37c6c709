/**
 * SVG charts for `minimind experiment masks`: one point per arm (the mean over seeds) with its 95 %
 * t-interval as whiskers, one group per task. Written by hand (plain SVG text, no dependency); the CLI's
 * line-chart module draws curves over steps, which is not this picture. Not here: the numbers
 * (@minimind/train's `summarizeMaskExperiment`).
 */
import type { MaskExperimentSummaryRow } from "@minimind/train";

const COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f"];

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A grouped point-and-whisker chart of `metric` (one group per task, one bar per arm) with 95 % interval whiskers. */
export function barChartSvg(
  rows: readonly MaskExperimentSummaryRow[],
  metric: "exactMatch" | "answerLoss",
  title: string,
): string {
  const tasks = [...new Set(rows.map((row) => row.task))];
  const arms = [...new Set(rows.map((row) => row.arm))];
  const width = 140 + tasks.length * (arms.length * 28 + 40);
  const height = 320;
  const top = 40;
  const bottom = 250;
  const left = 60;
  const bounds = rows.flatMap((row) => {
    const { mean, halfWidth } = row[metric];
    if (!Number.isFinite(mean)) return [];
    const half = Number.isFinite(halfWidth) ? halfWidth : 0;
    return [mean - half, mean + half];
  });
  // Exact match from 0; losses around their values (points, not bars, so a cut axis misleads nobody).
  let low = metric === "exactMatch" ? 0 : Math.min(...bounds);
  let high = Math.max(...bounds, metric === "exactMatch" ? 0.05 : Number.NEGATIVE_INFINITY);
  if (!Number.isFinite(low) || !Number.isFinite(high)) [low, high] = [0, 1];
  const margin = (high - low) * 0.08 || 0.05;
  if (metric !== "exactMatch") low -= margin;
  high += margin;
  const y = (value: number) => bottom - ((value - low) / (high - low)) * (bottom - top);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14">${escapeXml(title)}</text>`,
    `<line x1="${left}" y1="${bottom}" x2="${width - 20}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#333"/>`,
  ];
  for (let tick = 0; tick <= 4; tick++) {
    const value = low + ((high - low) * tick) / 4;
    parts.push(
      `<text x="${left - 6}" y="${y(value) + 4}" text-anchor="end">${value.toFixed(3)}</text>`,
      `<line x1="${left}" y1="${y(value)}" x2="${width - 20}" y2="${y(value)}" stroke="#ddd"/>`,
    );
  }
  tasks.forEach((task, taskIndex) => {
    const groupLeft = left + 20 + taskIndex * (arms.length * 28 + 40);
    parts.push(
      `<text x="${groupLeft + (arms.length * 28) / 2}" y="${bottom + 64}" text-anchor="middle" font-size="13">${escapeXml(task)}</text>`,
    );
    arms.forEach((arm, armIndex) => {
      const row = rows.find((candidate) => candidate.task === task && candidate.arm === arm);
      if (row === undefined || !Number.isFinite(row[metric].mean)) return;
      const { mean, halfWidth } = row[metric];
      const x = groupLeft + armIndex * 28;
      const color = COLORS[armIndex % COLORS.length] as string;
      parts.push(
        `<circle cx="${x + 11}" cy="${y(mean)}" r="5" fill="${color}"><title>${escapeXml(`${arm} ${task}: ${mean.toFixed(4)} ± ${Number.isFinite(halfWidth) ? halfWidth.toFixed(4) : "n/a"}`)}</title></circle>`,
      );
      if (Number.isFinite(halfWidth)) {
        const center = x + 11;
        parts.push(
          `<line x1="${center}" y1="${y(mean - halfWidth)}" x2="${center}" y2="${y(mean + halfWidth)}" stroke="#000"/>`,
          `<line x1="${center - 5}" y1="${y(mean + halfWidth)}" x2="${center + 5}" y2="${y(mean + halfWidth)}" stroke="#000"/>`,
          `<line x1="${center - 5}" y1="${y(mean - halfWidth)}" x2="${center + 5}" y2="${y(mean - halfWidth)}" stroke="#000"/>`,
        );
      }
      parts.push(
        `<text x="${x + 11}" y="${bottom + 14}" text-anchor="end" transform="rotate(-35 ${x + 11} ${bottom + 14})" font-size="10">${escapeXml(arm)}</text>`,
      );
    });
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
