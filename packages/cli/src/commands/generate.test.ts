import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli as runMinimind, temporaryFolder } from "../testing/built-cli.js";
import { TINY_BATCHES, TINY_MODEL, writeTinyData } from "../testing/tiny-run.js";

const folder = temporaryFolder();
afterAll(() => folder.remove());
const data = writeTinyData(folder.path);
const run = join(folder.path, "pretrain");

beforeAll(() => {
  const result = runMinimind([
    "pretrain",
    data.pretrain,
    "--out",
    run,
    ...TINY_MODEL,
    ...TINY_BATCHES,
    "--max-steps",
    "1",
  ]);
  expect(result.status).toBe(0);
});

describe("minimind generate", () => {
  it("streams a continuation; --json reports the token counts; greedy is repeatable", () => {
    const flags = ["generate", "--model", run, "--raw", "--greedy", "--max-new-tokens", "6"];
    const json = runMinimind([...flags, "--json", "床前明月光，"]);
    expect(json.stderr).toBe("");
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout) as { text: string; promptTokens: number; generatedTokens: number };
    const tokens = runMinimind(["tokenize", "--text", "床前明月光，"]).stdout.trim().split(" ");
    expect(report.promptTokens).toBe(tokens.length);
    expect(report.generatedTokens).toBeGreaterThan(0);
    expect(report.generatedTokens).toBeLessThanOrEqual(6);
    const streamed = runMinimind([...flags, "床前明月光，"]);
    expect(streamed.status).toBe(0);
    expect(streamed.stdout).toBe(`${report.text}\n`);
  });

  it("samples with a seed: the same seed gives the same answer", () => {
    const flags = ["generate", "--model", run, "--seed", "7", "--max-new-tokens", "8", "--json", "静夜思"];
    const first = JSON.parse(runMinimind(flags).stdout) as { text: string; generatedTokens: number };
    const second = JSON.parse(runMinimind(flags).stdout) as { text: string };
    expect(second.text).toBe(first.text);
    expect(first.generatedTokens).toBeGreaterThan(0);
  });

  it("fails with one line when the model folder is missing", () => {
    const missing = runMinimind(["generate", "--model", join(folder.path, "nowhere"), "x"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`--model "${join(folder.path, "nowhere")}": no such file or directory`);
  });

  it("refuses bad sampling values and an empty prompt", () => {
    const temperature = runMinimind(["generate", "--model", run, "--temperature", "hot", "x"]);
    expect(temperature.status).toBe(2);
    expect(temperature.stderr).toContain("'--temperature <t>' argument 'hot' is invalid");
    const topP = runMinimind(["generate", "--model", run, "--top-p", "1.5", "x"]);
    expect(topP.status).toBe(2);
    expect(topP.stderr).toContain('"1.5" is above the maximum 1');
    const empty = runMinimind(["generate", "--model", run, "-"], { input: "  \n" });
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain("the prompt is empty");
  });
});
