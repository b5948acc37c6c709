/**
 * Attention on a non-CPU backend: the gpu.js backend (its `cpu` mode, which runs gpu.js's kernels and needs no
 * GPU) takes the composed path with the strategy's dense mask; outputs and gradients must match the CPU
 * kernel on the same inputs.
 */
import { backward, scope, setBackend, type Tensor, tensor } from "@minimind/tensor";
import "@minimind/tensor/gpujs";
import { afterEach, describe, expect, it } from "vitest";
import { maxRelativeError, randomArray } from "./__fixtures__/random-arrays.js";
import { and, causal, packedDocuments, slidingWindow, softcap } from "./masks.js";
import { scaledDotProductAttention } from "./scaled-dot-product.js";
import type { AttentionStrategy } from "./strategy.js";

const shape = { batch: 2, queryHeads: 4, keyValueHeads: 2, length: 12, headDim: 8 };

function run(backend: string, strategy: AttentionStrategy) {
  if (backend === "cpu") setBackend("cpu");
  else setBackend("gpujs", { mode: "cpu" });
  const { batch, queryHeads, keyValueHeads, length, headDim } = shape;
  const make = (heads: number, seed: number) =>
    tensor(randomArray(batch * heads * length * headDim, seed), {
      shape: [batch, heads, length, headDim],
    }).requireGrad();
  const q = make(queryHeads, 1);
  const k = make(keyValueHeads, 2);
  const v = make(keyValueHeads, 3);
  const weights = tensor(randomArray(batch * queryHeads * length * headDim, 4), {
    shape: [batch, queryHeads, length, headDim],
  });
  const output = scope(() => {
    const out = scaledDotProductAttention(q, k, v, { strategy });
    backward(out.mul(weights).sum());
    return out.detach();
  });
  const read = (t: Tensor | null): Float32Array => {
    if (t === null) throw new Error(`[${backend}] an input received no gradient`);
    return Float32Array.from(t.dataSync() as Float32Array);
  };
  return { output: read(output), q: read(q.grad), k: read(k.grad), v: read(v.grad) };
}

afterEach(() => {
  setBackend("cpu");
});

describe("scaledDotProductAttention on the gpujs backend", () => {
  const ids = Array.from({ length: shape.length }, (_, i) => (i < 5 ? 0 : i < 9 ? 1 : 2));
  const strategies: [string, AttentionStrategy][] = [
    ["causal", causal],
    ["packedDocuments(causal)", and(causal, packedDocuments([ids, ids]))],
    ["sliding window", and(causal, slidingWindow(4))],
  ];
  it.each(strategies)("%s: outputs and gradients match the CPU kernel", (_, strategy) => {
    const reference = run("cpu", strategy);
    const candidate = run("gpujs", strategy);
    for (const name of ["output", "q", "k", "v"] as const) {
      expect(reference[name].length).toBeGreaterThan(0);
      expect(candidate[name].length).toBe(reference[name].length);
      expect(maxRelativeError(candidate[name], reference[name]), name).toBeLessThan(1e-5);
    }
  });

  it("says that score mods need the tiled kernel on host memory", () => {
    setBackend("gpujs", { mode: "cpu" });
    const x = tensor(new Float32Array(2 * 4 * 8), { shape: [1, 2, 4, 8] });
    expect(() => scaledDotProductAttention(x, x, x, { scoreMod: softcap(20) })).toThrow(
      /score mods run in the tiled kernel only, on backends with host memory; the tensors live on backend "gpujs"/,
    );
  });
});
