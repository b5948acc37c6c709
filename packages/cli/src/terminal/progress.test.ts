import { describe, expect, it } from "vitest";
import { formatDuration, formatProgressLine, ProgressBar } from "./progress.js";

describe("formatDuration", () => {
  it("writes seconds, minutes and hours", () => {
    expect(formatDuration(42_000)).toBe("42s");
    expect(formatDuration(185_000)).toBe("3m05s");
    expect(formatDuration(3_720_000)).toBe("1h02m");
    expect(formatDuration(Number.NaN)).toBe("?");
  });
});

describe("formatProgressLine", () => {
  const state = { label: "pretrain", completed: 250, total: 1000, unit: "steps", tokens: 50_000, elapsedMs: 10_000 };

  it("shows percent, count, tokens/s and an ETA from the rate so far", () => {
    const line = formatProgressLine(state, 120);
    expect(line).toContain(" 25%");
    expect(line).toContain("250/1000 steps");
    expect(line).toContain("5,000 tok/s");
    expect(line).toContain("ETA 30s"); // 10 s for 250 steps → 30 s for the remaining 750
    expect(line).toMatch(/\[█+░+\]/);
  });

  it("adds the latest metric and its sparkline, and fits the width", () => {
    const line = formatProgressLine({ ...state, metricName: "loss", metricHistory: [4, 3, 2.5, 2, 1.75] }, 120);
    expect(line).toContain("loss 1.750 █▅▃▂▁");
    for (const columns of [40, 60, 80]) {
      expect(
        formatProgressLine({ ...state, metricName: "loss", metricHistory: [4, 3, 2] }, columns).length,
      ).toBeLessThan(columns);
    }
  });

  it("says how long it took once complete", () => {
    expect(formatProgressLine({ ...state, completed: 1000 }, 100)).toContain("in 10s");
  });
});

describe("ProgressBar", () => {
  it("redraws in place on a TTY and ends the line on finish", () => {
    let time = 0;
    const written: string[] = [];
    const bar = new ProgressBar({
      label: "data",
      total: 4,
      write: (text) => written.push(text),
      isTTY: true,
      now: () => time,
    });
    time = 200;
    bar.update({ completed: 1 });
    time = 250; // within 100 ms of the last draw: skipped
    bar.update({ completed: 2 });
    time = 400;
    bar.finish();
    expect(written).toHaveLength(3);
    expect(written[0]?.startsWith("\rdata [")).toBe(true);
    expect(written[0]?.endsWith("]  25% · 1/4 steps · ETA 1s\u001b[K")).toBe(true);
    expect(written[1]).toContain("4 steps");
    expect(written[2]).toBe("\n");
  });

  it("prints whole lines at an interval when not a TTY", () => {
    let time = 0;
    const written: string[] = [];
    const bar = new ProgressBar({
      label: "x",
      total: 10,
      write: (t) => written.push(t),
      isTTY: false,
      now: () => time,
    });
    for (let step = 1; step <= 10; step++) {
      time = step * 3000;
      bar.update({ completed: step });
    }
    bar.finish();
    // Drawn at 3 s (first), 15 s, 27 s (every ≥ 10 s), then the final line.
    expect(written).toHaveLength(4);
    expect(written.every((line) => line.endsWith("\n") && !line.includes("\r"))).toBe(true);
  });
});
