/**
 * Streaming JSON Lines: reads a file chunk by chunk (never whole), splits it on newline bytes, and tracks
 * every record's line number and byte offset. A line that is not valid UTF-8, not JSON, or rejected by the
 * caller's `validate` is a bad line: with `onBadLine: "fail"` (the default) reading stops with a
 * `JsonLinesError` naming file, line and reason; with `"skip"` it is reported (to `report`, by default a
 * warning on stderr), counted, and listed in the summary. Blank lines carry no record and are not counted.
 * `JsonLinesIndex` keeps only the offsets (16 bytes a record) so datasets larger than memory can be read
 * at random positions. Not here: what a record means (pretrain-dataset.ts, sft-dataset.ts). Node only.
 */
import { closeSync, createReadStream, openSync, readSync } from "node:fs";

export type OnBadLine = "skip" | "fail";

/** One line that could not be used, and why. Lines count from 1, byte offsets from 0. */
export interface BadLine {
  readonly file: string;
  readonly line: number;
  readonly byteOffset: number;
  readonly reason: string;
}

export interface JsonLinesOptions {
  /** What a bad line does: stop with an error (default) or be skipped, reported and counted. */
  readonly onBadLine?: OnBadLine;
  /** Checks a parsed record; returns why it is unusable, or undefined when it is fine. */
  readonly validate?: (value: unknown) => string | undefined;
  /** Receives each skipped line (default: a warning on stderr). */
  readonly report?: (badLine: BadLine) => void;
}

/** A record and where it came from. */
export interface JsonRecord {
  readonly value: unknown;
  readonly line: number;
  readonly byteOffset: number;
  readonly byteLength: number;
}

/** What a full read saw: lines read (blank ones included), records kept, lines skipped. */
export interface JsonLinesSummary {
  readonly file: string;
  readonly lines: number;
  readonly records: number;
  readonly skipped: readonly BadLine[];
}

export class JsonLinesError extends Error {
  constructor(readonly badLine: BadLine) {
    super(`[jsonl] ${badLine.file}:${badLine.line} (byte ${badLine.byteOffset}): ${badLine.reason}`);
    this.name = "JsonLinesError";
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function describeLine(
  bytes: Uint8Array,
  validate: JsonLinesOptions["validate"],
): { value: unknown } | { reason: string } | "blank" {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { reason: "not valid UTF-8" };
  }
  if (text.trim() === "") return "blank";
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { reason: `not JSON (${(error as Error).message})` };
  }
  const problem = validate?.(value);
  return problem === undefined ? { value } : { reason: problem };
}

function defaultReport(badLine: BadLine): void {
  process.emitWarning(`${badLine.file}:${badLine.line}: ${badLine.reason} (skipped)`, "JsonLinesWarning");
}

/** Every line of a file as raw bytes with its line number and byte offset, one chunk in memory at a time. */
async function* lines(file: string): AsyncGenerator<{ bytes: Uint8Array; line: number; byteOffset: number }> {
  let pending: Uint8Array[] = [];
  let pendingStart = 0;
  let position = 0;
  let line = 0;
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(10, start);
      if (newline < 0) break;
      const piece = chunk.subarray(start, newline);
      const bytes = pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
      line++;
      yield { bytes, line, byteOffset: pendingStart };
      pending = [];
      start = newline + 1;
      pendingStart = position + start;
    }
    if (start < chunk.length) pending.push(Uint8Array.from(chunk.subarray(start)));
    position += chunk.length;
  }
  if (pending.length > 0) {
    line++;
    yield { bytes: Buffer.concat(pending), line, byteOffset: pendingStart };
  }
}

