import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { builtBin, runCli, temporaryFolder } from "../testing/built-cli.js";

const folder = temporaryFolder();
afterAll(() => folder.remove());

describe("minimind demo", () => {
  it("builds data, pretrains, fine-tunes, answers held-out questions and ends with the run folder", () => {
    const out = join(folder.path, "demo");
    // runCli stops a command after two minutes; the demo gets ten here, on a loaded machine.
    const result = spawnSync(
      process.execPath,
      [builtBin, "demo", "--minutes", "0.5", "--questions", "2", "--out", out],
      {
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
        timeout: 600_000,
      },
    );
    expect(result.stderr).not.toContain("Error");
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`minimind demo: 0.5 minutes, run folder ${out}`);
    expect(lines[1]).toMatch(/^data: \d+ poems for training, \d+ held out; \d+ questions to learn from, \d+ held out$/);
    expect(result.stdout).toMatch(/\npretrain: \d+\/\d+ steps in .*\n {2}held out: loss \d/);
    expect(result.stdout).toMatch(/\nsft: \d+\/\d+ steps in .*\n {2}held out: loss \d/);
    // Two held-out questions, each printed beside its expected answer.
    expect(result.stdout.match(/\n[✓✗] .+\n {4}expected .+\n {4}answered .*/g)).toHaveLength(2);
    expect(lines.at(-1)).toBe(`run folder: ${out}`);
    for (const file of ["pretrain/loss.svg", "sft/loss.svg", "sft/model/model.safetensors", "data/sft-heldout.jsonl"]) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    const answers = JSON.parse(readFileSync(join(out, "answers.json"), "utf8")) as { expected: string }[];
    expect(answers).toHaveLength(2);
    // The held-out questions come from works that were not trained on: none is in sft.jsonl.
    const trained = readFileSync(join(out, "data", "sft.jsonl"), "utf8");
    for (const answer of answers) expect(typeof answer.expected).toBe("string");
    const heldOut = readFileSync(join(out, "data", "sft-heldout.jsonl"), "utf8").split("\n")[0] as string;
    expect(trained.includes(JSON.parse(heldOut).conversations[0].content)).toBe(false);
  }, 600_000);

  it("refuses a bad budget, a bad question count and an unusable run folder", () => {
    const minutes = runCli(["demo", "--minutes", "0.1"]);
    expect(minutes.status).toBe(2);
    expect(minutes.stderr).toContain('"0.1" is below the minimum 0.5');
    const questions = runCli(["demo", "--questions", "many"]);
    expect(questions.status).toBe(2);
    expect(questions.stderr).toContain("'--questions <n>' argument 'many' is invalid");
    const file = join(folder.path, "a-file");
    writeFileSync(file, "");
    const out = runCli(["demo", "--out", file]);
    expect(out.status).toBe(1);
    expect(out.stderr).toContain(`cannot create the run folder "${file}"`);
  });
});
