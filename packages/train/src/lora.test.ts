import { noGrad } from "@minimind/tensor";
import { Tokenizer } from "@minimind/tokenizer";
import { describe, expect, it } from "vitest";
import { LoraAdapters, lora } from "./lora.js";
import { PretrainDataset } from "./pretrain-dataset.js";
import { recordsFromArray } from "./sample.js";
import { corpus, temporaryDirectory, tinyModel } from "./test-support/tiny.js";

const tokenizer = Tokenizer.minimind();
const dataset = new PretrainDataset(recordsFromArray(corpus(12, 4).map((text) => ({ text }))), {
  tokenizer,
  maxSeqLen: 32,
});
const probe = [[1, 900, 901, 902, 1500, 33, 2]];

function logits(model: ReturnType<typeof tinyModel>): Float32Array {
  return noGrad(() => model.forward({ inputIds: probe }).logits.dataSync() as Float32Array);
}

function largestDifference(left: Float32Array, right: Float32Array): number {
  let largest = 0;
  for (let index = 0; index < left.length; index++) {
    largest = Math.max(largest, Math.abs((left[index] as number) - (right[index] as number)));
  }
  return largest;
}

function weights(model: ReturnType<typeof tinyModel>): Map<string, string> {
  return new Map(
    [...model.stateDict()].map(([name, value]) => [name, Buffer.from(value.data.buffer).toString("base64")]),
  );
}

describe("LoRA", () => {
  it("targets the square projections (q_proj, o_proj) with rank-16 adapters that start as a no-op", () => {
    const model = tinyModel(8);
    const before = logits(model);
    const adapters = LoraAdapters.attach(model, { seed: 1 });
    expect([...adapters.parameters().keys()].slice(0, 4)).toEqual([
      "model.layers.0.self_attn.q_proj.lora.A.weight",
      "model.layers.0.self_attn.q_proj.lora.B.weight",
      "model.layers.0.self_attn.o_proj.lora.A.weight",
      "model.layers.0.self_attn.o_proj.lora.B.weight",
    ]);
    expect(adapters.parameters().size).toBe(2 * 2 * 2); // 2 layers × (q_proj, o_proj) × (A, B)
    expect(adapters.parameters().get("model.layers.1.self_attn.q_proj.lora.A.weight")?.shape).toEqual([16, 32]);
    expect(logits(model)).toEqual(before); // B = 0
  });

  it("trains only the adapters, lowers the loss, and saves/loads them alone", async () => {
    const model = tinyModel(8);
    const base = weights(model);
    // Every projection (a common LoRA setting), so the adapters can move a random base's loss visibly.
    const everywhere = { rank: 4, alpha: 8, targets: () => true };
    const adapters = LoraAdapters.attach(model, everywhere);
    const losses: number[] = [];
    const directory = temporaryDirectory();
    const result = await lora({
      model,
      adapters,
      dataset,
      epochs: 8,
      batchSize: 4,
      learningRate: 2e-2,
      outputDirectory: directory,
      onEvent: (event) => {
        if (event.type === "step") losses.push(event.loss);
      },
    });
    expect(result.step).toBe(24);
    // A frozen random base with its tied head limits what adapters can do: 8.78 → 8.41 when measured.
    expect(losses[losses.length - 1]).toBeLessThan((losses[0] as number) - 0.25);
    expect(weights(model)).toEqual(base); // the base is untouched
    for (const parameter of model.namedParameters().values()) expect(parameter.requiresGrad).toBe(true); // restored
    const trained = logits(model);

    const copy = tinyModel(8);
    const loaded = LoraAdapters.attach(copy, everywhere);
    expect(logits(copy)).not.toEqual(trained);
    loaded.load(adapters.save());
    expect(logits(copy)).toEqual(trained);
    expect(() => LoraAdapters.attach(tinyModel(8), { rank: 2 }).load(adapters.save(), "a.safetensors")).toThrow(
      "[lora] a.safetensors: rank 4; these adapters have rank 2",
    );
  });

  it("merging writes W + (α/r)·B·A: merged logits equal adapter logits", async () => {
    const model = tinyModel(9);
    const adapters = LoraAdapters.attach(model, { rank: 4, alpha: 2, seed: 3 });
    await lora({ model, adapters, dataset, epochs: 2, batchSize: 4, learningRate: 2e-2 });
    const withAdapters = logits(model);
    const base = logits(tinyModel(9));
    const change = largestDifference(withAdapters, base);
    expect(change).toBeGreaterThan(1e-3); // the adapters matter
    adapters.merge();
    expect(adapters.isAttached).toBe(false);
    const merged = logits(model);
    const difference = largestDifference(merged, withAdapters);
    expect(difference).toBeLessThan(1e-5);
  });
});
