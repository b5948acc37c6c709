/**
 * The kernel thread pool under stress (`threads-stress.ts`, in a child process so that a hang fails the test
 * instead of blocking the runner): thousands of small job lists of random shapes while workers join between
 * and during dispatches, next to a low-priority busy process that makes the OS preempt our threads at
 * arbitrary points. Every result must match the single-thread run bit for bit, every worker must join, and
 * the run must end. The lost-count race this guards against hung the main thread in `Atomics.wait` on a
 * loaded machine. Also: Node's main thread may block, so it gets workers.
 */
import { spawn, spawnSync } from "node:child_process";
import { setPriority } from "node:os";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { threadCanBlock } from "./threads.js";

const STRESS_SCRIPT = fileURLToPath(new URL("./threads-stress.ts", import.meta.url));
const PACKAGE_DIRECTORY = fileURLToPath(new URL("../../../..", import.meta.url));
/** Generous: the child starts tsx on a loaded machine. Reaching it means the pool hung. */
const HANG_MS = 100_000;

describe("thread pool", () => {
  it("Node's main thread may block in Atomics.wait", () => {
    expect(threadCanBlock()).toBe(true);
  });

  it("runs many small dispatches while workers join, under a CPU hog, without a lost wake-up or a wrong result", () => {
    const hog = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
    try {
      if (hog.pid !== undefined) setPriority(hog.pid, 19);
      const child = spawnSync(process.execPath, ["--import", "tsx", STRESS_SCRIPT, "20261202", "3000"], {
        cwd: PACKAGE_DIRECTORY,
        encoding: "utf8",
        timeout: HANG_MS,
      });
      expect(child.signal, `the stress run did not end within ${HANG_MS / 1000} s (hung): ${child.stderr}`).toBeNull();
      expect(child.status, child.stderr).toBe(0);
      const report = JSON.parse(child.stdout) as { dispatches: number; workers: number; mismatches: string[] };
      expect(report.mismatches).toEqual([]);
      expect(report.workers).toBe(3);
      expect(report.dispatches).toBeGreaterThanOrEqual(300);
    } finally {
      hog.kill();
    }
  }, 120_000);
});
