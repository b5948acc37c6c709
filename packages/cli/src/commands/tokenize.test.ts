import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { builtBin, runCli, temporaryFolder } from "../testing/built-cli.js";

// Expected ids come from ../shared/fixtures/tokenizer/encode.jsonl (PyTorch-side reference tokenizer).
const fixtureLines = new URL("../../../../../shared/fixtures/tokenizer/encode.jsonl", import.meta.url);
const folder = temporaryFolder();
afterAll(() => folder.remove());

describe("minimind tokenize", () => {
  it("encodes each line of a file as the reference tokenizer does", () => {
    const cases = readFileSync(fixtureLines, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as { text: string; ids: number[] })
      .filter((c) => c.text.length > 0 && !/[\r\n]/.test(c.text) && c.text.trim() === c.text)
      .slice(0, 20);
    expect(cases.length).toBeGreaterThan(5);
    const input = join(folder.path, "cases.txt");
    writeFileSync(input, `${cases.map((c) => c.text).join("\n")}\n`);
    const result = runCli(["tokenize", input]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(cases.map((c) => `${c.ids.join(" ")}\n`).join(""));
  });

  it("--text encodes literal text; --json adds the token pieces", () => {
    const plain = runCli(["tokenize", "--text", "Hello World"]);
    expect(plain.stdout).toBe("1602 2968\n"); // encode.jsonl: "Hello World"
    const json = runCli(["tokenize", "--json", "--text", "Hello World"]);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ ids: [1602, 2968], tokens: ["Hello", " World"] });
  });

  it("reads standard input when given no files or -, and round-trips through --decode", () => {
    const text = "床前明月光，疑是地上霜。\nHello World\n";
    const ids = runCli(["tokenize"], { input: text });
    expect(ids.status).toBe(0);
    expect(ids.stdout.split("\n")).toHaveLength(3);
    expect(runCli(["tokenize", "-"], { input: text }).stdout).toBe(ids.stdout);
    const idsFile = join(folder.path, "ids.txt");
    writeFileSync(idsFile, ids.stdout);
    const back = runCli(["tokenize", idsFile, "--decode"]);
    expect(back.status).toBe(0);
    expect(back.stdout).toBe(text);
  });

  it("--decode turns ids back into text, skipping special tokens unless --special", () => {
    expect(runCli(["tokenize", "--decode", "1", "1602", "2968", "2"]).stdout).toBe("Hello World\n");
    expect(runCli(["tokenize", "--special", "--decode", "1602,2968,2"]).stdout).toBe("Hello World<|im_end|>\n");
    expect(JSON.parse(runCli(["tokenize", "--json", "--decode", "1602"]).stdout)).toEqual({ text: "Hello" });
  });

  it("a missing file is an error naming it (exit 1), never text to tokenize", () => {
    const result = runCli(["tokenize", "nonexistent.txt"]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      'minimind tokenize: cannot read input file "nonexistent.txt": no such file or directory\n',
    );
  });

  it("malformed ids: on the command line exit 2 with the reason, in a file exit 1 naming file:line", () => {
    for (const bad of ["1e3", "0x10", "-1", "1.5"]) {
      const result = runCli(["tokenize", "--decode", bad]);
      expect(result.status, bad).toBe(2);
      expect(result.stderr).toContain(`"${bad}" is not a token id`);
      expect(result.stderr).toContain('Run "minimind tokenize --help" for usage.');
    }
    const idsFile = join(folder.path, "bad-ids.txt");
    writeFileSync(idsFile, "1602 2968\n1602 12x\n");
    const result = runCli(["tokenize", idsFile, "--decode"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `minimind tokenize: ${idsFile}:2: "12x" is not a token id (a non-negative decimal integer)\n`,
    );
  });

  it("rejects unknown flags, files together with --text, and --special without --decode (exit 2)", () => {
    const flag = runCli(["tokenize", "--frob"]);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain("unknown option '--frob'");
    const both = runCli(["tokenize", "a.txt", "--text", "x"]);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain("give either files or --text, not both");
    expect(runCli(["tokenize", "--special", "--text", "x"]).status).toBe(2);
  });

  it("--tokenizer: a folder without tokenizer.json fails in one line (stack only with --verbose)", () => {
    const plain = runCli(["tokenize", "--tokenizer", folder.path, "--text", "hi"]);
    expect(plain.status).toBe(1);
    expect(plain.stderr).toMatch(/^minimind tokenize: .*tokenizer\.json.*\n$/);
    const verbose = runCli(["tokenize", "--verbose", "--tokenizer", folder.path, "--text", "hi"]);
    expect(verbose.status).toBe(1);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it("a closed stdout ends quietly with exit 0 (tokenize < file | head -c 10)", () => {
    const big = join(folder.path, "big.txt");
    writeFileSync(big, "床前明月光，疑是地上霜。举头望明月，低头思故乡。\n".repeat(20_000));
    const shell = spawnSync(
      "bash",
      [
        "-c",
        `"${process.execPath}" "${builtBin}" tokenize < "${big}" | head -c 10; echo "status=\${PIPESTATUS[0]}" >&2`,
      ],
      { encoding: "utf8" },
    );
    expect(shell.stdout).toHaveLength(10);
    expect(shell.stderr).toBe("status=0\n");
  });
});
