#!/usr/bin/env node
/**
 * Runs the tensor, attention and model test suites again on Node 24 (the current LTS; the main test command
 * runs on the Node that runs it, 20 in CI), so engine differences — V8's typed-array and Atomics paths,
 * relaxed SIMD — show up in CI. Node 24 comes from the npm registry's `node` package (`npx -y node@…`), pinned
 * below. Run after `pnpm test` (the packages must be built). Left out on Node 24, to keep CI time small and
 * because they test no engine behaviour the Node 20 pass does not: the gpu.js and headless-Chromium suites
 * (the `gl` addon is built for the Node that installed it, and Chromium is its own engine) and the
 * fuzz suites (input validation; thousands of cases, the longest tests).
 * Usage: node scripts/test-node24.mjs [package…]   (default: tensor attention model)
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const NODE_PACKAGE = "node@24.21.0";
const PACKAGES = ["tensor", "attention", "model"];
const EXCLUDED = [
  "**/gpujs*.test.ts",
  "**/*browser*.test.ts",
  "**/chromium*.test.ts",
  "**/conformance.test.ts",
  "**/*fuzz*.test.ts",
];

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");

const probe = spawnSync("npx", ["-y", NODE_PACKAGE, "-p", "process.execPath + ' ' + process.version"], {
  encoding: "utf8",
  cwd: root,
});
if (probe.status !== 0) {
  console.error(
    `test-node24: could not fetch ${NODE_PACKAGE} with npx: ${probe.stderr.trim() || probe.error?.message}`,
  );
  process.exit(1);
}
const [node24, version] = probe.stdout.trim().split(" ");
console.log(`test-node24: ${version} (${node24})`);

const names = process.argv.slice(2);
let failed = 0;
for (const name of names.length > 0 ? names : PACKAGES) {
  const started = Date.now();
  const run = spawnSync(node24, [vitest, "run", ...EXCLUDED.flatMap((glob) => ["--exclude", glob])], {
    cwd: join(root, "packages", name),
    stdio: "inherit",
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const status = run.status ?? 1;
  console.log(
    `test-node24: @minimind/${name} on ${version}: ${status === 0 ? "passed" : `FAILED (${status})`} in ${seconds} s`,
  );
  if (status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
