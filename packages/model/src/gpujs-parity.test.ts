/**
 * The PyTorch parity cases of model.test.ts on the gpu.js backend (@minimind/tensor/gpujs), in every mode Node
 * runs here: `cpu` and `webasm` always, `headlessgl` under a display (the package's test script provides one
 * through xvfb-run; with CI set it is required). Tolerances are the CPU backend's: logits and decode logits
 * within 1e-4, loss and aux loss within 1e-5, every parameter gradient within 1e-4 of that tensor's max
 * magnitude. The browser modes (webgl2, webgpu) are covered by @minimind/tensor's conformance suite in Chromium,
 * whose MiniMind-shaped block runs the same ops.
 */
import { readdirSync, readFileSync } from "node:fs";
import { add, noGrad, scope, setBackend, type Tensor } from "@minimind/tensor";
import { type GpuJsBackend, type GpuJsConstructor, type GpuJsMode, unavailableReason } from "@minimind/tensor/gpujs";
import * as gpujsModule from "gpu.js";
import { afterAll, describe, expect, it } from "vitest";
import { parseMiniMindConfig } from "./config.js";
import { type LayerKeyValues, MiniMindForCausalLM } from "./model.js";
import { readSafetensors, type SafetensorsTensor } from "./safetensors.js";

const fixtures = new URL("../../../../shared/fixtures/model/", import.meta.url);
const cases = readdirSync(fixtures).sort();
const GPU = (gpujsModule as unknown as { GPU: GpuJsConstructor }).GPU;

function readTensors(name: string, file: string): Map<string, SafetensorsTensor> {
  return readSafetensors(readFileSync(new URL(`${name}/${file}`, fixtures)), { source: `${name}/${file}` }).tensors;
}

function configOf(name: string) {
  return parseMiniMindConfig(JSON.parse(readFileSync(new URL(`${name}/config.json`, fixtures), "utf8")), name);
}

function rows(entry: SafetensorsTensor | undefined): number[][] {
  if (entry === undefined || entry.dtype !== "I32") throw new Error("expected an I32 tensor");
  const [batch, length] = entry.shape as [number, number];
  return Array.from({ length: batch }, (_, row) => Array.from(entry.data.subarray(row * length, (row + 1) * length)));
}

function floats(entry: SafetensorsTensor | undefined): Float32Array {
  if (entry === undefined || entry.dtype !== "F32") throw new Error("expected an F32 tensor");
  return entry.data;
}

function maxAbsoluteDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let index = 0; index < expected.length; index++) {
    const difference = Math.abs((actual[index] as number) - (expected[index] as number));
    if (!(difference <= worst)) worst = Number.isNaN(difference) ? Number.POSITIVE_INFINITY : difference;
  }
  return worst;
}

function maxMagnitude(values: ArrayLike<number>): number {
  let largest = 0;
  for (let index = 0; index < values.length; index++) largest = Math.max(largest, Math.abs(values[index] as number));
  return largest;
}

const copy = (tensor: Tensor) => Float32Array.from(tensor.dataSync() as Float32Array);

function modes(): GpuJsMode[] {
  const available: GpuJsMode[] = ["cpu", "webasm"];
  const reason = unavailableReason(GPU, "headlessgl");
  if (!reason) available.push("headlessgl");
  else if (process.env.CI) throw new Error(`CI requires gpujs mode "headlessgl": ${reason}`);
  else console.warn(`[gpujs parity] headlessgl not tested here: ${reason}`);
  return available;
}

afterAll(() => {
  setBackend("cpu");
});

