/**
 * The gpu.js backend against the CPU oracle, on every gpu.js mode Node can run: `cpu` and `webasm` always,
 * `headlessgl` when the optional `gl` addon loaded and a display exists (the package's test script provides
 * one through xvfb-run when it is installed; with CI set, an unavailable mode fails instead of skipping). Browser modes (webgl2, webgpu) run in Chromium:
 * `gpujs-browser.test.ts`.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, registerBackend, setBackend } from "./backend.js";
import { conformanceCases } from "./conformance/cases.js";
import { countKernelCalls, describeFailure, kernelNames, runConformance } from "./conformance/run.js";
import { enableNodeWebGPU, type GpuJsBackend, type GpuJsMode, unavailableReason } from "./gpujs.js";
import "./index.js";
import * as gpujsModule from "gpu.js";

const GPU = (gpujsModule as unknown as { GPU: ConstructorParameters<typeof Object>[0] }).GPU;
// In CI the system pieces are installed (.ci/run), so a mode that cannot run there is a failure, not a skip.
const required = process.env.CI ? ["cpu", "webasm", "headlessgl"] : ["cpu", "webasm"];
// WebGPU in Node through Dawn's addon is an extra, not one of the required modes: it runs where the addon loads
// and finds an adapter (e.g. bench/device.sh's GPU machine), and is left out — with the reason printed — where
// it cannot (this project's CI image: Debian 12's libstdc++ is older than the addon needs).
const nodeWebGPU = await enableNodeWebGPU();
if (!nodeWebGPU.ok) console.warn(`[conformance] WebGPU in Node not tested here: ${nodeWebGPU.reason}`);
const modes: GpuJsMode[] = ["cpu", "webasm", "headlessgl", ...(nodeWebGPU.ok ? (["webgpu"] as const) : [])];

function availability(mode: GpuJsMode): string | null {
  try {
    const reason = unavailableReason(GPU, mode);
    if (reason) return reason;
    setBackend("gpujs", { mode });
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    setBackend("cpu");
  }
}

describe.each(modes)("gpujs mode %s", (mode) => {
  const reason = availability(mode);
  if (reason) {
    console.warn(`[conformance] gpujs mode "${mode}" skipped: ${reason}`);
    if (required.includes(mode)) {
      it(`is available (required here)`, () => {
        throw new Error(`gpujs mode "${mode}" is required here but unavailable: ${reason}`);
      });
    } else {
      it.skip(`skipped: ${reason}`, () => {});
    }
    return;
  }
  const backend = setBackend("gpujs", { mode }) as GpuJsBackend;
  setBackend("cpu");
  // Each mode under its own registry name, so the cases run on this instance whatever was created later.
  const registered = `gpujs-${mode}`;
  registerBackend(registered, () => backend);
  const coverage = countKernelCalls(backend);
  afterAll(() => coverage.restore());

  if (mode === "webgpu" && nodeWebGPU.ok) console.log(`[conformance] Node WebGPU adapter: ${nodeWebGPU.adapter}`);

  it("reports the mode it runs", () => {
    expect(backend.mode).toBe(mode);
    expect(backend.requestedMode).toBe(mode);
  });

  it.each(conformanceCases.map((testCase) => testCase.name))("%s", async (name) => {
    const [result] = await runConformance(registered, name);
    expect(result, `no case named ${name}`).toBeDefined();
    if (!result.ok) throw new Error(describeFailure(result));
    expect(result.worstError).toBeLessThanOrEqual(result.tolerance);
  });

  it("every kernel ran on the requested mode (none degraded to gpu.js's CPU fallback)", () => {
    expect(backend.kernelClasses()).toEqual([mode]);
  });

  it("the cases exercised every kernel of the backend interface", () => {
    const missing = kernelNames.filter((name) => !coverage.counts.get(name));
    expect(missing).toEqual([]);
  });
});

afterAll(() => {
  if (getBackend().name !== "cpu") setBackend("cpu");
});
