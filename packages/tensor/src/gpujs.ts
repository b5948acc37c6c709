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

export {
  GpuJsBackend,
  type GpuJsBackendOptions,
  GpuJsBuffer,
  type GpuJsConstructor,
  type GpuJsMode,
  gpuJsModes,
  MAX_ELEMENTS,
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
