/**
 * Test helper: runs the built `minimind` executable (dist/bin.js) as a subprocess, the way users and scripts
 * meet it, and returns its exit code and output. vitest.global-setup.ts builds dist first when it is older
 * than the sources. Colors are off (NO_COLOR) unless a test sets the environment itself. Test-only: not
 * exported from the package.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const builtBin = fileURLToPath(new URL("../../dist/bin.js", import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Text for standard input (default: empty, not a terminal). */
  input?: string;
  environment?: Record<string, string | undefined>;
  cwd?: string;
}

export function runCli(args: readonly string[], options: RunOptions = {}): CliResult {
  const environment: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", ...options.environment };
  delete environment.DEBUG;
  if (options.environment?.DEBUG !== undefined) environment.DEBUG = options.environment.DEBUG;
  const result = spawnSync(process.execPath, [builtBin, ...args], {
    input: options.input ?? "",
    encoding: "utf8",
    env: environment as NodeJS.ProcessEnv,
    cwd: options.cwd,
    timeout: 120_000,
  });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A fresh temporary folder, removed by the returned function. */
export function temporaryFolder(prefix = "minimind-cli-"): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
