/**
 * The conformance suite inside headless Chromium on gpu.js's browser modes: `webgl2` (ANGLE) and `webgpu`
 * (Dawn), each against the CPU backend in the same page, with the per-case tolerances of
 * src/conformance/cases.ts; plus a MiniMind-shaped block's forward and backward with no readback until the
 * loss is asked for. Skips visibly where Chromium is missing, except under CI, which installs it.
 */
import { fileURLToPath } from "node:url";
import { chromiumSkipReason, runInChromium } from "@minimind/chromium-harness";
import { describe, expect, it } from "vitest";
import type { BrowserConformance } from "../test-support/conformance.browser.js";
import { conformanceCases } from "./conformance/cases.js";
import { type CaseResult, describeFailure } from "./conformance/run.js";

const skipReason = chromiumSkipReason("gpujs browser conformance");

const entry = fileURLToPath(new URL("../test-support/conformance.browser.ts", import.meta.url));

describe.each(["webgl2", "webgpu"])("gpujs mode %s in Chromium", (mode) => {
  let run: Promise<BrowserConformance> | null = null;
  const result = () => {
    run ??= runInChromium({ entry, args: { mode }, timeoutMs: 240_000 }).then(
      (outcome) => outcome.result as BrowserConformance,
    );
    return run;
  };

  it.skipIf(Boolean(skipReason))(
    `runs the mode it asked for${skipReason ? ` (skipped: ${skipReason})` : ""}`,
    async () => {
      const outcome = await result();
      expect(outcome.requested).toBe(mode);
      expect(outcome.actual).toBe(mode);
      // No kernel silently degraded to gpu.js's CPU implementation.
      expect(outcome.kernelModes).toEqual([mode]);
    },
  );

  it.skipIf(Boolean(skipReason)).each(conformanceCases.map((testCase) => testCase.name))("%s", async (name) => {
    const outcome = await result();
    const found = outcome.results.find((candidate: CaseResult) => candidate.name === name);
    expect(found, `case ${name} did not run`).toBeDefined();
    if (found && !found.ok) throw new Error(describeFailure(found));
  });

  it.skipIf(Boolean(skipReason))("exercised every kernel", async () => {
    expect((await result()).uncoveredKernels).toEqual([]);
  });

  it.skipIf(Boolean(skipReason))(
    "a block's forward and backward read nothing back until the loss is read",
    async () => {
      const { block } = await result();
      expect(block.launches).toBeGreaterThan(50);
      expect(block.readbacksDuringPass).toBe(0);
      expect(block.readbacksAfterData).toBe(1);
      expect(Number.isFinite(block.loss)).toBe(true);
    },
  );
});
