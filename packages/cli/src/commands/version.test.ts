import { describe, expect, it } from "vitest";
import { runCli } from "../testing/built-cli.js";

describe("minimind version", () => {
  it("prints the version, and JSON with --json", () => {
    const plain = runCli(["version"]);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
    const json = runCli(["version", "--json"]);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ name: "@minimind/cli", version: plain.stdout.trim() });
  });

  it("rejects an unknown flag and an extra argument with exit 2", () => {
    const flag = runCli(["version", "--frob"]);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain("minimind version: unknown option '--frob'");
    const extra = runCli(["version", "now"]);
    expect(extra.status).toBe(2);
    expect(extra.stderr).toContain("too many arguments");
  });
});
