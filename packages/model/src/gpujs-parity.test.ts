import { getBackend, setBackend } from "@minimind/tensor";
import { type GpuJsBackend, type GpuJsConstructor, type GpuJsMode, unavailableReason } from "@minimind/tensor/gpujs";
import { registerBackend } from "@minimind/tensor/internals";
import * as gpujsModule from "gpu.js";
import { afterAll, describe, expect, it } from "vitest";
import {
  configOf,
  describeErrors,
  expectWithinTolerances,
  fixtureCases,
  measureDecode,
  measureParity,
  readTensors,
} from "./__fixtures__/parity.js";
import { MiniMindForCausalLM } from "./model.js";

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

    it("forward and every parameter gradient", () => {
      const backend = setBackend("gpujs", { mode }) as GpuJsBackend;
      const model = MiniMindForCausalLM.fromStateDict(config, readTensors(name, "model.safetensors"), name);
      try {
        const errors = measureParity(model, io);
        console.log(`[gpujs ${backend.mode} ${name}] ${describeErrors(errors)}`);
        expectWithinTolerances(errors);
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
          const error = measureDecode(model, io, config.vocab_size);
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
      expectWithinTolerances(
        measureParity(model, io, () => {
          reading = true;
        }),
      );
    } finally {
      model.dispose();
      setBackend("cpu");
    }
  });
});
