import { describe, expect, it } from "vitest";
import { commands, run } from "./index.js";
import { runCli } from "./testing/built-cli.js";

describe("minimind (built executable)", () => {
  it("--help lists every command and the exit codes, exit 0", () => {
    const result = runCli(["--help"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("Usage: minimind <command> [options]");
    for (const command of commands) expect(result.stdout).toContain(command.name);
    expect(result.stdout).toContain("2    usage error");
    expect(result.stderr).toBe("");
  });

  it("every command (and subcommand) has --help", () => {
    const paths = commands.flatMap((command) => [
      [command.name],
      ...(command.subcommands ?? []).map((sub) => [command.name, sub.name]),
    ]);
    for (const path of paths) {
      const result = runCli([...path, "--help"]);
      expect(result.status, path.join(" ")).toBe(0);
      expect(result.stdout).toContain(`Usage: minimind ${path.join(" ")}`);
    }
  });

  it("no arguments: help on stderr, exit 2", () => {
    const result = runCli([]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("Commands:");
  });

  it("an unknown command or option names itself, exit 2", () => {
    const command = runCli(["tokenzie"]);
    expect(command.status).toBe(2);
    expect(command.stderr).toContain("unknown command 'tokenzie'");
    expect(command.stderr).toContain("(Did you mean tokenize?)");
    const option = runCli(["--frobnicate"]);
    expect(option.status).toBe(2);
    expect(option.stderr).toContain("unknown option '--frobnicate'");
  });

  it("--version and -v print the version", () => {
    for (const flag of ["--version", "-v"]) {
      const result = runCli([flag]);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
    }
  });
});

describe("run (in-process)", () => {
  it("takes partial io and returns the exit code", async () => {
    const out: string[] = [];
    expect(await run(["version"], { stdout: (text) => out.push(text) })).toBe(0);
    expect(out.join("")).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
  });
});
