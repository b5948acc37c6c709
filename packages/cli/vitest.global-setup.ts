/**
 * Builds dist/ before the tests when it is missing or older than any source file, because the command tests
 * run the built executable as a subprocess. Under `pnpm test` turbo builds first (packages/cli/turbo.json),
 * so this finds dist fresh and does nothing. Several test runs in one checkout take turns through a lock
 * folder (a stale lock, older than ten minutes, is taken over), and tsup overwrites dist in place rather than
 * deleting it first, so a run that is already using dist is not pulled out from under.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL(".", import.meta.url));
const lock = join(root, "node_modules", ".minimind-cli-build-lock");

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (!entry.name.includes(".test.")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function isFresh(): boolean {
  const bin = join(root, "dist", "bin.js");
  const inputs = Math.max(
    newestSource(join(root, "src")),
    newestSource(join(root, "data")),
    statSync(join(root, "package.json")).mtimeMs,
    statSync(join(root, "tsup.config.ts")).mtimeMs,
  );
  return existsSync(bin) && statSync(bin).mtimeMs >= inputs;
}

function takeLock(): void {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      return;
    } catch {
      const heldSince = statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - heldSince > 10 * 60_000) rmSync(lock, { force: true, recursive: true });
      if (Date.now() > deadline) throw new Error(`vitest.global-setup: ${lock} held for over ten minutes`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
}

export default function setup(): void {
  if (isFresh()) return;
  takeLock();
  try {
    if (isFresh()) return; // another run built it while this one waited
    const tsup = join(dirname(createRequire(import.meta.url).resolve("tsup")), "cli-default.js");
    execFileSync(process.execPath, [tsup], {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
    });
  } finally {
    rmSync(lock, { force: true, recursive: true });
  }
}
