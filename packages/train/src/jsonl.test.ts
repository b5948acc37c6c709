import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type BadLine, JsonLinesError, JsonLinesIndex, readJsonLines } from "./jsonl.js";

function temporaryFile(name: string, contents: string | Uint8Array): string {
  const file = join(mkdtempSync(join(tmpdir(), "minimind-jsonl-")), name);
  writeFileSync(file, contents);
  return file;
}

async function collect(file: string, options: Parameters<typeof readJsonLines>[1]) {
  const records: unknown[] = [];
  const reader = readJsonLines(file, options);
  for (;;) {
    const next = await reader.next();
    if (next.done) return { records, summary: next.value };
    records.push(next.value);
  }
}

describe("readJsonLines", () => {
  it("yields every record with its line number and byte offset, across chunk boundaries", async () => {
    // Lines longer than the 1 MiB read chunk force records to span chunks.
    const long = "x".repeat(1_500_000);
    const text = `{"text":"a"}\n\n{"text":"${long}"}\r\n{"text":"é"}`;
    const file = temporaryFile("good.jsonl", text);
    const { records, summary } = await collect(file, {});
    // Compare the long record by length so a failure does not print 1.5 MB.
    const shown = records.map((record) => {
      const { value, ...position } = record as { value: { text: string } };
      return { ...position, text: value.text.length > 10 ? `${value.text.length} chars` : value.text };
    });
    expect(shown).toEqual([
      { text: "a", line: 1, byteOffset: 0, byteLength: 12 },
      { text: `${long.length} chars`, line: 3, byteOffset: 14, byteLength: long.length + 12 },
      { text: "é", line: 4, byteOffset: 14 + long.length + 13, byteLength: 13 },
    ]);
    expect(summary).toEqual({ file, lines: 4, records: 3, skipped: [] });
  });

  it("fails on the first bad line by default, naming file, line and reason", async () => {
    const file = temporaryFile("bad.jsonl", '{"text":"a"}\n{"text": broken\n{"text":"c"}\n');
    await expect(collect(file, {})).rejects.toThrow(new RegExp(`${file}:2 \\(byte 13\\): not JSON`));
    await expect(collect(file, {})).rejects.toBeInstanceOf(JsonLinesError);
  });

  it("skips, reports and counts bad lines with onBadLine: skip (invalid UTF-8, JSON, validation)", async () => {
    const bytes = new Uint8Array([
      ...new TextEncoder().encode('{"text":"a"}\n'),
      0x7b,
      0xff,
      0x7d,
      0x0a,
      ...new TextEncoder().encode('[1,2]\n{"text":"d"}\nnope\n'),
    ]);
    const file = temporaryFile("mixed.jsonl", bytes);
    const reported: BadLine[] = [];
    const { records, summary } = await collect(file, {
      onBadLine: "skip",
      report: (badLine) => reported.push(badLine),
      validate: (value) =>
        typeof (value as { text?: unknown }).text === "string" ? undefined : 'no string field "text"',
    });
    expect(records.map((record) => (record as { line: number }).line)).toEqual([1, 4]);
    expect(reported.map((badLine) => [badLine.line, badLine.reason.split(" (")[0]])).toEqual([
      [2, "not valid UTF-8"],
      [3, 'no string field "text"'],
      [5, "not JSON"],
    ]);
    expect(summary.skipped).toEqual(reported);
    expect(summary.records).toBe(2);
    expect(summary.lines).toBe(5);
  });
});

describe("JsonLinesIndex", () => {
  it("reads records at random positions from their offsets", async () => {
    const rows = Array.from({ length: 3000 }, (_, index) => ({ text: `row ${index} ${"y".repeat(index % 50)}` }));
    const file = temporaryFile("index.jsonl", `${rows.map((row) => JSON.stringify(row)).join("\n")}\nbad\n`);
    const index = await JsonLinesIndex.build(file, { onBadLine: "skip", report: () => {} });
    expect(index.length).toBe(3000);
    expect(index.summary.skipped.map((badLine) => badLine.line)).toEqual([3001]);
    for (const position of [2999, 0, 1234, 7]) {
      expect(index.read(position)).toEqual(rows[position]);
      expect(index.line(position)).toBe(position + 1);
    }
    expect(() => index.read(3000)).toThrow(/record 3000 is outside .*index.jsonl's 3000 records/);
    index.close();
  });
});
