/**
 * Sub-fp32 inference weights for a MiniMind model: every projection (`Linear`: attention q/k/v/o, the
 * feed-forward and expert projections, the lm_head) moves to a `QuantizedWeight` of @minimind/tensor — int8
 * with one scale per block of 32 along each row (llama.cpp's Q8_0 scheme) or bf16 — and its float32 weight is
 * released; embeddings, norm weights and the MoE router stay float32 (a tied lm_head gets its own quantized
 * copy of the embedding). The router is kept, as llama.cpp keeps its MoE router tensors unquantized: its output
 * is a discrete choice (top-k experts), and its [experts, hidden] weight is a negligible share of the bytes. The model is then inference-only: nothing in it records a gradient.
 * Not here: the kernels and the codec (@minimind/tensor's `quantizeWeight`, `matmulQuantized`).
 */
import { type QuantizedFormat, quantizeWeight, type Tensor } from "@minimind/tensor";
import type { Linear } from "./layers.js";

/** The weight formats `fromPretrained({ weights })` and `quantize` accept. */
export type WeightFormat = "float32" | QuantizedFormat;
export const weightFormats: readonly WeightFormat[] = ["float32", "bf16", "int8"];

/**
 * Quantizes every projection in `linears` (by weight name) to `format`, releasing the float32 weights that
 * only a projection used (they leave `parameters`); the remaining parameters stop requiring gradients.
 */
export function quantizeProjections(
  linears: ReadonlyMap<string, Linear>,
  parameters: Map<string, Tensor>,
  format: QuantizedFormat,
): void {
  const released = new Set<Tensor>();
  for (const [name, projection] of linears) {
    if (projection.quantized !== undefined || isRouter(name)) continue;
    // Part of a fused group (its rows already live in the group's weight): only its float32 weight goes.
    if (projection.fused === undefined) projection.quantized = quantizeWeight(projection.weight, format);
    // The tied lm_head shares the embedding table, which the embedding lookup still reads in float32.
    if (parameters.get(name) === projection.weight) {
      parameters.delete(name);
      released.add(projection.weight);
    }
  }
  for (const weight of released) weight.dispose();
  for (const weight of parameters.values()) weight.requireGrad(false);
}

/** The MoE router (`model.layers.{i}.mlp.gate.weight`), kept in float32. */
function isRouter(name: string): boolean {
  return name.endsWith(".mlp.gate.weight");
}

/** The error for an operation that needs float32 weights on a quantized model. */
export function inferenceOnly(format: WeightFormat, what: string): Error {
  return new Error(
    `[MiniMindForCausalLM] ${what}: this model's projections are ${format} weights, which are inference-only (no gradients, no float32 state dict); load the model with weights: "float32" to train or save it`,
  );
}
