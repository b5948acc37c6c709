import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "../index.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) },
    out: () => out.join(""),
    err: () => err.join(""),
  };
}

// Expected ids come from ../shared/fixtures/tokenizer/encode.jsonl (PyTorch-side reference tokenizer).
const fixtureLines = new URL("../../../../../shared/fixtures/tokenizer/encode.jsonl", import.meta.url);

describe("minimind tokenize", () => {
  it("encodes its arguments as the reference tokenizer does", async () => {
    const { readFileSync } = await import("node:fs");
    const cases = readFileSync(fixtureLines, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as { text: string; ids: number[] })
      .filter((c) => c.text.length > 0 && !c.text.includes("\n") && c.text.trim() === c.text)
      .slice(0, 5);
    expect(cases.length).toBeGreaterThan(0);
    for (const { text, ids } of cases) {
      const c = capture();
      expect(await run(["tokenize", text], c.io)).toBe(0);
      expect(c.out()).toBe(`${ids.join(" ")}\n`);
    }
  });

  it("--json prints ids and one text piece per token", async () => {
    const c = capture();
    expect(await run(["tokenize", "--json", "Hello World"], c.io)).toBe(0);
    const parsed = JSON.parse(c.out()) as { ids: number[]; tokens: string[] };
    expect(parsed.ids).toEqual([1602, 2968]); // encode.jsonl: "Hello World"
    expect(parsed.tokens.join("")).toBe("Hello World");
  });

  it("--decode turns ids back into text, skipping special tokens unless --special", async () => {
    const plain = capture();
    expect(await run(["tokenize", "--decode", "1", "1602", "2968", "2"], plain.io)).toBe(0);
    expect(plain.out()).toBe("Hello World\n");
    const special = capture();
    expect(await run(["tokenize", "--decode", "--special", "1602,2968,2"], special.io)).toBe(0);
    expect(special.out()).toBe("Hello World<|im_end|>\n");
  });

  it("--tokenizer loads a tokenizer directory and names a missing one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "minimind-cli-tok-"));
    try {
      const c = capture();
      await expect(run(["tokenize", "--tokenizer", dir, "hi"], c.io)).rejects.toThrow(/tokenizer\.json/);
      writeFileSync(join(dir, "tokenizer.json"), "{ not json");
      await expect(run(["tokenize", "--tokenizer", dir, "hi"], c.io)).rejects.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects a bad id and an unknown flag with exit code 2", async () => {
    const badId = capture();
    expect(await run(["tokenize", "--decode", "12x"], badId.io)).toBe(2);
    expect(badId.err()).toContain('"12x" is not a token id');
    const badFlag = capture();
    expect(await run(["tokenize", "--frob"], badFlag.io)).toBe(2);
    expect(badFlag.err()).toContain("--frob");
  });
});
