/**
 * PyTorch parity on a backend with the primitive kernels only: the CPU backend restricted by `primitivesOnly`,
 * so every fused op (softmax, rmsnorm, rope, cross-entropy and their backwards) runs its composition from
 * primitives and attention takes its composed path (the backend exposes no host memory). Same fixtures, same
 * tolerances as model.test.ts: what a new backend gets from its primitive kernels alone.
 */
import { getBackend, setBackend } from "@minimind/tensor";
import { fusedKernelNames, primitivesOnly, registerBackend } from "@minimind/tensor/internals";
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

const backend = primitivesOnly(getBackend("cpu"), "cpu-primitives");
registerBackend("cpu-primitives", () => backend);

afterAll(() => {
  setBackend("cpu");
});

it("the backend has no fused kernel and no host memory", () => {
  expect(fusedKernelNames.filter((name) => name in backend.kernels)).toEqual([]);
  expect(backend.hostView).toBeUndefined();
});

describe.each(fixtureCases)("parity with PyTorch on the primitive kernels: %s", (name) => {
  const config = configOf(name);
  const io = readTensors(name, "io.safetensors");

  it("forward: logits, loss and aux loss; backward: every parameter gradient", () => {
    setBackend("cpu-primitives");
    const model = MiniMindForCausalLM.fromStateDict(config, readTensors(name, "model.safetensors"), name);
    try {
      const errors = measureParity(model, io);
      console.log(`[cpu-primitives ${name}] ${describeErrors(errors)}`);
      expectWithinTolerances(errors);
    } finally {
      model.dispose();
      setBackend("cpu");
    }
  });

  if (io.has("decode_logits"))
    it("KV-cached decode: prefill then one token at a time", () => {
      setBackend("cpu-primitives");
      const model = MiniMindForCausalLM.fromStateDict(config, readTensors(name, "model.safetensors"), name).eval();
      try {
        const error = measureDecode(model, io, config.vocab_size);
        console.log(`[cpu-primitives ${name}] decode max |Δlogits| ${error.toExponential(2)}`);
        expect(error).toBeLessThanOrEqual(1e-4);
      } finally {
        model.dispose();
        setBackend("cpu");
      }
    });
});