describe.each(modes())("gpujs mode %s", (mode) => {
  describe.each(cases)("parity with PyTorch: %s", (name) => {
    const config = configOf(name);
    const io = readTensors(name, "io.safetensors");
    const inputIds = rows(io.get("input_ids"));
    const labels = rows(io.get("labels"));
    const attentionMask = io.has("attention_mask") ? rows(io.get("attention_mask")) : undefined;

    it("forward and every parameter gradient", () => {
      const backend = setBackend("gpujs", { mode }) as GpuJsBackend;
      const model = MiniMindForCausalLM.fromStateDict(config, readTensors(name, "model.safetensors"), name);
      try {
        const outputs = scope(() => {
          const { logits, loss, auxLoss } = model.forward({
            inputIds,
            labels,
            ...(attentionMask ? { attentionMask } : {}),
          });
          add(loss as Tensor, auxLoss).backward();
          return { logits: copy(logits), loss: (loss as Tensor).item(), auxLoss: auxLoss.item() };
        });
        const logitsError = maxAbsoluteDifference(outputs.logits, floats(io.get("logits")));
        const lossError = Math.abs(outputs.loss - (floats(io.get("loss"))[0] as number));
        const auxError = Math.abs(outputs.auxLoss - (floats(io.get("aux_loss"))[0] as number));
        let worst = 0;
        for (const [parameterName, weight] of model.namedParameters()) {
          const expected = floats(io.get(`grad.${parameterName}`));
          const actual = weight.grad ? copy(weight.grad) : new Float32Array(expected.length);
          const error = maxAbsoluteDifference(actual, expected) / Math.max(maxMagnitude(expected), 1e-30);
          expect(error, `gradient of ${parameterName}`).toBeLessThanOrEqual(1e-4);
          worst = Math.max(worst, error);
        }
        console.log(
          `[gpujs ${backend.mode} ${name}] max |Δlogits| ${logitsError.toExponential(2)}, |Δloss| ${lossError.toExponential(2)}, |ΔauxLoss| ${auxError.toExponential(2)}, worst relative gradient error ${worst.toExponential(2)}`,
        );
        expect(logitsError).toBeLessThanOrEqual(1e-4);
        expect(lossError).toBeLessThanOrEqual(1e-5);
        expect(auxError).toBeLessThanOrEqual(1e-5);
        expect(backend.kernelClasses()).toEqual([mode]);
      } finally {
        model.dispose();
        setBackend("cpu");
      }
    });

    it.runIf(io.has("decode_logits"))("KV-cached decode", () => {
      setBackend("gpujs", { mode });
      const model = MiniMindForCausalLM.fromStateDict(config, readTensors(name, "model.safetensors"), name).eval();
      try {
        const prefillLength = (io.get("decode_prefill") as SafetensorsTensor<"I32">).data[0] as number;
        const [batch, length] = [inputIds.length, (inputIds[0] as number[]).length];
        const vocab = config.vocab_size;
        const decoded = new Float32Array(batch * length * vocab);
        let cache: LayerKeyValues[] | undefined;
        noGrad(() => {
          for (let start = 0; start < length; ) {
            const count = start === 0 ? prefillLength : 1;
            const chunk = inputIds.map((row) => row.slice(start, start + count));
            const result = scope(() => {
              const { logits, pastKeyValues } = model.forward({
                inputIds: chunk,
                pastKeyValues: cache,
                useCache: true,
              });
              return { logits: copy(logits), pastKeyValues: pastKeyValues as LayerKeyValues[] };
            });
            for (const layer of cache ?? []) {
              layer.key.dispose();
              layer.value.dispose();
            }
            cache = result.pastKeyValues;
            for (let row = 0; row < batch; row++) {
              decoded.set(
                result.logits.subarray(row * count * vocab, (row + 1) * count * vocab),
                (row * length + start) * vocab,
              );
            }
            start += count;
          }
        });
        for (const layer of cache ?? []) {
          layer.key.dispose();
          layer.value.dispose();
        }
        const error = maxAbsoluteDifference(decoded, floats(io.get("decode_logits")));
        console.log(`[gpujs ${mode} ${name}] decode max |Δlogits| ${error.toExponential(2)}`);
        expect(error).toBeLessThanOrEqual(1e-4);
      } finally {
        model.dispose();
        setBackend("cpu");
      }
    });
  });
});
