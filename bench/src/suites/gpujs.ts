/**
 * gpujs: @minimind/tensor's gpu.js backend per mode — a float32 matmul (GFLOP/s) and the forward pass of one
 * MiniMind-shaped decoder block (ms) — against @minimind/tensor's CPU backend doing the same work in the
 * same run. Modes: `cpu` and `webasm` always, `headlessgl` where the gl addon loads under a display
 * (`xvfb-run`), `webgpu` where gpu.js finds an adapter. Every timed run ends with a readback (`await data()`),
 * so GPU modes are timed to completion, readback included. On this project's CI machine the "GPU" modes are
 * software renderers; `bench/device.sh` runs the same suite on a machine with an NVIDIA GPU.
 *
 * Then the browser modes `webgl2` and `webgpu`, in headless Chromium through @minimind/chromium-harness (skipped,
 * with the reason logged, where Chromium or the harness is missing): `../browser/gpujs.browser.ts` measures the CPU
 * backend and the gpu.js mode inside the same page, with the same code (`gpujs-measure.ts`), so the ratio compares
 * like with like.
 */
import { fileURLToPath } from "node:url";
import { setBackend } from "@minimind/tensor";
import {
  enableNodeWebGPU,
  type GpuJsBackend,
  type GpuJsConstructor,
  type GpuJsMode,
  unavailableReason,
} from "@minimind/tensor/gpujs";
import * as gpujsModule from "gpu.js";
import type { BrowserGpujsArgs, BrowserGpujsResult } from "../browser/gpujs.browser.js";
import type { BenchResult, Suite } from "../suite.js";
import { BLOCK, type Measured, matmulGigaflop, measure, RUNS } from "./gpujs-measure.js";

const PEER = "@minimind/tensor cpu backend";
const BROWSER_PEER = "@minimind/tensor cpu backend (same page)";
const BROWSER_MODES = ["webgl2", "webgpu"] as const;
/** Bundle, Chromium launch, kernel compilation and both backends' runs, per mode, on a loaded 2-core machine. */
const BROWSER_TIMEOUT_MS = 300_000;

/** The suite's two results for one mode: matmul throughput and block forward time, against the peer's. */
function results(name: string, matmulSize: number, ours: Measured, reference: Measured, peer: string): BenchResult[] {
  const gigaflop = matmulGigaflop(matmulSize);
  return [
    {
      suite: "gpujs",
      case: `${name} matmul ${matmulSize}³`,
      metric: "throughput",
      unit: "GFLOP/s",
      value: gigaflop / (ours.matmul / 1000),
      peer,
      peerValue: gigaflop / (reference.matmul / 1000),
      ratio: reference.matmul / ours.matmul,
    },
    {
      suite: "gpujs",
      case: `${name} block forward`,
      metric: "forward",
      unit: "ms",
      value: ours.block,
      peer,
      peerValue: reference.block,
      ratio: reference.block / ours.block,
    },
  ];
}

