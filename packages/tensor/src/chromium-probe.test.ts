import { fileURLToPath } from "node:url";
import { chromiumSkipReason, runInChromium } from "@minimind/chromium-harness";
import { describe, expect, it } from "vitest";
import type { GpujsProbeResult } from "../test-support/gpujs-probe.browser.js";

// Proves, in real headless Chromium, which gpu.js modes compute correctly on this machine (software rendering via
// SwiftShader when there is no GPU). Skips, visibly, where no Chromium is installed.
const skipReason = chromiumSkipReason("chromium-probe");

const entry = fileURLToPath(new URL("../test-support/gpujs-probe.browser.ts", import.meta.url));

describe("gpu.js in headless Chromium", () => {
  for (const mode of ["webgl2", "webgpu"]) {
    it.skipIf(Boolean(skipReason))(
      `${mode} kernel matches the JS reference${skipReason ? ` (skipped: ${skipReason})` : ""}`,
      async () => {
        const run = await runInChromium({ entry, args: { mode }, timeoutMs: 90_000 });
        const result = run.result as GpujsProbeResult;
        expect(result.requested).toBe(mode);
        expect(result.actual).toBe(mode);
        expect(result.maxError).toBeLessThan(1e-4);
        if (mode === "webgpu") expect(result.webgpuAvailable).toBe(true);
      },
    );
  }
});
