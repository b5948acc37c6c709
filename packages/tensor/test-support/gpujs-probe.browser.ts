/**
 * Browser entry for runInChromium: proves which gpu.js modes actually run here by multiplying two 16×16 matrices
 * and comparing against a plain JS reference.
 */
import { GPU } from "gpu.js";

const N = 16;

export interface AdapterInfoSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

export interface GpujsProbeResult {
  requested: string;
  actual: string;
  maxError: number;
  /** Whether the kernel call itself returned a Promise (webgpu always does; GL backends return a Texture). */
  kernelReturnedPromise: boolean;
  /** Whether `toArray()` on the pipeline result returned a Promise. */
  toArrayReturnedPromise: boolean;
  webgpuAvailable?: boolean;
  adapter?: AdapterInfoSummary | null;
  webgl2Renderer?: string | null;
  timings: { buildAndRunMs: number; secondRunMs: number };
}

interface ToArrayable {
  toArray(): unknown;
  delete?: () => void;
}

// Minimal structural view of navigator.gpu: the repo's DOM lib has no WebGPU types.
interface GpuLike {
  requestAdapter(): Promise<{ info?: Partial<AdapterInfoSummary> } | null>;
}

async function adapterInfo(): Promise<AdapterInfoSummary | null> {
  const gpu = (navigator as Navigator & { gpu?: GpuLike }).gpu;
  if (gpu === undefined) return null;
  const adapter = await gpu.requestAdapter();
  if (adapter === null) return null;
  const info = adapter.info ?? {};
  return {
    vendor: info.vendor ?? "",
    architecture: info.architecture ?? "",
    device: info.device ?? "",
    description: info.description ?? "",
  };
}

function webgl2Renderer(): string | null {
  const gl = document.createElement("canvas").getContext("webgl2");
  if (gl === null) return null;
  const debug = gl.getExtension("WEBGL_debug_renderer_info");
  return String(gl.getParameter(debug === null ? gl.RENDERER : debug.UNMASKED_RENDERER_WEBGL));
}

function isToArrayable(value: unknown): value is ToArrayable {
  return typeof value === "object" && value !== null && typeof (value as ToArrayable).toArray === "function";
}

function flatten(value: unknown): number[] {
  if (typeof value === "number") return [value];
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as Float32Array);
  if (Array.isArray(value)) return value.flatMap(flatten);
  throw new Error(`unexpected kernel output element: ${Object.prototype.toString.call(value)}`);
}

export interface GpujsProbeArgs {
  mode: string;
  /**
   * Default true: each call gets its own output texture/buffer, which the probe deletes after reading. With
   * `immutable: false` a GL kernel reuses one output texture, so deleting a result breaks the kernel's next call
   * (toArray() then reads null pixels); the probe then leaves results alone.
   */
  immutable?: boolean;
}

export async function main(args: GpujsProbeArgs): Promise<GpujsProbeResult> {
  const immutable = args.immutable ?? true;
  const result: Partial<GpujsProbeResult> = { requested: args.mode };
  if (args.mode === "webgpu") {
    result.webgpuAvailable = await GPU.isWebGPUAvailable();
    result.adapter = await adapterInfo();
  }
  if (args.mode === "webgl2" || args.mode === "webgl") result.webgl2Renderer = webgl2Renderer();

  const a: number[][] = [];
  const b: number[][] = [];
  for (let i = 0; i < N; i++) {
    a.push(Array.from({ length: N }, (_, j) => Math.sin(i * N + j) * 0.5));
    b.push(Array.from({ length: N }, (_, j) => Math.cos(i * 7 + j * 3) * 0.5));
  }
  const reference: number[] = [];
  for (let y = 0; y < N; y++) {
    for (let x = 0; x < N; x++) {
      let sum = 0;
      for (let k = 0; k < N; k++) sum += a[y][k] * b[k][x];
      reference.push(sum);
    }
  }

  // `mode` is typed as a union of names; the probe deliberately passes whatever it was asked to try.
  const gpu = new GPU({ mode: args.mode as "webgl2" });
  try {
    const kernel = gpu.createKernel(
      function (this: { thread: { x: number; y: number }; constants: { n: number } }, m: number[][], n: number[][]) {
        let sum = 0;
        for (let k = 0; k < this.constants.n; k++) sum += m[this.thread.y][k] * n[k][this.thread.x];
        return sum;
      },
      { output: [N, N], precision: "single", pipeline: true, immutable, constants: { n: N } },
    );

    const runOnce = async (): Promise<{ values: number[]; kernelPromise: boolean; toArrayPromise: boolean }> => {
      const raw: unknown = kernel(a, b);
      const out: unknown = await raw;
      if (!isToArrayable(out)) throw new Error(`pipeline kernel returned ${Object.prototype.toString.call(out)}`);
      const arrayRaw = out.toArray();
      const values = flatten(await arrayRaw);
      if (immutable) out.delete?.();
      return { values, kernelPromise: raw instanceof Promise, toArrayPromise: arrayRaw instanceof Promise };
    };

    let start = performance.now();
    const first = await runOnce();
    const buildAndRunMs = performance.now() - start;
    start = performance.now();
    await runOnce();
    const secondRunMs = performance.now() - start;

    if (first.values.length !== reference.length) {
      throw new Error(`expected ${reference.length} values, got ${first.values.length}`);
    }
    let maxError = 0;
    for (let i = 0; i < reference.length; i++) {
      const error = Math.abs(first.values[i] - reference[i]);
      maxError = Number.isNaN(error) ? Number.POSITIVE_INFINITY : Math.max(maxError, error);
    }
    return {
      ...result,
      requested: args.mode,
      actual: gpu.mode,
      maxError,
      kernelReturnedPromise: first.kernelPromise,
      toArrayReturnedPromise: first.toArrayPromise,
      timings: { buildAndRunMs, secondRunMs },
    };
  } finally {
    await gpu.destroy();
  }
}
