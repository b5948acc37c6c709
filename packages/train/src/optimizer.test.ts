import { backward, keep, sum, tensor } from "@minimind/tensor";
import { describe, expect, it } from "vitest";
import { AdamW, clipGradientNorm } from "./optimizer.js";

/** PyTorch's AdamW for one parameter in float64, written out from its documentation. */
function referenceAdamW(
  parameter: number[],
  gradients: number[][],
  options: { learningRate: number; beta1: number; beta2: number; epsilon: number; weightDecay: number },
): number[] {
  const { learningRate, beta1, beta2, epsilon, weightDecay } = options;
  const value = [...parameter];
  const first = value.map(() => 0);
  const second = value.map(() => 0);
  gradients.forEach((gradient, index) => {
    const step = index + 1;
    for (let element = 0; element < value.length; element++) {
      const g = gradient[element] as number;
      value[element] = (value[element] as number) * (1 - learningRate * weightDecay);
      first[element] = beta1 * (first[element] as number) + (1 - beta1) * g;
      second[element] = beta2 * (second[element] as number) + (1 - beta2) * g * g;
      const firstHat = (first[element] as number) / (1 - beta1 ** step);
      const secondHat = (second[element] as number) / (1 - beta2 ** step);
      value[element] = (value[element] as number) - (learningRate * firstHat) / (Math.sqrt(secondHat) + epsilon);
    }
  });
  return value;
}

function setGradient(parameter: ReturnType<typeof tensor>, values: number[]): void {
  parameter.zeroGrad();
  parameter.grad = keep(tensor(Float32Array.from(values), { shape: [...parameter.shape] }));
}

describe("AdamW", () => {
  it("matches PyTorch's AdamW (decoupled decay, bias correction) over three steps", () => {
    const initial = [0.5, -1.25, 2, 0.01];
    const gradients = [
      [0.1, -0.2, 0.3, 0],
      [-0.05, 0.4, 0.1, 1e-3],
      [0.2, 0.2, -0.3, -2],
    ];
    const weight = keep(tensor(Float32Array.from(initial), { shape: [2, 2] }).requireGrad());
    const optimizer = new AdamW(new Map([["layer.weight", weight]]), { learningRate: 0.01, weightDecay: 0.1 });
    for (const gradient of gradients) {
      setGradient(weight, gradient);
      optimizer.step();
    }
    const expected = referenceAdamW(initial, gradients, {
      learningRate: 0.01,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      weightDecay: 0.1,
    });
    const actual = [...(weight.dataSync() as Float32Array)];
    const worst = Math.max(...actual.map((value, index) => Math.abs(value - (expected[index] as number))));
    expect(worst).toBeLessThan(1e-6);
    expect(optimizer.stepCount).toBe(3);
  });

  it("skips decay for norms and embeddings with noDecay: norms-and-embeddings", () => {
    const make = () => keep(tensor(new Float32Array([1, 1]), { shape: [2] }).requireGrad());
    const parameters = new Map([
      ["model.embed_tokens.weight", make()],
      ["model.layers.0.input_layernorm.weight", make()],
      ["model.layers.0.mlp.up_proj.weight", make()],
    ]);
    const optimizer = new AdamW(parameters, { learningRate: 0.5, weightDecay: 0.2, noDecay: "norms-and-embeddings" });
    expect([...parameters.keys()].map((name) => optimizer.decayOf(name))).toEqual([0, 0, 0.2]);
    for (const parameter of parameters.values()) setGradient(parameter, [0, 0]);
    optimizer.step();
    // A zero gradient leaves only the decay: 1·(1 − 0.5·0.2) = 0.9 for the decayed weight, 1 for the others.
    expect([...parameters.values()].map((parameter) => parameter.dataSync()[0])).toEqual([1, 1, Math.fround(0.9)]);
  });

  it("saves and restores its moments and step count exactly", () => {
    const weight = keep(tensor(new Float32Array([1, 2, 3]), { shape: [3] }).requireGrad());
    const optimizer = new AdamW(new Map([["w", weight]]), { learningRate: 0.1 });
    setGradient(weight, [0.3, -0.1, 0.7]);
    optimizer.step();
    const state = optimizer.stateTensors();
    const copy = keep(tensor(weight.dataSync() as Float32Array, { shape: [3] }).requireGrad());
    const restored = new AdamW(new Map([["w", copy]]), { learningRate: 0.1 });
    restored.loadState(state, optimizer.stepCount, "test state");
    for (const [target, source] of [
      [weight, optimizer],
      [copy, restored],
    ] as const) {
      setGradient(target, [0.5, 0.5, -0.5]);
      source.step();
    }
    expect([...(copy.dataSync() as Float32Array)]).toEqual([...(weight.dataSync() as Float32Array)]);
    expect(() => restored.loadState(new Map(), 1, "empty.safetensors")).toThrow(
      '[AdamW] empty.safetensors: tensor "exp_avg.w" is missing',
    );
  });
});

describe("clipGradientNorm", () => {
  it("scales every gradient by maxNorm / (norm + 1e-6) when the global norm is larger", () => {
    const a = keep(tensor(new Float32Array([3, 0]), { shape: [2] }).requireGrad());
    const b = keep(tensor(new Float32Array([4]), { shape: [1] }).requireGrad());
    backward(sum(a.mul(a.detach())).add(sum(b.mul(b.detach())).mul(1)));
    // d/da (a·a_const) = a_const → gradients [3, 0] and [4]: global norm 5.
    const norm = clipGradientNorm([a, b], 1);
    expect(norm).toBeCloseTo(5, 6);
    const scale = 1 / (5 + 1e-6);
    expect(a.grad?.dataSync()[0]).toBeCloseTo(3 * scale, 6);
    expect(b.grad?.dataSync()[0]).toBeCloseTo(4 * scale, 6);
    expect(clipGradientNorm([a, b], 10)).toBeCloseTo(1, 5); // below the limit: unchanged
    expect(a.grad?.dataSync()[0]).toBeCloseTo(3 * scale, 6);
  });

  it("reports a non-finite norm without scaling", () => {
    const a = keep(tensor(new Float32Array([1]), { shape: [1] }).requireGrad());
    a.grad = keep(tensor(new Float32Array([Number.NaN]), { shape: [1] }));
    expect(clipGradientNorm([a], 1)).toBeNaN();
  });
});
