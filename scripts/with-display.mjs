#!/usr/bin/env node
/**
 * Run a command with an X display, so tests of gpu.js's headless-gl mode can create a GL context:
 * on Linux without $DISPLAY, through `xvfb-run -a` when it is installed; otherwise the command runs as is
 * (and the headless-gl tests skip with the reason — CI installs xvfb, so there they run).
 * Usage: node scripts/with-display.mjs <command> [args…]
 */
import { spawnSync } from "node:child_process";

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error("usage: with-display.mjs <command> [args…]");
  process.exit(2);
}
const hasXvfb = process.platform === "linux" && spawnSync("sh", ["-c", "command -v xvfb-run"]).status === 0;
const wrap = process.platform === "linux" && !process.env.DISPLAY && hasXvfb;
const result = wrap
  ? spawnSync("xvfb-run", ["-a", "-s", "-screen 0 1280x1024x24", command, ...args], { stdio: "inherit" })
  : spawnSync(command, args, { stdio: "inherit", shell: process.platform === "win32" });
if (result.error) {
  console.error(`with-display: could not run ${command}: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
