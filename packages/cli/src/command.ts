/**
 * The shape every `minimind` subcommand implements, and the I/O it is given. Commands never touch
 * `process` directly: they write through `io` and return an exit code, so tests run them in-process.
 */

export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface Command {
  /** The word typed after `minimind`. */
  name: string;
  /** One line for `minimind --help`. */
  summary: string;
  /** Full usage text for `minimind <name> --help`. */
  usage: string;
  run: (argv: readonly string[], io: CommandIo) => Promise<number>;
}

/** A usage error: printed with the command's usage hint, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
