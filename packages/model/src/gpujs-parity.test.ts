import { add, getBackend, noGrad, registerBackend, scope, setBackend, type Tensor } from "@minimind/tensor";
import { type GpuJsBackend, type GpuJsConstructor, type GpuJsMode, unavailableReason } from "@minimind/tensor/gpujs";
import * as gpujsModule from "gpu.js";
import { afterAll, describe, expect, it } from "vitest";
import {
  configOf,
  copy,
  fixtureCases,
  floats,
  maxAbsoluteDifference,
  maxMagnitude,
  readTensors,
  rows,
} from "./__fixtures__/parity.js";
import { type LayerKeyValues, MiniMindForCausalLM } from "./model.js";
import type { SafetensorsTensor } from "./safetensors.js";

const cases = fixtureCases;
const GPU = (gpujsModule as unknown as { GPU: GpuJsConstructor }).GPU;

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

    if (io.has("decode_logits"))
      it("KV-cached decode", () => {
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

describe("MoE routing without synchronous readback (the path gpujs takes on WebGPU)", () => {
  it("moe-tiny: forward, loss, aux loss and every gradient match PyTorch", () => {
    // The CPU backend's kernels under another name, declaring that it cannot read back synchronously — and
    // refusing to while the forward and backward run, so a readback in the model fails the test.
    let reading = false;
    const cpu = getBackend("cpu");
    registerBackend("cpu-without-sync-readback", () =>
      Object.assign(Object.create(cpu), {
        name: "cpu-without-sync-readback",
        synchronousReadback: false,
        readSync(buffer: Parameters<typeof cpu.readSync>[0]) {
          if (!reading) throw new Error("synchronous readback inside the forward/backward pass");
          return cpu.readSync(buffer);
        },
      }),
    );
    setBackend("cpu-without-sync-readback");
    const name = "moe-tiny";
    const io = readTensors(name, "io.safetensors");
    const model = MiniMindForCausalLM.fromStateDict(configOf(name), readTensors(name, "model.safetensors"), name);
    try {
      const outputs = scope(() => {
        const { logits, loss, auxLoss } = model.forward({
          inputIds: rows(io.get("input_ids")),
          labels: rows(io.get("labels")),
        });
        add(loss as Tensor, auxLoss).backward();
        reading = true;
        return { logits: copy(logits), loss: (loss as Tensor).item(), auxLoss: auxLoss.item() };
      });
      expect(maxAbsoluteDifference(outputs.logits, floats(io.get("logits")))).toBeLessThanOrEqual(1e-4);
      expect(Math.abs(outputs.loss - (floats(io.get("loss"))[0] as number))).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(outputs.auxLoss - (floats(io.get("aux_loss"))[0] as number))).toBeLessThanOrEqual(1e-5);
      expect(outputs.auxLoss).toBeGreaterThan(0);
      for (const [parameterName, weight] of model.namedParameters()) {
        const expected = floats(io.get(`grad.${parameterName}`));
        const actual = weight.grad ? copy(weight.grad) : new Float32Array(expected.length);
        const error = maxAbsoluteDifference(actual, expected) / Math.max(maxMagnitude(expected), 1e-30);
        expect(error, `gradient of ${parameterName}`).toBeLessThanOrEqual(1e-4);
      }
    } finally {
      model.dispose();
      setBackend("cpu");
    }
  });
});
