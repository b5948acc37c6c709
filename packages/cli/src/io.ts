/**
 * The process-backed CommandIo, and file reading that fails with the path and the reason in one line
 * (`cannot read input file "x.txt": no such file or directory`) instead of a raw ENOENT. Lines are read as a
 * stream with their 1-based numbers, so callers can name `file:line` in errors without loading whole files.
 * Not here: parsing of what is read (data/jsonl.ts does JSONL).
 */
import { createReadStream, readFileSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import type { CommandIo } from "./command.js";

/** The real terminal: process.stdout/stderr/stdin and the process environment. */
export function processIo(): CommandIo {
  return {
    stdout: (text) => {
      process.stdout.write(text);
    },
    stderr: (text) => {
      process.stderr.write(text);
    },
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
    stdinIsTTY: process.stdin.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    columns: process.stderr.columns ?? process.stdout.columns ?? 80,
    environment: process.env,
  };
}

const reasons: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EISDIR: "it is a directory",
  ENOTDIR: "a part of the path is not a directory",
  ELOOP: "too many symbolic links",
  EEXIST: "a file with that name already exists",
};

/** One-line description of a file-system error. */
export function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && code in reasons) return reasons[code] as string;
  return error instanceof Error ? error.message : String(error);
}

/** Throws `cannot read <what> "<path>": <reason>` unless `path` is a readable regular file. */
export function requireFile(path: string, what: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (error) {
    throw new Error(`cannot read ${what} "${path}": ${describeFileError(error)}`);
  }
  if (!isFile) throw new Error(`cannot read ${what} "${path}": not a regular file`);
}

/** Reads a whole UTF-8 file, failing with the path and the reason. */
export function readTextFile(path: string, what: string): string {
  requireFile(path, what);
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read ${what} "${path}": ${describeFileError(error)}`);
  }
}

/** The lines of a UTF-8 file with their 1-based numbers, streamed (a trailing newline gives no empty line). */
export async function* readLines(path: string, what: string): AsyncGenerator<{ line: string; number: number }> {
  requireFile(path, what);
  const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const line of lines) {
      number++;
      yield { line, number };
    }
  } catch (error) {
    throw new Error(`cannot read ${what} "${path}": ${describeFileError(error)}`);
  } finally {
    lines.close();
  }
}
