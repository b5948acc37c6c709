import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli as runMinimind, temporaryFolder } from "../testing/built-cli.js";
import { TINY_BATCHES, TINY_MODEL, writeTinyData } from "../testing/tiny-run.js";

const folder = temporaryFolder();
afterAll(() => folder.remove());
const data = writeTinyData(folder.path);
const pretrained = join(folder.path, "pretrain");
const slidingWindow = fileURLToPath(new URL("../__fixtures__/sliding-window-strategy.mjs", import.meta.url));

beforeAll(() => {
  const result = runMinimind([
    "pretrain",
    data.pretrain,
    "--out",
    pretrained,
    ...TINY_MODEL,
    ...TINY_BATCHES,
    "--max-steps",
    "1",
  ]);
  expect(result.status).toBe(0);
});

/** The first step's loss of an SFT run under `mask`. */
function firstLoss(mask: string): number {
  const out = join(folder.path, `sft-${mask.replace(/\W/g, "")}`);
  const result = runMinimind([
    "sft",
    data.sft,
    "--from",
    pretrained,
    "--out",
    out,
    "--mask",
    mask,
    ...TINY_BATCHES,
    "--max-steps",
    "1",
    "--json",
  ]);
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  const step = result.stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { event: string; loss?: number })
    .find((event) => event.event === "step");
  return step?.loss as number;
}

describe("minimind sft", () => {
  it("fine-tunes a pretrained run folder, evaluates the held-out file and saves the model", () => {
    const out = join(folder.path, "sft");
    const result = runMinimind([
      "sft",
      data.sft,
      "--from",
      pretrained,
      "--out",
      out,
      "--eval",
      data.sft,
      ...TINY_BATCHES,
      "--max-steps",
      "2",
    ]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(
      /^sft: 2\/2 steps in .*, last loss \d+\.\d{4}\n {2}held out: loss \d+\.\d{4}, perplexity/,
    );
    expect(result.stderr).toMatch(/^sft: 0\.\d\dM parameters \(hidden 32, 2 layers\), 4 rows/);
    expect(existsSync(join(out, "model", "model.safetensors"))).toBe(true);
    expect(existsSync(join(out, "loss.svg"))).toBe(true);
  });

  it("trains under the mask asked for: prefix, segments and a module change the loss, causal is the default", () => {
    const causal = firstLoss("causal");
    expect(Number.isFinite(causal)).toBe(true);
    // A bidirectional prompt changes the answer tokens' inputs, so the same weights give another loss.
    expect(firstLoss("prefix")).not.toBeCloseTo(causal, 6);
    expect(firstLoss("segments")).not.toBeCloseTo(causal, 6);
    expect(firstLoss(slidingWindow)).not.toBeCloseTo(causal, 6);
  });

  it("refuses a bad --mask, a missing --from, a missing model folder and a malformed line", () => {
    const out = join(folder.path, "bad");
    const badMask = runMinimind(["sft", data.sft, "--from", pretrained, "--out", out, "--mask", "diagonal"]);
    expect(badMask.status).toBe(2);
    expect(badMask.stderr).toContain('--mask "diagonal" is neither one of causal, prefix, segments, bidirectional');
    const noFrom = runMinimind(["sft", data.sft, "--out", out]);
    expect(noFrom.status).toBe(2);
    expect(noFrom.stderr).toContain("--from <dir> is required");
    const noModel = runMinimind(["sft", data.sft, "--out", out, "--from", join(folder.path, "nowhere")]);
    expect(noModel.status).toBe(1);
    expect(noModel.stderr).toContain(`--from "${join(folder.path, "nowhere")}": no such file or directory`);
    const broken = join(folder.path, "broken.jsonl");
    writeFileSync(broken, '{"conversations": [{"role": "user", "content": "你好"}]}\n{"conversations": []}\n');
    const malformed = runMinimind(["sft", broken, "--from", pretrained, "--out", out]);
    expect(malformed.status).toBe(1);
    expect(malformed.stderr).toContain(`${broken}:2`);
    expect(malformed.stderr).toContain('"conversations" must be a non-empty array');
  });
});
