/**
 * @minimind/cli — the `minimind` command. This file only wires subcommands (one file each in
 * `commands/`) and exposes `run` for programmatic and in-process use; `bin.ts` is the executable.
 */
import type { Command, CommandIo } from "./command.js";
import { UsageError } from "./command.js";
import { tokenizeCommand } from "./commands/tokenize.js";
import { versionCommand } from "./commands/version.js";
import { version } from "./version.js";

export type { Command, CommandIo } from "./command.js";
export { UsageError } from "./command.js";

/** Every subcommand, in the order `--help` lists them. */
export const commands: readonly Command[] = [tokenizeCommand, versionCommand];

const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export function helpText(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return [
    `minimind ${version} — train and run MiniMind-style language models in TypeScript`,
    "",
    "Usage: minimind <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Options:",
    "  -h, --help     Show this help, or a command's help after its name",
    "  -v, --version  Print the version",
    "",
  ].join("\n");
}

/** Runs the CLI on `argv` (without the node and script paths) and returns the exit code. */
export async function run(argv: readonly string[], io: CommandIo = processIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    const topic = first === "help" ? rest[0] : undefined;
    const command = topic === undefined ? undefined : commands.find((c) => c.name === topic);
    if (topic !== undefined && command === undefined) return unknownCommand(topic, io);
    io.stdout(command === undefined ? helpText() : `${command.usage}\n`);
    return first === undefined ? 1 : 0;
  }
  if (first === "-v" || first === "--version") return versionCommand.run([], io);
  if (first.startsWith("-")) {
    io.stderr(`minimind: unknown option "${first}". Run "minimind --help" for usage.\n`);
    return 2;
  }
  const command = commands.find((c) => c.name === first);
  if (command === undefined) return unknownCommand(first, io);
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`minimind ${command.name}: ${error.message}\nRun "minimind ${command.name} --help" for usage.\n`);
      return 2;
    }
    throw error;
  }
}

function unknownCommand(name: string, io: CommandIo): number {
  const near = commands.filter((c) => c.name.startsWith(name.slice(0, 2))).map((c) => c.name);
  const hint = near.length > 0 ? ` Did you mean ${near.map((n) => `"${n}"`).join(" or ")}?` : "";
  io.stderr(`minimind: unknown command "${name}".${hint} Run "minimind --help" for the list.\n`);
  return 2;
}
