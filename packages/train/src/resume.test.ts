import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { listCheckpoints, readCheckpoint } from "./checkpoint.js";
import { type ResumeRunSettings, resumeRun } from "./test-support/resume-run.js";
import { temporaryDirectory } from "./test-support/tiny.js";

const packageRoot = fileURLToPath(new URL("..", import.meta.url));
// `node --import tsx` rather than the tsx binary, whose wrapper process would answer SIGTERM itself.
const tsxLoader = new URL("../node_modules/tsx/dist/loader.mjs", import.meta.url).href;
const childScript = fileURLToPath(new URL("./test-support/resume-run.ts", import.meta.url));

/** Starts the child run; resolves when `until` matches a stdout line (the child is left running). */
function startChild(settings: ResumeRunSettings, until: RegExp): { child: ChildProcess; reached: Promise<string> } {
  const child = spawn(process.execPath, ["--import", tsxLoader, childScript, JSON.stringify(settings)], {
    cwd: packageRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const reached = new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split("\n").find((entry) => until.test(entry));
      if (line !== undefined) resolve(line);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("exit", (code, signal) =>
      reject(new Error(`child exited (${code ?? signal}) early:\n${stdout}\n${stderr}`)),
    );
  });
  return { child, reached };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.on("exit", (code, signal) => resolve({ code, signal }));
  });
}

async function stateOf(directory: string) {
  const { files } = await readCheckpoint(directory);
  return {
    model: Buffer.from(files.get("model.safetensors") as Uint8Array).toString("base64"),
    optimizer: Buffer.from(files.get("optimizer.safetensors") as Uint8Array).toString("base64"),
  };
}

const cases = [
  { stage: "pretrain", packed: false },
  { stage: "pretrain", packed: true },
  { stage: "sft", packed: false },
  { stage: "sft", packed: true },
] as const;

describe("exact resume", () => {
  it.each(cases)(
    "$stage (packed: $packed): 20 steps straight = 13 (checkpoint at 10), SIGKILL, resume from 10 to 20 — bit for bit",
    async ({ stage, packed }) => {
      const straightDirectory = temporaryDirectory();
      const straight = await resumeRun({ stage, packed, maxSteps: 20, outputDirectory: straightDirectory });
      expect(straight.result.step).toBe(20);

      const directory = temporaryDirectory();
      const { child, reached } = startChild(
        { stage, packed, maxSteps: 20, outputDirectory: directory, checkpointEvery: 10, hangAfter: 13 },
        /^STEP 13$/,
      );
      await reached;
      child.kill("SIGKILL");
      expect((await exited(child)).signal).toBe("SIGKILL");
      expect(await listCheckpoints(directory)).toEqual([10]);

      const resumed = await resumeRun({ stage, packed, maxSteps: 20, outputDirectory: directory, resume: "latest" });
      expect(resumed.result.step).toBe(20);
      const expected = await stateOf(join(straightDirectory, "checkpoint-20"));
      const actual = await stateOf(join(directory, "checkpoint-20"));
      expect(actual.model === expected.model).toBe(true);
      expect(actual.optimizer === expected.optimizer).toBe(true);
      // The straight run really moved away from step 10's weights (the comparison is not vacuous).
      expect((await stateOf(join(directory, "checkpoint-10"))).model === expected.model).toBe(false);
      // metrics.jsonl lists each step once, in order, although the killed run had logged steps 11–13.
      const logged = readFileSync(join(directory, "metrics.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((line) => (JSON.parse(line) as { step: number }).step);
      expect(logged).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    },
  );

  it("SIGTERM mid-run writes a checkpoint at the current step and exits; resuming from it matches", async () => {
    const directory = temporaryDirectory();
    const { child, reached } = startChild(
      { stage: "pretrain", packed: false, maxSteps: 20, outputDirectory: directory, slowSteps: 150 },
      /^STEP 4$/,
    );
    await reached;
    child.kill("SIGTERM");
    const { code } = await exited(child);
    expect(code).toBe(130);
    const steps = await listCheckpoints(directory);
    expect(steps.length).toBe(1);
    const stoppedAt = steps[0] as number;
    expect(stoppedAt).toBeGreaterThanOrEqual(4);
    expect(stoppedAt).toBeLessThan(20);
    const { state } = await readCheckpoint(join(directory, `checkpoint-${stoppedAt}`));
    expect(state.global_step).toBe(stoppedAt);

    const straightDirectory = temporaryDirectory();
    await resumeRun({ stage: "pretrain", packed: false, maxSteps: 20, outputDirectory: straightDirectory });
    await resumeRun({ stage: "pretrain", packed: false, maxSteps: 20, outputDirectory: directory, resume: "latest" });
    expect((await stateOf(join(directory, "checkpoint-20"))).model).toBe(
      (await stateOf(join(straightDirectory, "checkpoint-20"))).model,
    );
    expect(readFileSync(join(directory, "metrics.jsonl"), "utf8").trim().split("\n").length).toBe(20);
  });
});