/** Reads a JSON Lines file as a stream of records; the generator's return value is the summary. */
export async function* readJsonLines(
  file: string,
  options: JsonLinesOptions = {},
): AsyncGenerator<JsonRecord, JsonLinesSummary> {
  const onBadLine = options.onBadLine ?? "fail";
  if (onBadLine !== "skip" && onBadLine !== "fail") {
    throw new Error(`[jsonl] onBadLine is ${JSON.stringify(onBadLine)}; use "skip" or "fail"`);
  }
  const report = options.report ?? defaultReport;
  const skipped: BadLine[] = [];
  let lineCount = 0;
  let records = 0;
  for await (const { bytes, line, byteOffset } of lines(file)) {
    lineCount = line;
    const described = describeLine(bytes, options.validate);
    if (described === "blank") continue;
    if ("reason" in described) {
      const badLine: BadLine = { file, line, byteOffset, reason: described.reason };
      if (onBadLine === "fail") throw new JsonLinesError(badLine);
      skipped.push(badLine);
      report(badLine);
      continue;
    }
    records++;
    yield { value: described.value, line, byteOffset, byteLength: bytes.length };
  }
  return { file, lines: lineCount, records, skipped };
}

/**
 * The byte offsets of every good record of a JSONL file, built in one streaming pass, for random access
 * (`read(index)`) without holding the file in memory.
 */
export class JsonLinesIndex {
  private descriptor: number | undefined;

  private constructor(
    readonly file: string,
    private readonly offsets: Float64Array,
    private readonly lengths: Int32Array,
    private readonly lineNumbers: Int32Array,
    readonly summary: JsonLinesSummary,
  ) {}

  /** Streams the file once, validating each record (see `JsonLinesOptions`). */
  static async build(file: string, options: JsonLinesOptions = {}): Promise<JsonLinesIndex> {
    let offsets = new Float64Array(1024);
    let lengths = new Int32Array(1024);
    let lineNumbers = new Int32Array(1024);
    let count = 0;
    const reader = readJsonLines(file, options);
    let next = await reader.next();
    while (!next.done) {
      if (count === offsets.length) {
        const grow = <T extends Float64Array | Int32Array>(array: T, Constructor: new (size: number) => T): T => {
          const larger = new Constructor(array.length * 2);
          larger.set(array);
          return larger;
        };
        offsets = grow(offsets, Float64Array);
        lengths = grow(lengths, Int32Array);
        lineNumbers = grow(lineNumbers, Int32Array);
      }
      offsets[count] = next.value.byteOffset;
      lengths[count] = next.value.byteLength;
      lineNumbers[count] = next.value.line;
      count++;
      next = await reader.next();
    }
    return new JsonLinesIndex(
      file,
      offsets.slice(0, count),
      lengths.slice(0, count),
      lineNumbers.slice(0, count),
      next.value,
    );
  }

  /** Number of good records. */
  get length(): number {
    return this.offsets.length;
  }

  /** The file's line number (from 1) of record `index`. */
  line(index: number): number {
    this.check(index);
    return this.lineNumbers[index] as number;
  }

  /** Record `index`, parsed (read from disk; the file must not change after `build`). */
  read(index: number): unknown {
    this.check(index);
    this.descriptor ??= openSync(this.file, "r");
    const length = this.lengths[index] as number;
    const bytes = Buffer.allocUnsafe(length);
    const read = readSync(this.descriptor, bytes, 0, length, this.offsets[index] as number);
    if (read !== length) {
      throw new Error(
        `[jsonl] ${this.file}:${this.line(index)}: read ${read} of ${length} bytes; the file changed after indexing`,
      );
    }
    try {
      return JSON.parse(decoder.decode(bytes));
    } catch (error) {
      throw new Error(
        `[jsonl] ${this.file}:${this.line(index)}: no longer JSON (${(error as Error).message}); the file changed after indexing`,
      );
    }
  }

  /** Closes the file (reopened on the next read). */
  close(): void {
    if (this.descriptor !== undefined) closeSync(this.descriptor);
    this.descriptor = undefined;
  }

  private check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.offsets.length) {
      throw new RangeError(`[jsonl] record ${index} is outside ${this.file}'s ${this.offsets.length} records`);
    }
  }
}
