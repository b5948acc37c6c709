/**
 * Turns the list of CliCommands into a commander program and runs one command line, mapping every way it
 * can end to an exit code: 0 done (help and version included), 1 the work failed (one line naming the
 * command and the reason; the stack only with --verbose or DEBUG), 2 the command line is wrong (commander's
 * reason plus a pointer to --help), 130 interrupted. A closed stdout (EPIPE) ends quietly with 0. Not here:
 * what any command does, and process wiring (bin.ts).
 */
import { type Command as CommanderCommand, CommanderError, Command as CommanderProgram } from "commander";
import { type CliCommand, type CommandContext, type CommandIo, ExitCode, UsageError } from "./command.js";
import { colorsWanted, createColors } from "./terminal/colors.js";
import { InterruptedError } from "./terminal/interrupt.js";
import { version } from "./version.js";

const description = "Train and run MiniMind-style language models in TypeScript.";

const exitCodesHelp = `
Exit codes:
  0    done
  1    the work failed (missing or malformed input, a library error)
  2    usage error (unknown command or option, malformed value, missing argument)
  130  interrupted (Ctrl-C)

Set DEBUG=1 or pass --verbose to see stack traces. NO_COLOR turns colors off.`;

/** commander codes that are not errors. */
const successCodes = new Set(["commander.helpDisplayed", "commander.version"]);

/** True for the error a write to a closed pipe raises (`minimind tokenize … | head`). */
export function isBrokenPipe(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "EPIPE";
}

/** Runs `argv` (no node or script path) against `commands` and returns the exit code. Never throws. */
export async function runProgram(commands: readonly CliCommand[], argv: readonly string[], io: CommandIo) {
  const environment = io.environment;
  const errorColors = createColors(colorsWanted(io.stderrIsTTY, environment));
  const state = { exitCode: ExitCode.ok as number, path: "minimind", verbose: (environment.DEBUG ?? "") !== "" };

  const program = new CommanderProgram("minimind")
    .description(`minimind ${version} — ${description}`)
    .usage("<command> [options]")
    .version(version, "-v, --version", "print the version")
    .option("--verbose", "print stack traces and extra detail on errors")
    .helpOption("-h, --help", "show help")
    .showSuggestionAfterError(true)
    .exitOverride();
  program.addHelpText("after", exitCodesHelp);
  configureOutput(program, "minimind", io, errorColors.red);

  const context: CommandContext = {
    io,
    colors: createColors(colorsWanted(io.stdoutIsTTY, environment)),
    verbose: state.verbose,
  };
  for (const command of commands) addCommand(program, command, "minimind", context, state, io, errorColors.red);

  try {
    await program.parseAsync([...argv], { from: "user" });
    return state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed its message (or the help / version) through configureOutput.
      return successCodes.has(error.code) ? ExitCode.ok : ExitCode.usage;
    }
    if (isBrokenPipe(error)) return ExitCode.ok;
    if (error instanceof UsageError) {
      io.stderr(`${errorColors.red(`${state.path}:`)} ${error.message}\nRun "${state.path} --help" for usage.\n`);
      return ExitCode.usage;
    }
    if (error instanceof InterruptedError) {
      io.stderr(`${state.path}: ${error.message}\n`);
      return ExitCode.interrupted;
    }
    io.stderr(`${errorColors.red(`${state.path}:`)} ${describeError(error, state.verbose || context.verbose)}\n`);
    return ExitCode.failure;
  }
}

/** One line (the message), or the stack and causes when verbose. */
export function describeError(error: unknown, verbose: boolean): string {
  if (!(error instanceof Error)) return String(error);
  if (!verbose) return error.message;
  const parts = [error.stack ?? `${error.name}: ${error.message}`];
  let cause = error.cause;
  while (cause !== undefined) {
    parts.push(`Caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return parts.join("\n");
}

function configureOutput(command: CommanderCommand, path: string, io: CommandIo, red: (text: string) => string) {
  command.configureOutput({
    writeOut: (text) => io.stdout(text),
    writeErr: (text) => io.stderr(text),
    outputError: (text, write) => write(`${red(`${path}:`)} ${text.replace(/^error: /, "")}`),
  });
  command.showHelpAfterError(`Run "${path} --help" for usage.`);
}

function addCommand(
  parent: CommanderCommand,
  definition: CliCommand,
  parentPath: string,
  context: CommandContext,
  state: { exitCode: number; path: string; verbose: boolean },
  io: CommandIo,
  red: (text: string) => string,
): void {
  const path = `${parentPath} ${definition.name}`;
  const command = parent.command(definition.name).summary(definition.summary).description(definition.summary);
  configureOutput(command, path, io, red);
  definition.configure?.(command);
  for (const subcommand of definition.subcommands ?? []) addCommand(command, subcommand, path, context, state, io, red);
  const run = definition.run;
  if (run === undefined) return;
  command.action(async (...parameters: unknown[]) => {
    const self = parameters.at(-1) as CommanderCommand;
    const options = self.optsWithGlobals();
    state.path = path;
    if (options.verbose === true) {
      state.verbose = true;
      context.verbose = true;
    }
    state.exitCode = (await run({ arguments: [...self.processedArgs], options }, context)) ?? ExitCode.ok;
  });
}
