/**
 * What every entry point needs before any tensor exists: the CPU backend registered under "cpu" (the default)
 * and the op methods attached to Tensor. Each entry (index.ts, internals.ts) calls `setUp()` at its top level —
 * a call in the entry itself, so no bundler drops it as a side-effect-free import — and only the first call
 * acts (a second registration would replace the CPU backend's instance).
 */
import { registerBackend } from "./backend.js";
import { CpuBackend } from "./backends/cpu/cpu-backend.js";
import { tensorMethods } from "./ops/methods.js";
import { installTensorOps } from "./tensor.js";

let done = false;

export function setUp(): void {
  if (done) return;
  done = true;
  registerBackend("cpu", () => new CpuBackend());
  installTensorOps(tensorMethods);
}
