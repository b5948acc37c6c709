import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { builtBin, runCli as runMinimind, temporaryFolder } from "../testing/built-cli.js";
import { TINY_BATCHES, TINY_MODEL, writeTinyData } from "../testing/tiny-run.js";

const folder = temporaryFolder();
afterAll(() => folder.remove());
const data = writeTinyData(folder.path);
const runCli = (args: string[]) => runMinimind(["pretrain", ...args]);

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("minimind pretrain", () => {
  it("trains, writes checkpoints, metrics, the model and the loss curve, and resumes", () => {
    const out = join(folder.path, "run");
    const flags = [data.pretrain, "--out", out, ...TINY_MODEL, ...TINY_BATCHES, "--no-pack", "--epochs", "3"];
    const first = runCli([...flags, "--max-steps", "2", "--eval", data.pretrain, "--json"]);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    const events = jsonLines(first.stdout);
    expect(events.filter((event) => event.event === "step").map((event) => event.step)).toEqual([1, 2]);
    const summary = events.at(-1) as Record<string, unknown>;
    expect(summary.event).toBe("summary");
    expect(summary.steps).toBe(2);
    // A fresh model predicts about uniformly over 6,400 tokens: loss near ln 6400 ≈ 8.76.
    expect(summary.lastLoss as number).toBeGreaterThan(7);
    expect(summary.lastLoss as number).toBeLessThan(9.5);
    expect((summary.evaluation as { perplexity: number }).perplexity).toBeGreaterThan(100);
    expect(readFileSync(join(out, "loss.svg"), "utf8")).toContain("pretrain loss");
    expect(existsSync(join(out, "model", "model.safetensors"))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "model", "config.json"), "utf8")).hidden_size).toBe(32);
    expect(readdirSync(out)).toContain("checkpoint-2");

    const resumed = runCli([...flags, "--max-steps", "3", "--resume"]);
    expect(resumed.status).toBe(0);
    expect(resumed.stderr).toContain(`resumed from ${join(out, "checkpoint-2")} at step 2`);
    expect(resumed.stdout).toMatch(/^pretrain: 3\/3 steps in /);
    expect(readdirSync(out)).toContain("checkpoint-3");
  });

  it("turns --minutes into a measured step count, kept in budget.json for --resume; refuses to overwrite a run", () => {
    const out = join(folder.path, "budgeted");
    // enough epochs that the data never ends the run before the measured budget does, however fast the machine
    const flags = [data.pretrain, "--out", out, ...TINY_MODEL, ...TINY_BATCHES, "--epochs", "5000", "--minutes", "0.1"];
    const first = runCli(flags);
    expect(first.status).toBe(0);
    const budget = JSON.parse(readFileSync(join(out, "budget.json"), "utf8")) as { steps: number; stepSeconds: number };
    expect(first.stderr).toContain(
      `pretrain: ${budget.steps} steps fit in 0.1 minutes (${budget.stepSeconds.toFixed(2)} s a step, measured)`,
    );
    expect(first.stdout).toMatch(new RegExp(`^pretrain: ${budget.steps}/${budget.steps} steps`));
    const again = runCli(flags);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`${out} already holds a run (metrics.jsonl); add --resume to continue it`);
    const resumed = runCli([...flags, "--resume"]);
    expect(resumed.status).toBe(0);
    expect(resumed.stderr).toContain(`pretrain: ${budget.steps} steps, as budgeted when this run started`);
  });

  it("takes settings from a --config file, flags winning", () => {
    const out = join(folder.path, "configured");
    const config = join(folder.path, "tiny.json");
    writeFileSync(config, JSON.stringify({ "hidden-size": 48, layers: 1, heads: 2, "kv-heads": 1, "max-steps": 5 }));
    const result = runCli([data.pretrain, "--out", out, "--config", config, "--max-steps", "1", ...TINY_BATCHES]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^pretrain: 1\/1 steps/);
    expect(JSON.parse(readFileSync(join(out, "model", "config.json"), "utf8")).hidden_size).toBe(48);
  });

  it("refuses a bad flag value, a bad config setting and a missing file", () => {
    const bad = runCli([data.pretrain, "--out", join(folder.path, "x"), "--learning-rate", "fast"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("'--learning-rate <lr>' argument 'fast' is invalid");
    const config = join(folder.path, "bad.json");
    writeFileSync(config, JSON.stringify({ "hiden-size": 48 }));
    const badConfig = runCli([data.pretrain, "--out", join(folder.path, "x"), "--config", config]);
    expect(badConfig.status).toBe(2);
    expect(badConfig.stderr).toContain(`${config}: unknown setting "hiden-size"`);
    const missing = runCli([join(folder.path, "nope.jsonl"), "--out", join(folder.path, "x")]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`cannot read data file "${join(folder.path, "nope.jsonl")}": no such file`);
    const noOut = runCli([data.pretrain]);
    expect(noOut.status).toBe(2);
    expect(noOut.stderr).toContain("--out <dir> is required");
  });

  it("names the file and line of a malformed JSONL line", () => {
    const broken = join(folder.path, "broken.jsonl");
    writeFileSync(broken, '{"text": "床前明月光"}\n{"text": 3}\n');
    const result = runCli([broken, "--out", join(folder.path, "broken"), ...TINY_MODEL]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${broken}:2`);
    expect(result.stderr).toContain('field "text" is number');
  });

  it("checkpoints on Ctrl-C and exits 130", async () => {
    const out = join(folder.path, "interrupted");
    const child = spawn(
      process.execPath,
      [builtBin, "pretrain", data.pretrain, "--out", out, ...TINY_MODEL, ...TINY_BATCHES, "--epochs", "500", "--json"],
      { env: { ...process.env, NO_COLOR: "1" } },
    );
    let stdout = "";
    let stderr = "";
    let signalled = false;
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (!signalled && stdout.includes('"event":"step"')) {
          signalled = true;
          child.kill("SIGINT");
        }
      });
      child.on("close", resolve);
    });
    expect(code).toBe(130);
    expect(stderr).toContain("run the same command with --resume to continue");
    const checkpoint = jsonLines(stdout).find((event) => event.event === "checkpoint");
    expect(checkpoint?.reason).toBe("aborted");
    expect(existsSync(join(checkpoint?.directory as string, "model.safetensors"))).toBe(true);
    expect(existsSync(join(out, "loss.svg"))).toBe(true);
  });
});
