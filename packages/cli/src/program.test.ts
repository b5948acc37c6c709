import { describe, expect, it } from "vitest";
import { type CliCommand, UsageError } from "./command.js";
import { integer } from "./options.js";
import { runProgram } from "./program.js";
import { InterruptedError } from "./terminal/interrupt.js";
import { captureIo } from "./testing/capture-io.js";

/** A command that fails in the way its first argument says. */
const probe: CliCommand = {
  name: "probe",
  summary: "fail on purpose",
  configure: (command) => command.argument("<how>").option("--count <n>", "a number", integer({ min: 1 })),
  async run({ arguments: [how], options }, { io }) {
    if (how === "library") throw new Error("[model] config.json: hidden_size must be positive");
    if (how === "usage") throw new UsageError("--count needs --data");
    if (how === "pipe") throw Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
    if (how === "interrupt") throw new InterruptedError("interrupted; checkpoint written to run/step-10");
    io.stdout(`ok ${String(options.count ?? "-")}\n`);
    return how === "three" ? 3 : undefined;
  },
};

const nested: CliCommand = { name: "outer", summary: "has a subcommand", subcommands: [probe] };

describe("runProgram", () => {
  it("returns the command's exit code (0 when it returns nothing)", async () => {
    const c = captureIo();
    expect(await runProgram([probe], ["probe", "fine", "--count", "7"], c.io)).toBe(0);
    expect(c.out()).toBe("ok 7\n");
    expect(await runProgram([probe], ["probe", "three"], captureIo().io)).toBe(3);
  });

  it("prints a library error as one line naming the command, exit 1", async () => {
    const c = captureIo();
    expect(await runProgram([probe], ["probe", "library"], c.io)).toBe(1);
    expect(c.err()).toBe("minimind probe: [model] config.json: hidden_size must be positive\n");
  });

  it("adds the stack with --verbose or DEBUG", async () => {
    for (const [argv, environment] of [
      [["probe", "library", "--verbose"], {}],
      [["--verbose", "probe", "library"], {}],
      [["probe", "library"], { DEBUG: "1" }],
    ] as const) {
      const c = captureIo(environment);
      expect(await runProgram([probe], argv, c.io)).toBe(1);
      expect(c.err()).toMatch(/^minimind probe: Error: \[model\] config.json.*\n\s+at /);
    }
  });

  it("maps usage errors, malformed values and unknown flags to exit 2 with the reason", async () => {
    const usage = captureIo();
    expect(await runProgram([probe], ["probe", "usage"], usage.io)).toBe(2);
    expect(usage.err()).toBe('minimind probe: --count needs --data\nRun "minimind probe --help" for usage.\n');

    const value = captureIo();
    expect(await runProgram([probe], ["probe", "x", "--count", "1e3"], value.io)).toBe(2);
    expect(value.err()).toContain("minimind probe: option '--count <n>' argument '1e3' is invalid.");
    expect(value.err()).toContain("is not a decimal integer");

    const flag = captureIo();
    expect(await runProgram([nested], ["outer", "probe", "x", "--frob"], flag.io)).toBe(2);
    expect(flag.err()).toContain("minimind outer probe: unknown option '--frob'");

    const missing = captureIo();
    expect(await runProgram([probe], ["probe"], missing.io)).toBe(2);
    expect(missing.err()).toContain("missing required argument 'how'");

    const extra = captureIo();
    expect(await runProgram([probe], ["probe", "a", "b"], extra.io)).toBe(2);
  });

  it("ends quietly with 0 on a closed stdout, and with 130 when interrupted", async () => {
    const pipe = captureIo();
    expect(await runProgram([probe], ["probe", "pipe"], pipe.io)).toBe(0);
    expect(pipe.err()).toBe("");
    const interrupted = captureIo();
    expect(await runProgram([probe], ["probe", "interrupt"], interrupted.io)).toBe(130);
    expect(interrupted.err()).toContain("checkpoint written to run/step-10");
  });

  it("prints help and version with exit 0, and help on stderr with exit 2 when no command is given", async () => {
    const help = captureIo();
    expect(await runProgram([nested], ["outer", "--help"], help.io)).toBe(0);
    expect(help.out()).toContain("Usage: minimind outer");
    expect(help.out()).toContain("probe");

    const version = captureIo();
    expect(await runProgram([probe], ["--version"], version.io)).toBe(0);
    expect(version.out()).toMatch(/^\d+\.\d+\.\d+\S*\n$/);

    const none = captureIo();
    expect(await runProgram([probe], [], none.io)).toBe(2);
    expect(none.err()).toContain("Usage: minimind <command> [options]");
    expect(none.out()).toBe("");
  });

  it("colors the error prefix only on a TTY without NO_COLOR", async () => {
    const tty = captureIo();
    tty.io.stderrIsTTY = true;
    await runProgram([probe], ["probe", "library"], tty.io);
    expect(tty.err()).toContain("\u001b[31mminimind probe:\u001b[39m");
    const noColor = captureIo({ NO_COLOR: "1" });
    noColor.io.stderrIsTTY = true;
    await runProgram([probe], ["probe", "library"], noColor.io);
    expect(noColor.err()).not.toContain("\u001b[");
  });
});
