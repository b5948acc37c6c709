import { readFileSync, writeFileSync } from "node:fs";
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

interface Report {
  kind: string;
  loss?: number;
  answerTokenLoss?: number;
  perplexity: number;
  bitsPerByte: number;
  exactMatch?: number;
  matches?: number;
  questions?: number;
  answers?: { question: string; expected: string; answer: string; match: boolean }[];
}

describe("minimind eval", () => {
  it("scores pretraining text: loss, perplexity and bits per byte agree with each other", () => {
    const result = runMinimind(["eval", data.pretrain, "--model", run, "--json"]);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.kind).toBe("text");
    // An almost untrained model: close to uniform over 6,400 tokens (ln 6400 ≈ 8.76).
    expect(report.loss as number).toBeGreaterThan(7.5);
    expect(report.perplexity).toBeCloseTo(Math.exp(report.loss as number), 6);
    expect(report.bitsPerByte).toBeGreaterThan(0);
    const plain = runMinimind(["eval", data.pretrain, "--model", run]);
    expect(plain.stdout).toMatch(/^.*pretrain\.jsonl: 4 rows, \d+ target tokens; loss \d\.\d{4}, perplexity/);
  });

  it("scores SFT questions: answer-token loss and exact-match of greedy answers", () => {
    const first = JSON.parse(
      runMinimind(["eval", data.sft, "--model", run, "--questions", "2", "--max-new-tokens", "4", "--json"]).stdout,
    ) as Report;
    expect(first.kind).toBe("sft");
    expect(first.answerTokenLoss as number).toBeGreaterThan(5);
    expect(first.questions).toBe(2);
    const answer = first.answers?.[0]?.answer as string;
    // A file whose expected answer is what the model says (plus end punctuation) must count as a match.
    const record = JSON.parse(readFileSync(data.sft, "utf8").split("\n")[0] as string);
    record.conversations[1].content = `${answer}。`;
    const matching = join(folder.path, "matching.jsonl");
    writeFileSync(matching, `${JSON.stringify(record)}\n`);
    const second = runMinimind(["eval", matching, "--model", run, "--max-new-tokens", "4"]);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain(
      `✓ ${record.conversations[0].content}\n    expected ${answer}。\n    answered ${answer}\n`,
    );
    expect(second.stdout).toContain("answer exact-match 1/1 (100.0%)");
  });

  it("refuses a missing file, a malformed line and a bad mask", () => {
    const missing = runMinimind(["eval", join(folder.path, "none.jsonl"), "--model", run]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`cannot read evaluation file "${join(folder.path, "none.jsonl")}"`);
    const broken = join(folder.path, "broken.jsonl");
    writeFileSync(broken, '{"text": "床前明月光"}\n{"text": \n');
    const malformed = runMinimind(["eval", broken, "--model", run]);
    expect(malformed.status).toBe(1);
    expect(malformed.stderr).toContain(`${broken}:2`);
    const mask = runMinimind(["eval", data.sft, "--model", run, "--mask", "diagonal"]);
    expect(mask.status).toBe(2);
    expect(mask.stderr).toContain('"diagonal" is not one of causal, prefix, segments');
  });
});
