/**
 * `minimind experiment masks`: its data keeps every held-out example out of training (checked against the full
 * training side and the works themselves, not only the sample the command uses), and the command, run again
 * from the command line it printed, reproduces its own table. Runs in-process on a tiny configuration.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildDatasets } from "../data/build.js";
import { clauses } from "../data/questions.js";
import { isHeldOut, workIdentity } from "../data/split.js";
import { loadShippedCorpus } from "../data/works.js";
import { runProgram } from "../program.js";
import { captureIo } from "../testing/capture-io.js";
import { buildExperimentData } from "./experiment-data.js";
import { experimentCommand } from "./experiment-masks.js";

const folder = mkdtempSync(join(tmpdir(), "minimind-experiment-"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe("experiment data", () => {
  const works = loadShippedCorpus(["tang"]);
  const settings = { works, maxWorks: 400, heldOutShare: 0.1, seed: "minimind" };
  const data = buildExperimentData({
    ...settings,
    trainQuestions: 200,
    heldOutQuestions: 40,
    controlTrain: 60,
    controlHeldOut: 20,
    chats: 2,
  });
  const userText = (record: { conversations: readonly { content?: string | null }[] }) =>
    String(record.conversations[0]?.content);

  it("holds out questions that no training conversation asks, about works on the held-out side", () => {
    expect(data.heldOut.qa.length).toBe(40);
    expect(data.summary.sharedWorks).toBe(0);
    // Every training question the builder could have drawn, not only the 200 drawn.
    const allTraining = buildDatasets({ ...settings, keepHeldOutText: true, maxCharacters: 256 }).sft.train;
    const trainingQuestions = new Set([...allTraining.map(userText), ...data.sftTrain.map(userText)]);
    for (const record of data.heldOut.qa) expect(trainingQuestions.has(userText(record))).toBe(false);
    for (const chat of data.chats ?? []) for (const message of chat) expect(trainingQuestions.has(message)).toBe(false);
  });

  it("draws held-out control prompts from held-out works only, and training ones from training works", () => {
    const heldOutWork = (work: (typeof works)[number]) =>
      isHeldOut(workIdentity(work), { heldOutShare: 0.1, seed: "minimind" });
    const sourcesOf = (record: { conversations: readonly { content?: string | null }[] }) => {
      const shown = userText(record).split("\n").slice(1);
      expect(shown.length).toBeGreaterThanOrEqual(3);
      return works.filter((work) => {
        const lines = new Set(work.lines.flatMap(clauses));
        return shown.every((line) => lines.has(line));
      });
    };
    expect(data.heldOut.control.length).toBe(20);
    for (const record of data.heldOut.control) {
      const sources = sourcesOf(record);
      expect(sources.length).toBeGreaterThan(0);
      expect(sources.every(heldOutWork)).toBe(true);
      // The answer is the one shown line holding the character asked about.
      const character = /^「(.)」/u.exec(userText(record))?.[1] as string;
      const holding = userText(record)
        .split("\n")
        .slice(1)
        .filter((line) => line.includes(character));
      expect(holding).toEqual([record.conversations[1]?.content]);
    }
    const controlTrain = data.sftTrain.filter((record) => userText(record).includes("字在下面哪一句里"));
    expect(controlTrain.length).toBe(60);
    for (const record of controlTrain.slice(0, 20)) expect(sourcesOf(record).some(heldOutWork)).toBe(false);
  });
});

describe("minimind experiment masks", () => {
  const tiny = [
    ...["--max-works", "200", "--train-questions", "24", "--control-train", "8", "--heldout-questions", "3"],
    ...["--control-heldout", "3", "--chats", "1", "--hidden-size", "32", "--layers", "2", "--heads", "2"],
    ...["--kv-heads", "1", "--pretrain-steps", "2", "--consistency-steps", "1", "--seeds", "1,2"],
    ...["--pretrain-batch-size", "8", "--sft-batch-size", "8", "--chat-new-tokens", "2"],
  ];
  const qualitySection = (table: string) => table.slice(table.indexOf("**qa**"), table.indexOf("3-turn chats"));

  it("writes its run folder and reproduces its own table from the command it printed", async () => {
    const first = join(folder, "first");
    const run1 = captureIo();
    expect(await runProgram([experimentCommand], ["experiment", "masks", ...tiny, "--out", first], run1.io)).toBe(0);
    const table = readFileSync(join(first, "table.md"), "utf8");
    for (const arm of ["causal", "prefixLM", "segments", "consistency", "mismatch", "memory"]) {
      expect(qualitySection(table)).toMatch(new RegExp(`^\\| ${arm} \\|`, "m"));
    }
    expect(readFileSync(join(first, "exact-match.svg"), "utf8")).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    expect(readFileSync(join(first, "answer-loss.svg"), "utf8")).toContain("<title>memory control:");
    const printed = readFileSync(join(first, "command.txt"), "utf8").trim();
    expect(run1.err()).toContain(printed);
    expect(table).toContain(printed);

    // The printed command, with another run folder, gives the same table and the same scores.
    const second = join(folder, "second");
    const argv = printed.split(" ").slice(1);
    argv[argv.indexOf("--out") + 1] = second;
    expect(await runProgram([experimentCommand], argv, captureIo().io)).toBe(0);
    expect(qualitySection(readFileSync(join(second, "table.md"), "utf8"))).toBe(qualitySection(table));
    const scores = (directory: string) =>
      (JSON.parse(readFileSync(join(directory, "results.json"), "utf8")).runs as { tasks: unknown }[]).map(
        (run) => run.tasks,
      );
    expect(scores(second)).toEqual(scores(first));
  }, 900_000);
});
