/**
 * Test support for the PyTorch parity tests (model.test.ts on the CPU backend, gpujs-parity.test.ts on the
 * gpu.js backend): reading the reference fixtures in ../shared/fixtures/model and comparing arrays.
 */
import { readdirSync, readFileSync } from "node:fs";
import { add, noGrad, scope, type Tensor } from "@minimind/tensor";
import { expect } from "vitest";
import { parseMiniMindConfig } from "../config.js";
import type { MiniMindForCausalLM } from "../model.js";
import { readSafetensors, type SafetensorsTensor } from "../safetensors.js";

export const fixtures = new URL("../../../../../shared/fixtures/model/", import.meta.url);
export const fixtureCases = readdirSync(fixtures).sort();

export function readTensors(name: string, file: string): Map<string, SafetensorsTensor> {
  return readSafetensors(readFileSync(new URL(`${name}/${file}`, fixtures)), { source: `${name}/${file}` }).tensors;
}

export function configOf(name: string) {
  return parseMiniMindConfig(
    JSON.parse(readFileSync(new URL(`${name}/config.json`, fixtures), "utf8")),
    `${name}/config.json`,
  );
}

export function rows(entry: SafetensorsTensor | undefined): number[][] {
  if (entry === undefined || entry.dtype !== "I32") throw new Error("expected an I32 tensor");
  const [batch, length] = entry.shape as [number, number];
  return Array.from({ length: batch }, (_, row) => Array.from(entry.data.subarray(row * length, (row + 1) * length)));
}

export function floats(entry: SafetensorsTensor | undefined): Float32Array {
  if (entry === undefined || entry.dtype !== "F32") throw new Error("expected an F32 tensor");
  return entry.data;
}

export function maxAbsoluteDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let index = 0; index < expected.length; index++) {
    const difference = Math.abs((actual[index] as number) - (expected[index] as number));
    if (!(difference <= worst)) worst = Number.isNaN(difference) ? Number.POSITIVE_INFINITY : difference;
  }
  return worst;
}

export function maxMagnitude(values: ArrayLike<number>): number {
  let largest = 0;
  for (let index = 0; index < values.length; index++) largest = Math.max(largest, Math.abs(values[index] as number));
  return largest;
}

export function copy(tensor: Tensor): Float32Array {
  return Float32Array.from(tensor.dataSync() as Float32Array);
}

export interface ParityErrors {
  logits: number;
  loss: number;
  auxLoss: number;
  /** Per parameter: max |Δgrad| / max |expected grad|. */
  gradients: Map<string, number>;
  worstGradient: { name: string; error: number };
}

/**
 * Forward with the fixture's inputs (and mask), backward of loss + auxLoss, errors against the fixture.
 * `afterBackward` runs before anything is read back (a test that forbids readback inside the pass lifts it there).
 */
export function measureParity(
  model: MiniMindForCausalLM,
  io: Map<string, SafetensorsTensor>,
  afterBackward?: () => void,
): ParityErrors {
  const outputs = scope(() => {
    const { logits, loss, auxLoss } = model.forward({
      inputIds: rows(io.get("input_ids")),
      labels: rows(io.get("labels")),
      ...(io.has("attention_mask") ? { attentionMask: rows(io.get("attention_mask")) } : {}),
    });
    add(loss as Tensor, auxLoss).backward();
    afterBackward?.();
    return { logits: copy(logits), loss: (loss as Tensor).item(), auxLoss: auxLoss.item() };
  });
  const gradients = new Map<string, number>();
  let worstGradient = { name: "", error: 0 };
  for (const [parameterName, weight] of model.namedParameters()) {
    const expected = floats(io.get(`grad.${parameterName}`));
    const actual = weight.grad ? copy(weight.grad) : new Float32Array(expected.length);
    const error = maxAbsoluteDifference(actual, expected) / Math.max(maxMagnitude(expected), 1e-30);
    gradients.set(parameterName, error);
    if (!(error < worstGradient.error)) worstGradient = { name: parameterName, error };
  }
  return {
    logits: maxAbsoluteDifference(outputs.logits, floats(io.get("logits"))),
    loss: Math.abs(outputs.loss - (floats(io.get("loss"))[0] as number)),
    auxLoss: Math.abs(outputs.auxLoss - (floats(io.get("aux_loss"))[0] as number)),
    gradients,
    worstGradient,
  };
}

/** The fixture's KV-cached decode (prefill `decode_prefill` tokens, then one at a time): max |Δlogits|. */
export function measureDecode(model: MiniMindForCausalLM, io: Map<string, SafetensorsTensor>, vocab: number): number {
  const inputIds = rows(io.get("input_ids"));
  const prefillLength = (io.get("decode_prefill") as SafetensorsTensor<"I32">).data[0] as number;
  const [batch, length] = [inputIds.length, (inputIds[0] as number[]).length];
  const decoded = new Float32Array(batch * length * vocab);
  const cache = model.createCache();
  noGrad(() => {
    for (let start = 0; start < length; ) {
      const count = start === 0 ? prefillLength : 1;
      const chunk = inputIds.map((row) => row.slice(start, start + count));
      const result = scope(() => ({ logits: copy(model.forward({ inputIds: chunk, cache }).logits) }));
      for (let row = 0; row < batch; row++) {
        decoded.set(
          result.logits.subarray(row * count * vocab, (row + 1) * count * vocab),
          (row * length + start) * vocab,
        );
      }
      start += count;
    }
  });
  cache.dispose();
  return maxAbsoluteDifference(decoded, floats(io.get("decode_logits")));
}

/** The tolerances of issue 7, for CPU and gpujs alike: logits/decode 1e-4, losses 1e-5, gradients 1e-4 relative. */
export function expectWithinTolerances(errors: ParityErrors): void {
  for (const [parameterName, error] of errors.gradients) {
    expect(error, `gradient of ${parameterName}`).toBeLessThanOrEqual(1e-4);
  }
  expect(errors.logits).toBeLessThanOrEqual(1e-4);
  expect(errors.loss).toBeLessThanOrEqual(1e-5);
  expect(errors.auxLoss).toBeLessThanOrEqual(1e-5);
}

export function describeErrors(errors: ParityErrors): string {
  return `max |Δlogits| ${errors.logits.toExponential(2)}, |Δloss| ${errors.loss.toExponential(2)}, |ΔauxLoss| ${errors.auxLoss.toExponential(2)}, worst relative gradient error ${errors.worstGradient.error.toExponential(2)} (${errors.worstGradient.name})`;
}
