import { describe, expect, it } from "vitest";
import { commands, run } from "./index.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) },
    out: () => out.join(""),
    err: () => err.join(""),
  };
}

describe("minimind", () => {
  it("--help lists every command and exits 0", async () => {
    const c = capture();
    expect(await run(["--help"], c.io)).toBe(0);
    expect(c.out()).toContain("Usage: minimind <command>");
    for (const command of commands) expect(c.out()).toContain(command.name);
    expect(c.err()).toBe("");
  });

  it("no arguments prints help and exits 1", async () => {
    const c = capture();
    expect(await run([], c.io)).toBe(1);
    expect(c.out()).toContain("Commands:");
  });

  it("--version prints the package version", async () => {
    const c = capture();
    expect(await run(["--version"], c.io)).toBe(0);
    expect(c.out()).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
  });

  it("an unknown command names itself and exits 2", async () => {
    const c = capture();
    expect(await run(["trian"], c.io)).toBe(2);
    expect(c.err()).toContain('unknown command "trian"');
  });

  it("an unknown option exits 2", async () => {
    const c = capture();
    expect(await run(["--frobnicate"], c.io)).toBe(2);
    expect(c.err()).toContain('"--frobnicate"');
  });

  it("<command> --help prints that command's usage", async () => {
    const c = capture();
    expect(await run(["version", "--help"], c.io)).toBe(0);
    expect(c.out()).toContain("Usage: minimind version");
  });
});
