import { Tokenizer } from "@minimind/tokenizer";
import { describe, expect, it } from "vitest";
import { accumulateGradients } from "./gradients.js";
import { type Batch, batchAttention, DataLoader } from "./loader.js";
import { PackedDataset } from "./packing.js";
import { PretrainDataset } from "./pretrain-dataset.js";
import { recordsFromArray } from "./sample.js";
import { corpus, tinyModel } from "./test-support/tiny.js";

const tokenizer = Tokenizer.minimind();

function gradients(model: ReturnType<typeof tinyModel>): Map<string, Float32Array> {
  return new Map(
    [...model.namedParameters()].map(([name, parameter]) => [name, parameter.grad?.dataSync() as Float32Array]),
  );
}

function maxDifference(left: Map<string, Float32Array>, right: Map<string, Float32Array>): number {
  let largest = 0;
  for (const [name, values] of left) {
    const other = right.get(name) as Float32Array;
    for (let index = 0; index < values.length; index++) {
      largest = Math.max(largest, Math.abs((values[index] as number) - (other[index] as number)));
    }
  }
  return largest;
}

describe("gradient accumulation", () => {
  it("4 micro-batches of 2 give the gradients of one batch of 8 within 1e-6 (rows of different lengths)", () => {
    const texts = corpus(8, 2);
    const dataset = new PretrainDataset(recordsFromArray(texts.map((text) => ({ text }))), {
      tokenizer,
      maxSeqLen: 48,
    });
    const lengths = texts.map((_, index) => dataset.sample(index, 0).inputIds.length);
    expect(new Set(lengths).size).toBeGreaterThan(1); // padding and unequal target counts are exercised

    const whole = tinyModel(3);
    const big = new DataLoader(dataset, { batchSize: 8, shuffle: false }).batch({ epoch: 0, batch: 0 });
    const single = accumulateGradients(whole, [big], (batch) => batchAttention(batch));

    const split = tinyModel(3);
    const loader = new DataLoader(dataset, { batchSize: 2, shuffle: false });
    const micro: Batch[] = [0, 1, 2, 3].map((batch) => loader.batch({ epoch: 0, batch }));
    const accumulated = accumulateGradients(split, micro, (batch) => batchAttention(batch));

    expect(Math.abs(accumulated.loss - single.loss)).toBeLessThan(1e-6);
    expect(accumulated.targets).toBe(single.targets);
    const difference = maxDifference(gradients(whole), gradients(split));
    expect(difference).toBeLessThan(1e-6);
    // The gradients are not trivially zero.
    let largest = 0;
    for (const values of gradients(whole).values())
      for (const value of values) largest = Math.max(largest, Math.abs(value));
    expect(largest).toBeGreaterThan(1e-3);
  });
});

describe("packing", () => {
  it("packed and unpacked pretraining give the same loss for each document", () => {
    const texts = corpus(9, 1);
    const documents = new PretrainDataset(recordsFromArray(texts.map((text) => ({ text }))), {
      tokenizer,
      maxSeqLen: 40,
    });
    const packed = new PackedDataset(documents, { maxSeqLen: 96 });
    const model = tinyModel(4).eval();
    const row = packed.sample(0, 0);
    const [first, end] = packed.documentsOfRow(0, 0);
    expect(end - first).toBeGreaterThan(2);
    const packedBatch = new DataLoader(packed, { batchSize: 1, shuffle: false }).batch({ epoch: 0, batch: 0 });
    for (let document = first; document < end; document++) {
      const alone = new DataLoader(documents, { batchSize: 1, shuffle: false });
      const aloneBatch = alone.batch({ epoch: 0, batch: document });
      const aloneLoss = model
        .forward({ inputIds: aloneBatch.inputIds, labels: aloneBatch.labels })
        .loss?.item() as number;
      // Keep only this document's targets in the packed row.
      const documentIds = row.documentIds as Int32Array;
      const labels = [
        (packedBatch.labels[0] as number[]).map((label, position) =>
          documentIds[position] === document - first ? label : -100,
        ),
      ];
      const packedLoss = model
        .forward({
          inputIds: packedBatch.inputIds,
          labels,
          positionIds: packedBatch.positionIds as number[][],
          attention: batchAttention(packedBatch),
        })
        .loss?.item() as number;
      expect(Math.abs(packedLoss - aloneLoss)).toBeLessThan(1e-5);
    }
  });
});
