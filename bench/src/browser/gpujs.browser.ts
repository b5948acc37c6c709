/**
 * Browser entry of the gpujs bench suite, run in headless Chromium by `../suites/gpujs.ts` through
 * @minimind/chromium-harness: measures @minimind/tensor's CPU backend and then its gpu.js backend in one browser
 * mode (`webgl2` or `webgpu`) inside the same page, with the same code as the Node modes (`gpujs-measure.ts`), so
 * the ratio compares like with like. Also reports what the page offers the CPU backend's matmul: whether it is
 * cross-origin isolated (SharedArrayBuffer, hence worker threads) and how a one-thread matmul compares.
 */
import { getMatmulThreads, matmul, randn, setBackend, setMatmulThreads } from "@minimind/tensor";
import type { GpuJsBackend, GpuJsMode } from "@minimind/tensor/gpujs";
import "@minimind/tensor/gpujs";
import { type Measured, measure, timed } from "../suites/gpujs-measure.js";

/** The browser globals read here (bench's tsconfig has no DOM lib: the rest of bench runs in Node). */
interface PageGlobals {
  crossOriginIsolated?: boolean;
  navigator: {
    userAgent: string;
    hardwareConcurrency: number;
    gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> };
  };
}
const page = globalThis as unknown as PageGlobals;

export interface BrowserGpujsArgs {
  mode: GpuJsMode;
  matmulSize: number;
  runs: number;
}

export interface BrowserGpujsResult {
  requested: string;
  /** The mode gpu.js actually ran (`backend.mode`). */
  actual: string;
  /** gpu.js kernel implementations that ran (`backend.kernelClasses()`); [actual] when nothing fell back. */
  kernelClasses: string[];
  /** The device gpu.js drew on: WebGL renderer and version, or the WebGPU adapter's vendor/architecture. */
  device: string;
  cpu: Measured;
  gpujs: Measured;
  launches: number;
  readbacks: number;
  page: {
    userAgent: string;
    crossOriginIsolated: boolean;
    sharedArrayBuffer: boolean;
    hardwareConcurrency: number;
    /** getMatmulThreads(): the CPU backend's matmul thread count, 1 where its heap cannot be shared. */
    matmulThreads: number;
    /** The CPU backend's matmul with setMatmulThreads(1), to compare with `cpu.matmul` (default threads). */
    cpuOneThreadMatmulMs: number;
  };
}

/** Lets the page's event loop turn, so Web Workers the CPU backend spawned can start. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 250));

async function webgpuAdapter(): Promise<string> {
  const adapter = await page.navigator.gpu?.requestAdapter();
  if (!adapter) return "no WebGPU adapter";
  const info = adapter.info ?? {};
  return `WebGPU adapter: ${["vendor", "architecture", "device", "description"].map((key) => info[key] || "-").join(" / ")}`;
}

function glRenderer(backend: GpuJsBackend): string {
  interface GlContext {
    getParameter(name: number): unknown;
    getExtension(name: string): { UNMASKED_RENDERER_WEBGL: number } | null;
    RENDERER: number;
    VERSION: number;
  }
  const context = (backend as unknown as { gpu?: { context?: GlContext } }).gpu?.context;
  if (!context?.getParameter) return "no GL context";
  // The plain RENDERER string is masked in browsers ("WebKit WebGL"); the debug extension names the real one.
  const debug = context.getExtension("WEBGL_debug_renderer_info");
  const renderer = context.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : context.RENDERER);
  return `GL renderer: ${String(renderer)}, ${String(context.getParameter(context.VERSION))}`;
}

export async function main(args: BrowserGpujsArgs): Promise<BrowserGpujsResult> {
  setBackend("cpu");
  // Start the CPU backend's matmul workers (where the page allows them) and give them time to come up: a page's
  // main thread cannot block waiting for them, so a matmul before they are ready runs on fewer threads.
  const a = randn([args.matmulSize, args.matmulSize], { seed: 11 });
  const b = randn([args.matmulSize, args.matmulSize], { seed: 12 });
  await matmul(a, b).data();
  await settle();
  const cpu = await measure(args.matmulSize, args.runs);
  const threads = getMatmulThreads();
  setMatmulThreads(1);
  const cpuOneThreadMatmulMs = await timed(() => matmul(a, b), args.runs);
  setMatmulThreads(threads);
  a.dispose();
  b.dispose();

  const backend = setBackend("gpujs", { mode: args.mode }) as GpuJsBackend;
  try {
    const gpujs = await measure(args.matmulSize, args.runs);
    return {
      requested: args.mode,
      actual: backend.mode,
      kernelClasses: backend.kernelClasses(),
      device: backend.mode === "webgpu" ? await webgpuAdapter() : glRenderer(backend),
      cpu,
      gpujs,
      launches: backend.launches,
      readbacks: backend.readbacks,
      page: {
        userAgent: page.navigator.userAgent,
        crossOriginIsolated: page.crossOriginIsolated === true,
        sharedArrayBuffer: typeof SharedArrayBuffer !== "undefined",
        hardwareConcurrency: page.navigator.hardwareConcurrency,
        matmulThreads: threads,
        cpuOneThreadMatmulMs,
      },
    };
  } finally {
    setBackend("cpu");
    await backend.destroy();
  }
}
