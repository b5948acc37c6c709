import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, temporaryFolder } from "../testing/built-cli.js";

const folder = temporaryFolder();
afterAll(() => folder.remove());

describe("minimind train-tokenizer", () => {
  it("trains on the user's JSONL, writes a tokenizer that tokenize can load", () => {
    const input = join(folder.path, "pretrain.jsonl");
    const lines = [
      "春眠不觉晓，处处闻啼鸟。",
      "夜来风雨声，花落知多少。",
      "床前明月光，疑是地上霜。",
      "举头望明月，低头思故乡。",
    ];
    writeFileSync(input, `${lines.map((text) => JSON.stringify({ text })).join("\n")}\n`.repeat(20));
    const out = join(folder.path, "tokenizer");
    const result = runCli(["train-tokenizer", input, "--vocab-size", "300", "--out", out, "--json"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ vocabularySize: 300, texts: 80 });
    // 300 tokens leave few merges for Chinese: fewer characters per token than MiniMind's 6,400.
    expect(summary.charactersPerToken).toBeLessThan(summary.minimindCharactersPerToken);
    expect(existsSync(join(out, "tokenizer_config.json"))).toBe(true);
    const ids = runCli(["tokenize", "--tokenizer", out, "--text", "春眠不觉晓"]);
    expect(ids.status).toBe(0);
    const back = runCli(["tokenize", "--tokenizer", out, "--decode", ...ids.stdout.trim().split(" ")]);
    expect(back.stdout).toBe("春眠不觉晓\n");
  });

  it("trains on the shipped corpus by default (here capped with --max-texts)", () => {
    const out = join(folder.path, "corpus-tokenizer");
    const result = runCli(["train-tokenizer", "--vocab-size", "400", "--max-texts", "300", "--out", out]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/tokenizer\.json: 400 tokens from 300 texts/);
  });

  it("a missing file and a malformed JSONL line fail naming them (exit 1)", () => {
    const missing = runCli(["train-tokenizer", "missing.jsonl", "--out", join(folder.path, "x")]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(
      'minimind train-tokenizer: cannot read input file "missing.jsonl": no such file or directory\n',
    );
    const bad = join(folder.path, "bad.jsonl");
    writeFileSync(bad, '{"text":"a"}\n{"text":\n');
    const malformed = runCli(["train-tokenizer", bad, "--out", join(folder.path, "y")]);
    expect(malformed.status).toBe(1);
    expect(malformed.stderr).toContain(`${bad}:2: not valid JSON`);
  });

  it.each([
    [["--vocab-size", "1e4"], "is not a decimal integer"],
    [["--vocab-size", "100"], "--vocab-size 100 is below 259"],
    [["--min-frequency", "-1"], "below the minimum 0"],
    [["--vocab"], "unknown option '--vocab'"],
  ])("bad flags %j are usage errors (exit 2)", (args, message) => {
    const result = runCli(["train-tokenizer", ...args, "--out", join(folder.path, "z")]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
