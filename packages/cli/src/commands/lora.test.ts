import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli as runMinimind, temporaryFolder } from "../testing/built-cli.js";
import { TINY_BATCHES, TINY_MODEL, writeTinyData } from "../testing/tiny-run.js";

const folder = temporaryFolder();
afterAll(() => folder.remove());
const data = writeTinyData(folder.path);
const pretrained = join(folder.path, "pretrain");

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

describe("minimind lora", () => {
  it("trains adapters, checkpoints only them, and writes the merged model", () => {
    const out = join(folder.path, "lora");
    const result = runMinimind([
      "lora",
      data.sft,
      "--from",
      pretrained,
      "--out",
      out,
      "--rank",
      "4",
      ...TINY_BATCHES,
      "--max-steps",
      "2",
    ]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^lora: 2\/2 steps/);
    const checkpoint = join(out, "checkpoint-2");
    expect(readdirSync(checkpoint).sort()).toContain("adapter_model.safetensors");
    expect(existsSync(join(checkpoint, "model.safetensors"))).toBe(false);
    expect(existsSync(join(out, "model", "model.safetensors"))).toBe(true);
  });

  it("refuses a bad rank and a missing data file", () => {
    const out = join(folder.path, "bad");
    const badRank = runMinimind(["lora", data.sft, "--from", pretrained, "--out", out, "--rank", "0"]);
    expect(badRank.status).toBe(2);
    expect(badRank.stderr).toContain('"0" is below the minimum 1');
    const missing = runMinimind(["lora", join(folder.path, "none.jsonl"), "--from", pretrained, "--out", out]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("cannot read data file");
  });
});