/** webgl2 and webgpu in headless Chromium, each page measuring the CPU backend and the mode side by side. */
async function* browserModes(matmulSize: number, log: (line: string) => void): AsyncGenerator<BenchResult> {
  let harness: typeof import("@minimind/chromium-harness");
  try {
    // Loaded on demand: bench/device.sh bundles this suite without it (no Chromium on that machine).
    harness = await import("@minimind/chromium-harness");
  } catch (error) {
    log(`gpujs: browser modes skipped: @minimind/chromium-harness did not load: ${(error as Error).message}`);
    return;
  }
  const availability = harness.chromiumAvailable();
  if (!availability.ok) {
    log(`gpujs: browser modes skipped: ${availability.reason}`);
    return;
  }
  const entry = fileURLToPath(new URL("../browser/gpujs.browser.ts", import.meta.url));
  for (const mode of BROWSER_MODES) {
    let outcome: BrowserGpujsResult;
    try {
      const args: BrowserGpujsArgs = { mode, matmulSize, runs: RUNS };
      const run = await harness.runInChromium({ entry, args, timeoutMs: BROWSER_TIMEOUT_MS });
      outcome = run.result as BrowserGpujsResult;
    } catch (error) {
      log(`gpujs: mode ${mode} (chromium) skipped: ${(error as Error).message.split("\n")[0]}`);
      continue;
    }
    const { cpu, gpujs, page } = outcome;
    log(
      `gpujs: chromium page: crossOriginIsolated ${page.crossOriginIsolated}, SharedArrayBuffer ${page.sharedArrayBuffer}, hardwareConcurrency ${page.hardwareConcurrency}, cpu backend matmul threads ${page.matmulThreads} (${cpu.matmul.toFixed(2)} ms; 1 thread ${page.cpuOneThreadMatmulMs.toFixed(2)} ms), block ${cpu.block.toFixed(2)} ms`,
    );
    log(
      `gpujs: mode ${outcome.actual} (chromium, ${outcome.device}; kernels ${outcome.kernelClasses.join(", ")}): matmul ${gpujs.matmul.toFixed(2)} ms, block ${gpujs.block.toFixed(2)} ms, ${outcome.launches} launches, ${outcome.readbacks} readbacks`,
    );
    if (outcome.actual !== mode || outcome.kernelClasses.some((kernel) => kernel !== mode)) {
      log(`gpujs: mode ${mode} (chromium) ran as ${outcome.actual} with kernels ${outcome.kernelClasses.join(", ")}`);
    }
    yield* results(`${outcome.actual} (chromium)`, matmulSize, gpujs, cpu, BROWSER_PEER);
  }
}

function glRenderer(backend: GpuJsBackend): string {
  interface GlContext {
    getParameter(name: number): unknown;
    RENDERER: number;
    VERSION: number;
  }
  const context = (backend as unknown as { gpu?: { context?: GlContext } }).gpu?.context;
  if (!context?.getParameter) return "";
  try {
    return ` (GL renderer: ${String(context.getParameter(context.RENDERER))}, ${String(context.getParameter(context.VERSION))})`;
  } catch {
    return "";
  }
}

export const gpujsSuite: Suite = {
  name: "gpujs",
  description: `gpu.js backend per mode (Node, then ${BROWSER_MODES.join(" and ")} in headless Chromium): matmul GFLOP/s and a MiniMind block forward (hidden ${BLOCK.hidden}, T ${BLOCK.steps}, vocab ${BLOCK.vocab}) vs ${PEER} (in the same page for Chromium), median of ${RUNS}`,
  async *run({ log }) {
    const GPU = (gpujsModule as unknown as { GPU: GpuJsConstructor }).GPU;
    const modes: GpuJsMode[] = ["cpu", "webasm", "headlessgl", "webgpu"];
    const webgpu = await enableNodeWebGPU(process.env.GPUJS_MODULES_DIR);
    log(
      webgpu.ok ? `gpujs: Node WebGPU adapter: ${webgpu.adapter}` : `gpujs: Node WebGPU unavailable: ${webgpu.reason}`,
    );
    setBackend("cpu");
    const matmulSize = Number(process.env.GPUJS_BENCH_MATMUL ?? 256);
    const reference = await measure(matmulSize, RUNS);
    log(`gpujs: cpu backend matmul ${reference.matmul.toFixed(2)} ms, block ${reference.block.toFixed(2)} ms`);
    for (const mode of modes) {
      const reason = unavailableReason(GPU, mode);
      if (reason) {
        log(`gpujs: mode ${mode} skipped: ${reason}`);
        continue;
      }
      let backend: GpuJsBackend;
      try {
        backend = setBackend("gpujs", { mode }) as GpuJsBackend;
      } catch (error) {
        log(`gpujs: mode ${mode} skipped: ${(error as Error).message}`);
        continue;
      }
      // Compile every kernel outside the timing (gpu.js compiles on first use).
      const runs = mode === "cpu" ? 3 : RUNS;
      const ours = await measure(matmulSize, runs);
      log(
        `gpujs: mode ${backend.mode}${glRenderer(backend)}: matmul ${ours.matmul.toFixed(2)} ms, block ${ours.block.toFixed(2)} ms, ${backend.launches} launches, ${backend.readbacks} readbacks`,
      );
      yield* results(backend.mode, matmulSize, ours, reference, PEER);
      setBackend("cpu");
      await backend.destroy();
    }
    setBackend("cpu");
    yield* browserModes(matmulSize, log);
  },
};
