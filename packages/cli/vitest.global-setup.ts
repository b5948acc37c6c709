/**
 * Builds dist/ before the tests when it is missing or older than any source file, because the command tests
 * run the built executable as a subprocess. Under `pnpm test` turbo builds first (packages/cli/turbo.json),
 * so this finds dist fresh and does nothing.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL(".", import.meta.url));

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (!entry.name.includes(".test.")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const bin = join(root, "dist", "bin.js");
  const inputs = Math.max(
    newestSource(join(root, "src")),
    newestSource(join(root, "data")),
    statSync(join(root, "package.json")).mtimeMs,
    statSync(join(root, "tsup.config.ts")).mtimeMs,
  );
  if (existsSync(bin) && statSync(bin).mtimeMs >= inputs) return;
  execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
}
