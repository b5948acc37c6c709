/**
 * The README's example (examples/pretrain.ts) runs to the end and does what its comments say: it pretrains, writes
 * checkpoints (keeping the last two) and, run again, resumes exactly where the last run stopped. The README's code
 * block equals the file (scripts/check-readme-examples.mjs) and `typecheck` compiles it as a strict user project
 * would (examples/tsconfig.json). It imports the packages by name: the built packages, as a user gets them. It
 * runs in a fresh temporary working folder, where it writes its data and its run folder.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it, vi } from "vitest";

let folder = "";
let previous = "";
beforeEach(() => {
  previous = process.cwd();
  folder = mkdtempSync(join(tmpdir(), "train-readme-"));
  process.chdir(folder);
});
afterEach(() => {
  process.chdir(previous);
  rmSync(folder, { recursive: true, force: true });
});

/** Runs the example (a fresh module instance each time) and returns what it passed to console.log. */
async function runExample(): Promise<unknown[][]> {
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  const printed = log.mock.calls;
  try {
    vi.resetModules();
    await import("../examples/pretrain.js");
  } finally {
    log.mockRestore();
  }
  return printed;
}

it("pretrain.ts: the loss falls, the last two checkpoints stay, and a rerun resumes exactly", async () => {
  const first = await runExample();
  const steps = first.slice(0, -1) as [number, string, string][];
  expect(steps.map(([step]) => step)).toEqual(steps.map((_, index) => index + 1));
  expect(steps.length).toBeGreaterThanOrEqual(3);
  const losses = steps.map(([, loss]) => Number(loss));
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses.at(-1)).toBeLessThan(losses[0] as number); // 40 copies of one poem: easy to learn
  const last = steps.length;
  expect(first.at(-1)).toEqual(["completed", last, `out/pretrain/checkpoint-${last}`]);
  // checkpointEvery 2 and the end, keepLast 2: the last even step before the end, and the end.
  const before = last % 2 === 0 ? last - 2 : last - 1;
  expect(new Set(readdirSync("out/pretrain"))).toEqual(
    new Set([`checkpoint-${before}`, `checkpoint-${last}`, "metrics.jsonl"]),
  );

  // As if the run had been killed before its last checkpoint: resume: "latest" continues from the one before and
  // computes the same steps again, to the printed digit (step and loss; tokens/s is the machine's).
  const lossAt = (step: number) =>
    readFileSync("out/pretrain/metrics.jsonl", "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { step: number; loss: number })
      .filter((record) => record.step === step)
      .map((record) => record.loss);
  const lastLoss = lossAt(last);
  expect(lastLoss).toHaveLength(1);
  rmSync(`out/pretrain/checkpoint-${last}`, { recursive: true });
  const resumed = await runExample();
  expect(lossAt(last)).toEqual(lastLoss); // the full float, bit for bit
  expect(resumed.slice(0, -1).map((call) => call.slice(0, 2))).toEqual(
    steps.slice(before).map((call) => call.slice(0, 2)),
  );
  expect(resumed.at(-1)).toEqual(first.at(-1));

  // A finished run, run again: nothing left to do.
  expect(await runExample()).toEqual([first.at(-1)]);
});
