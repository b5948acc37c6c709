import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, temporaryFolder } from "../testing/built-cli.js";

const folder = temporaryFolder();
afterAll(() => folder.remove());

function readJsonl(path: string): Record<string, unknown>[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("minimind data", () => {
  it("builds pretrain and SFT JSONL with a held-out split from the shipped corpus", () => {
    const out = join(folder.path, "corpus");
    const result = runCli(["data", "--collections", "tang", "--max-works", "400", "--heldout", "0.25", "--out", out]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^400 works: \d+ for training, \d+ held out \(0\.25\)\n/);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(manifest.works.train + manifest.works.heldOut).toBe(400);
    const pretrain = readJsonl(join(out, "pretrain.jsonl"));
    expect(pretrain).toHaveLength(manifest.pretrain.train);
    expect(typeof pretrain[0]?.text).toBe("string");
    const sftHeldOut = readJsonl(join(out, "sft-heldout.jsonl"));
    expect(sftHeldOut.length).toBe(manifest.sft.heldOut);
    expect(sftHeldOut.length).toBeGreaterThan(0);
    // No held-out work's header appears in the training texts.
    const trainHeaders = new Set(pretrain.map((record) => String(record.text).split("\n")[0]));
    for (const record of readJsonl(join(out, "pretrain-heldout.jsonl"))) {
      expect(trainHeaders.has(String(record.text).split("\n")[0])).toBe(false);
    }
    // Deterministic: a second run writes the same bytes.
    const again = join(folder.path, "again");
    runCli(["data", "--collections", "tang", "--max-works", "400", "--heldout", "0.25", "--out", again]);
    expect(readFileSync(join(again, "sft.jsonl"), "utf8")).toBe(readFileSync(join(out, "sft.jsonl"), "utf8"));
  });

  it("--famous keeps only 唐诗三百首 and 宋词三百首, with the same held-out split as the whole corpus", () => {
    const out = join(folder.path, "famous");
    const args = ["data", "--collections", "tang", "--famous", "--kinds", "next-line", "--out", out];
    const result = runCli([...args, "--json"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const manifest = JSON.parse(result.stdout);
    expect(manifest.famous).toBe(true);
    // 唐诗三百首 has about three hundred poems (the source's list matched against 全唐诗 by title and author).
    const works = manifest.works.train + manifest.works.heldOut;
    expect(works).toBeGreaterThan(250);
    expect(works).toBeLessThan(330);
    const questions = readJsonl(join(out, "sft.jsonl"));
    expect(questions.every((record) => record.kind === "next-line")).toBe(true);
    const answer = (question: string) =>
      questions.find((record) => (record.conversations as { content: string }[])[0]?.content === question);
    // 静夜思 is famous; 帝京篇 (the first poem of 全唐诗) is not.
    expect(answer("「床前看月光」的下一句是什么？")).toBeDefined();
    expect(answer("「秦川雄帝宅」的下一句是什么？")).toBeUndefined();
    // A work's side of the split depends only on (seed, title, author): every famous work held out here is
    // held out of the whole corpus too, and no question trained on here is in the whole corpus's held-out set.
    const whole = join(folder.path, "whole-tang");
    runCli(["data", "--collections", "tang", "--kinds", "next-line", "--out", whole]);
    const lines = (path: string) =>
      readFileSync(path, "utf8")
        .split("\n")
        .filter((line) => line !== "");
    const wholeHeldOutTexts = new Set(lines(join(whole, "pretrain-heldout.jsonl")));
    const famousHeldOutTexts = lines(join(out, "pretrain-heldout.jsonl"));
    expect(famousHeldOutTexts.length).toBeGreaterThan(0);
    for (const text of famousHeldOutTexts) expect(wholeHeldOutTexts.has(text)).toBe(true);
    const wholeHeldOutQuestions = new Set(lines(join(whole, "sft-heldout.jsonl")));
    for (const line of lines(join(out, "sft.jsonl"))) expect(wholeHeldOutQuestions.has(line)).toBe(false);
  });

  it("--famous with files that mark no work famous fails naming them (exit 1)", () => {
    const poems = join(folder.path, "plain-poems.jsonl");
    writeFileSync(poems, `${JSON.stringify({ title: "t", author: "a", lines: ["一二三四五，", "六七八九十。"] })}\n`);
    const result = runCli(["data", poems, "--famous", "--out", join(folder.path, "none")]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`minimind data: --famous: no work in ${poems} is marked "famous": true\n`);
  });

  it("builds from the user's own JSONL and text, --json prints the manifest", () => {
    const works = join(folder.path, "mine.jsonl");
    writeFileSync(
      works,
      `${[
        '{"title":"春晓","author":"孟浩然","lines":["春眠不觉晓，处处闻啼鸟。","夜来风雨声，花落知多少。"]}',
        '{"text":"一段预训练文本"}',
        '{"conversations":[{"role":"user","content":"你好"},{"role":"assistant","content":"你好！"}]}',
      ].join("\n")}\n`,
    );
    const text = join(folder.path, "notes.txt");
    writeFileSync(text, "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。\n");
    const out = join(folder.path, "mine");
    const result = runCli(["data", works, text, "--heldout", "0", "--out", out, "--json"]);
    expect(result.status).toBe(0);
    const manifest = JSON.parse(result.stdout);
    expect(manifest.works).toEqual({ train: 2, heldOut: 0 });
    expect(manifest.pretrain.train).toBe(3); // two works and one text
    const sft = readJsonl(join(out, "sft.jsonl"));
    expect(sft).toContainEqual({
      conversations: [
        { role: "user", content: "「白日依山尽」的下一句是什么？" },
        { role: "assistant", content: "黄河入海流" },
      ],
      kind: "next-line",
    });
    expect(sft.some((record) => record.kind === undefined)).toBe(true); // the passed-through conversation
  });

  it("a missing input file fails with its name (exit 1)", () => {
    const result = runCli(["data", "missing.jsonl", "--out", join(folder.path, "x")]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('minimind data: cannot read input file "missing.jsonl": no such file or directory\n');
  });

  it("a malformed JSONL line fails naming file and line (exit 1)", () => {
    const bad = join(folder.path, "bad.jsonl");
    writeFileSync(bad, '{"text":"fine"}\n{"text": "unterminated}\n');
    const result = runCli(["data", bad, "--out", join(folder.path, "y")]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^minimind data: ${bad.replaceAll("/", "\\/")}:2: not valid JSON`));
  });

  it.each([
    [["--heldout", "1.5"], "must be below 1"],
    [["--heldout", "0x1"], "is not a decimal number"],
    [["--max-works", "1e3"], "is not a decimal integer"],
    [["--kinds", "rhymes"], '"rhymes" is not one of next-line, previous-line, author, first-line'],
    [["--collections", "yuanqu"], '"yuanqu" is not one of tang, song-ci, shijing, analects'],
    [["--frob"], "unknown option '--frob'"],
  ])("a bad flag %j is a usage error (exit 2)", (flags, message) => {
    const result = runCli(["data", ...flags, "--out", join(folder.path, "z")]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('Run "minimind data --help" for usage.');
  });

  it("an output path that is a file fails naming it (exit 1)", () => {
    const file = join(folder.path, "a-file");
    writeFileSync(file, "");
    const result = runCli(["data", "--collections", "analects", "--out", file]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `minimind data: cannot create output folder "${file}": a file with that name already exists\n`,
    );
  });

  it("--collections with input files is a usage error (exit 2)", () => {
    const result = runCli(["data", "a.jsonl", "--collections", "tang"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("--collections selects from the shipped corpus");
  });
});
