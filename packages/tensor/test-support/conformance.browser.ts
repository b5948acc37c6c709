/**
 * Browser entry for the conformance suite: runs every case of src/conformance/cases.ts on the gpu.js backend
 * in the requested mode (webgl2 / webgpu) against the CPU backend in the same page, counts kernel coverage,
 * and checks that a MiniMind-shaped block's forward + backward reads nothing back. Bundled and driven by
 * src/gpujs-browser.test.ts through @minimind/chromium-harness (tools/chromium).
 */
import { miniMindBlock } from "../src/conformance/cases.js";
import { type CaseResult, countKernelCalls, kernelNames, runConformance } from "../src/conformance/run.js";
import type { GpuJsBackend, GpuJsMode } from "../src/gpujs.js";
import "../src/gpujs.js";
// From the package entry (not backend.js directly): the entry registers the CPU backend.
import { scope, setBackend } from "../src/index.js";
import { registerBackend } from "../src/internals.js";

export interface BrowserConformance {
  requested: string;
  actual: string;
  results: CaseResult[];
  uncoveredKernels: string[];
  /** gpu.js kernel implementations that ran, by mode (must be exactly [requested]). */
  kernelModes: string[];
  block: { launches: number; readbacksDuringPass: number; readbacksAfterData: number; loss: number };
}

export async function main(args: { mode: GpuJsMode }): Promise<BrowserConformance> {
  const backend = setBackend("gpujs", { mode: args.mode }) as GpuJsBackend;
  setBackend("cpu");
  const name = `gpujs-${args.mode}`;
  registerBackend(name, () => backend);
  const coverage = countKernelCalls(backend);
  const results = await runConformance(name);
  coverage.restore();
  const kernelModes = backend.kernelClasses();

  setBackend(name);
  const readbacks = backend.readbacks;
  const launches = backend.launches;
  const outputs = scope(() => {
    const result = miniMindBlock();
    return { loss: result.loss.detach(), logits: result.logits.detach() };
  });
  const readbacksDuringPass = backend.readbacks - readbacks;
  const loss = (await outputs.loss.data())[0];
  const readbacksAfterData = backend.readbacks - readbacks;
  outputs.loss.dispose();
  outputs.logits.dispose();
  setBackend("cpu");
  await backend.destroy();
  return {
    requested: args.mode,
    actual: backend.mode,
    results,
    kernelModes,
    uncoveredKernels: kernelNames.filter((kernel) => !coverage.counts.get(kernel)),
    block: { launches: backend.launches - launches, readbacksDuringPass, readbacksAfterData, loss },
  };
}
