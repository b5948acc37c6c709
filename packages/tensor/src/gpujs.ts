/**
 * `@minimind/tensor/gpujs`: the gpu.js backend. Importing this entry registers it under the name "gpujs";
 * select it with `setBackend("gpujs", { mode })`, where mode is one of gpu.js's: "gpu" (auto), "webgl2",
 * "webgl", "webgpu", "headlessgl", "webasm", "cpu". `gpu.js` is an optional peer dependency of
 * @minimind/tensor: install it next to the package to use this entry.
 *
 * ```ts
 * import { setBackend, tensor, matmul } from "@minimind/tensor";
 * import { GpuJsBackend } from "@minimind/tensor/gpujs";
 * const backend = setBackend("gpujs", { mode: "webgl2" }) as GpuJsBackend;
 * console.log(backend.mode); // the mode gpu.js actually runs
 * ```
 */
import * as gpujsModule from "gpu.js";
import { registerBackend } from "./backend.js";
import { GpuJsBackend, type GpuJsBackendOptions, type GpuJsConstructor } from "./backends/gpujs/gpujs-backend.js";

export { GpuJsBuffer, MAX_ELEMENTS } from "./backends/gpujs/device.js";
export {
  GpuJsBackend,
  type GpuJsBackendOptions,
  type GpuJsConstructor,
  type GpuJsMode,
  gpuJsModes,
  unavailableReason,
} from "./backends/gpujs/gpujs-backend.js";

function gpuConstructor(): GpuJsConstructor {
  const namespace = gpujsModule as unknown as { GPU?: GpuJsConstructor; default?: { GPU?: GpuJsConstructor } };
  const GPU = namespace.GPU ?? namespace.default?.GPU;
  if (!GPU) throw new Error('[gpujs] the "gpu.js" module does not export GPU; install gpu.js 2.24 or later');
  return GPU;
}

/** Create a gpu.js backend instance without registering it (tests, several modes side by side). */
export function createGpuJsBackend(options: GpuJsBackendOptions = {}): GpuJsBackend {
  return new GpuJsBackend(gpuConstructor(), options);
}

registerBackend("gpujs", (options?: GpuJsBackendOptions) => createGpuJsBackend(options));

export type NodeWebGPUStatus = { ok: true; adapter: string } | { ok: false; reason: string };

/**
 * Node only: give gpu.js's `webgpu` mode a `navigator.gpu` from Dawn's Node bindings (the `webgpu` package that
 * gpu.js depends on), then ask for an adapter. Resolves `{ ok: false, reason }` — never throws — where the
 * addon does not load (e.g. an older libstdc++) or no adapter answers. Browsers have `navigator.gpu` already.
 * `from`: a directory whose node_modules holds `webgpu` or gpu.js (default: the current directory).
 */
export async function enableNodeWebGPU(from?: string): Promise<NodeWebGPUStatus> {
  const scope = globalThis as { navigator?: { gpu?: GpuLike }; process?: NodeProcessLike };
  if (!scope.navigator?.gpu) {
    const getBuiltinModule = scope.process?.getBuiltinModule;
    if (!getBuiltinModule) return { ok: false, reason: "not running in Node ≥ 20.16 (process.getBuiltinModule)" };
    try {
      const { createRequire } = getBuiltinModule("node:module") as {
        createRequire(path: string): { (id: string): unknown; resolve(id: string): string };
      };
      const local = createRequire(`${from ?? scope.process?.cwd?.() ?? "."}/package.json`);
      // "webgpu" where it is installed directly (e.g. a bundled app), else the copy gpu.js depends on.
      let webgpu: { create(options: string[]): GpuLike; globals: object };
      try {
        webgpu = local("webgpu") as typeof webgpu;
      } catch (error) {
        if ((error as { code?: string }).code !== "MODULE_NOT_FOUND") throw error;
        webgpu = createRequire(local.resolve("gpu.js"))("webgpu") as typeof webgpu;
      }
      Object.assign(globalThis, webgpu.globals);
      const gpu = webgpu.create([]);
      if (scope.navigator) Object.assign(scope.navigator, { gpu });
      else Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true, writable: true });
    } catch (error) {
      return {
        ok: false,
        reason: `Dawn's Node addon (the "webgpu" package) did not load: ${(error as Error).message}`,
      };
    }
  }
  const gpu = scope.navigator?.gpu;
  const adapter = gpu ? await gpu.requestAdapter() : null;
  if (!adapter) return { ok: false, reason: "navigator.gpu.requestAdapter() found no adapter" };
  const info = adapter.info ?? {};
  return {
    ok: true,
    adapter: [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" "),
  };
}

interface GpuLike {
  requestAdapter(): Promise<{ info?: Record<string, string> } | null>;
}

interface NodeProcessLike {
  getBuiltinModule?: (id: string) => unknown;
  cwd?: () => string;
}
