/**
 * The shape every `minimind` subcommand implements, and the I/O it is given. A command declares its
 * arguments and options on a commander `Command` (`configure`) and does its work in `run`, which returns an
 * exit code. Commands never touch `process` directly: they go through `context.io`, so tests can run them
 * in-process as well as through the built executable. Not here: parsing, error printing and exit codes
 * (`program.ts`), terminal helpers (`terminal/`).
 */
import type { Command as CommanderCommand } from "commander";
import type { Colors } from "./terminal/colors.js";

/** Where a command reads and writes. `processIo()` in io.ts is the real one; tests pass their own. */
export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** All of standard input as UTF-8 text. */
  readStdin: () => Promise<string>;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** Terminal width for progress lines and mask drawings; 80 when unknown. */
  columns: number;
  environment: Readonly<Record<string, string | undefined>>;
}

/** What `run` gets besides its parsed arguments. */
export interface CommandContext {
  io: CommandIo;
  /** Colors for stdout (off unless stdout is a TTY and NO_COLOR is unset). */
  colors: Colors;
  /** `--verbose` or a non-empty DEBUG: print stack traces and extra detail. */
  verbose: boolean;
}

/** Parsed command line of one invocation, as commander left it. */
export interface Invocation {
  /** Positional arguments after parsing (already converted by any argument parser). */
  arguments: unknown[];
  /** Options by camel-cased name, including the global ones (`verbose`). */
  options: Record<string, unknown>;
}

export interface CliCommand {
  /** The word typed after `minimind` (or after the parent command). */
  name: string;
  /** One line for the parent's `--help`. */
  summary: string;
  /** Declares arguments, options, longer description and examples. */
  configure?: (command: CommanderCommand) => void;
  /** Does the work; the returned number is the exit code (undefined means 0). */
  run?: (invocation: Invocation, context: CommandContext) => Promise<number | undefined>;
  /** Nested commands, e.g. `mask show`. */
  subcommands?: readonly CliCommand[];
}

/** A mistake in how the command was called: printed with a usage hint, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Exit codes, as documented in `minimind --help` and the README. */
export const ExitCode = {
  ok: 0,
  /** The work failed: a missing or malformed input file, a library error. */
  failure: 1,
  /** The command line is wrong: unknown command or flag, a malformed value, a missing argument. */
  usage: 2,
  /** Stopped by Ctrl-C (128 + SIGINT). */
  interrupted: 130,
} as const;
