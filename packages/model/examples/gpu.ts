import { createMiniMindConfig, MiniMindForCausalLM } from "@minimind/model";
import { noGrad, scope, setBackend } from "@minimind/tensor";
import "@minimind/tensor/gpujs"; // importing the entry registers the "gpujs" backend
import type { GpuJsBackend } from "@minimind/tensor/gpujs";

// "headlessgl": Node under xvfb-run; "webgl2" / "webgpu" in a browser
const backend = setBackend("gpujs", { mode: "headlessgl" }) as GpuJsBackend;

// Created (or loaded with fromPretrained) after setBackend, the model's weights live on the GPU.
const config = createMiniMindConfig({ hidden_size: 64, num_hidden_layers: 2 });
const model = new MiniMindForCausalLM(config, { seed: 0 }).eval();
const logits = scope(() =>
  noGrad(() => model.forward({ inputIds: [[1, 320, 275, 2401, 5]], logitsToKeep: 1 }).logits.dataSync()),
);
const best = Math.max(...logits);
console.log(backend.mode, backend.kernelClasses()); // headlessgl [ 'headlessgl' ]: no fallback to gpu.js's CPU
console.log("next token", logits.indexOf(best), "logit", best);
model.dispose();
