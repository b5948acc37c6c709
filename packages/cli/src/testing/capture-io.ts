/**
 * Test helper: a `CommandIo` that records what a command writes (no terminal, empty stdin, 80 columns), for
 * running commands through `runProgram` in tests. Test-only: not exported from the package.
 */
import type { CommandIo } from "../command.js";

export function captureIo(environment: Record<string, string> = {}): {
  io: CommandIo;
  out: () => string;
  err: () => string;
} {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    readStdin: async () => "",
    stdinIsTTY: false,
    stdoutIsTTY: false,
    stderrIsTTY: false,
    columns: 80,
    environment,
  };
  return { io, out: () => out.join(""), err: () => err.join("") };
}
