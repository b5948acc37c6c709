import { readFileSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { assign, tensor } from "@minimind/tensor";
import { Tokenizer } from "@minimind/tokenizer";
import { describe, expect, it } from "vitest";
import { listCheckpoints } from "./checkpoint.js";
import { evaluate } from "./evaluate.js";
import { DataLoader } from "./loader.js";
import { PretrainDataset } from "./pretrain-dataset.js";
import { recordsFromArray } from "./sample.js";
import { corpus, temporaryDirectory, tinyModel } from "./test-support/tiny.js";
import { pretrain, type TrainEvent, train } from "./trainer.js";

const tokenizer = Tokenizer.minimind();
const dataset = new PretrainDataset(recordsFromArray(corpus(16).map((text) => ({ text }))), {
  tokenizer,
  maxSeqLen: 32,
});

describe("train", () => {
  it("lowers the loss on a small corpus and writes metrics JSONL, events and a final checkpoint", async () => {
    const directory = temporaryDirectory();
    const events: TrainEvent[] = [];
    const model = tinyModel(2);
    const result = await pretrain({
      model,
      dataset,
      epochs: 6,
      batchSize: 4,
      accumulationSteps: 1,
      learningRate: 5e-3,
      outputDirectory: directory,
      onEvent: (event) => events.push(event),
    });
    expect(result.stoppedBy).toBe("completed");
    expect(result.step).toBe(24);
    const steps = events.filter((event) => event.type === "step");
    expect(steps.length).toBe(24);
    const first = steps[0] as Extract<TrainEvent, { type: "step" }>;
    const last = steps[23] as Extract<TrainEvent, { type: "step" }>;
    expect(first.loss).toBeGreaterThan(8); // ≈ ln 6400 at initialisation
    expect(last.loss).toBeLessThan(first.loss - 2);
    expect(first.learningRate).toBe(5e-3); // upstream's schedule starts at lr
    expect(last.learningRate).toBeCloseTo(5e-3 * (0.1 + 0.45 * (1 + Math.cos((Math.PI * 23) / 24))), 12);
    const lines = readFileSync(join(directory, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.length).toBe(24);
    expect(Object.keys(lines[0]).sort()).toEqual(
      [
        "aux_loss",
        "elapsed_seconds",
        "epoch",
        "gradient_norm",
        "learning_rate",
        "loss",
        "step",
        "tokens",
        "tokens_per_second",
      ].sort(),
    );
    expect(await listCheckpoints(directory)).toEqual([24]);
    expect(events.map((event) => event.type).filter((type) => type !== "step")).toEqual(["start", "checkpoint", "end"]);
  });

  it("skips non-finite steps, reports them, and stops after maxNonFiniteSteps in a row naming the step", async () => {
    const model = tinyModel(2);
    const embedding = model.namedParameters().get("model.embed_tokens.weight");
    if (embedding === undefined) throw new Error("no embedding");
    const poisoned = tensor(new Float32Array(embedding.size).fill(Number.NaN), { shape: [...embedding.shape] });
    assign(embedding, poisoned);
    const skipped: TrainEvent[] = [];
    await expect(
      train({
        model,
        dataset,
        epochs: 1,
        batchSize: 2,
        accumulationSteps: 1,
        maxNonFiniteSteps: 2,
        onEvent: (event) => {
          if (event.type === "skipped-step") skipped.push(event);
        },
      }),
    ).rejects.toThrow(/2 non-finite steps in a row \(the last at step 1, batches 0:1: loss NaN, gradient norm NaN\)/);
    expect(skipped.map((event) => (event as { inARow: number }).inARow)).toEqual([1, 2]);
  });

  it("on abort writes a checkpoint, then throws the signal's reason", async () => {
    const directory = temporaryDirectory();
    const controller = new AbortController();
    await expect(
      train({
        model: tinyModel(2),
        dataset,
        epochs: 2,
        batchSize: 2,
        accumulationSteps: 1,
        outputDirectory: directory,
        signal: controller.signal,
        onEvent: (event) => {
          if (event.type === "step" && event.step === 3) controller.abort(new Error("stop here"));
        },
      }),
    ).rejects.toThrow("stop here");
    expect(await listCheckpoints(directory)).toEqual([3]);
  });

  it("refuses to resume from a truncated checkpoint, naming the file; an intact earlier one still resumes", async () => {
    const directory = temporaryDirectory();
    const settings = {
      dataset,
      epochs: 1,
      batchSize: 2,
      accumulationSteps: 1,
      outputDirectory: directory,
      checkpointEvery: 2,
    };
    await train({ model: tinyModel(2), ...settings, maxSteps: 4 });
    expect(await listCheckpoints(directory)).toEqual([2, 4]);
    truncateSync(join(directory, "checkpoint-4", "optimizer.safetensors"), 100);
    await expect(train({ model: tinyModel(2), ...settings, maxSteps: 4, resume: "latest" })).rejects.toThrow(
      `${join(directory, "checkpoint-4", "optimizer.safetensors")}: 100 bytes where trainer_state.json records`,
    );
    const resumed = await train({
      model: tinyModel(2),
      ...settings,
      maxSteps: 4,
      resume: join(directory, "checkpoint-2"),
    });
    expect(resumed.step).toBe(4);
    await expect(
      train({ model: tinyModel(2), ...settings, batchSize: 4, maxSteps: 4, resume: join(directory, "checkpoint-2") }),
    ).rejects.toThrow("run.batch_size is 2, this run has 4; exact resume needs the same settings");
  });
});

describe("evaluate", () => {
  it("gives the token-weighted mean loss, its exponential and bits per byte of the target text", () => {
    const model = tinyModel(6);
    const texts = ["床前明月光", "the cat sat on the mat", "举头望明月，低头思故乡"];
    const data = new PretrainDataset(recordsFromArray(texts.map((text) => ({ text }))), { tokenizer, maxSeqLen: 64 });
    const result = evaluate(model, data, { batchSize: 2, tokenizer });
    // Independent expectation: each text alone through forward, weighted by its target count; bytes of each
    // text plus the eos token's text "<|im_end|>" (the targets are text tokens and eos).
    let nats = 0;
    let targets = 0;
    let bytes = 0;
    texts.forEach((text, index) => {
      const ids = [...data.sample(index, 0).inputIds];
      const loss = model.forward({ inputIds: [ids], labels: [ids] }).loss?.item() as number;
      nats += loss * (ids.length - 1);
      targets += ids.length - 1;
      bytes += new TextEncoder().encode(text).length + "<|im_end|>".length;
    });
    expect(result.targets).toBe(targets);
    expect(Math.abs(result.loss - nats / targets)).toBeLessThan(1e-5);
    expect(result.perplexity).toBeCloseTo(Math.exp(result.loss), 8);
    expect(Math.abs((result.bitsPerByte as number) - nats / Math.LN2 / bytes)).toBeLessThan(1e-5);
    expect(new DataLoader(data, { batchSize: 2 }).batchesIn(0)).toBe(2);
  });
});
