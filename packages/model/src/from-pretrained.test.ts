/**
 * `MiniMindForCausalLM.fromPretrained(dir, options)`: eval mode by default (`training` to keep training
 * mode), `dtype` (float32 only, anything else refused by name), `strict` (missing / unexpected tensors named
 * in the error; with `strict: false` loaded anyway, the rest initialised as a fresh model's and reported
 * through `warn`), `config` overrides (applied and validated; unknown fields refused) and unknown options.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMiniMindConfig } from "./config.js";
import { MiniMindForCausalLM } from "./model.js";
import type { FromPretrainedOptions } from "./pretrained.js";
import type { SafetensorsTensor } from "./safetensors.js";
import { writeMiniMindConfigFile, writeSafetensorsCheckpoint } from "./safetensors-files.js";
import type { StateDictReport } from "./state-dict.js";

const config = createMiniMindConfig({
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 64,
  max_position_embeddings: 128,
});
const missingName = "model.layers.1.mlp.up_proj.weight";
const unexpectedName = "model.layers.2.mlp.up_proj.weight";

let root: string;
let source: MiniMindForCausalLM;
let stateDict: Map<string, SafetensorsTensor>;

/** A checkpoint folder holding `config` and the given tensors. */
async function checkpoint(name: string, tensors: Map<string, SafetensorsTensor>): Promise<string> {
  const directory = join(root, name);
  await writeSafetensorsCheckpoint(directory, tensors);
  await writeMiniMindConfigFile(join(directory, "config.json"), config);
  return directory;
}

async function load(directory: string, options?: FromPretrainedOptions): Promise<MiniMindForCausalLM> {
  return MiniMindForCausalLM.fromPretrained(directory, options);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "minimind-from-pretrained-"));
  source = new MiniMindForCausalLM(config, { seed: 11 });
  stateDict = source.stateDict();
  await source.savePretrained(join(root, "complete"));
});

afterAll(() => {
  source.dispose();
  rmSync(root, { recursive: true, force: true });
});

describe("fromPretrained options", () => {
  it("returns a model in eval mode; training: true keeps training mode", async () => {
    const directory = join(root, "complete");
    const evaluating = await load(directory);
    const training = await load(directory, { training: true });
    try {
      expect(evaluating.training).toBe(false);
      expect(training.training).toBe(true);
      expect(evaluating.stateDict()).toEqual(stateDict);
    } finally {
      evaluating.dispose();
      training.dispose();
    }
  });

  it('accepts dtype "float32" and refuses any other dtype, naming the option', async () => {
    const directory = join(root, "complete");
    const model = await load(directory, { dtype: "float32" });
    model.dispose();
    const float16 = { dtype: "float16" } as unknown as FromPretrainedOptions;
    await expect(load(directory, float16)).rejects.toThrow(
      /\[fromPretrained\] dtype is "float16"; only "float32" is supported/,
    );
  });

  it("refuses unknown and mistyped options by name", async () => {
    const directory = join(root, "complete");
    const typo = { strcit: false } as unknown as FromPretrainedOptions;
    await expect(load(directory, typo)).rejects.toThrow(/unknown option "strcit"; expected one of dtype, strict/);
    const notBoolean = { strict: "no" } as unknown as FromPretrainedOptions;
    await expect(load(directory, notBoolean)).rejects.toThrow(/strict is "no"; expected true or false/);
  });

  it("strict (the default) names a missing tensor and an unexpected one", async () => {
    const missing = new Map(stateDict);
    missing.delete(missingName);
    const missingDirectory = await checkpoint("missing", missing);
    await expect(load(missingDirectory)).rejects.toThrow(
      new RegExp(`missing 1: ${missingName.replaceAll(".", "\\.")}`),
    );
    await expect(load(missingDirectory, { strict: true })).rejects.toThrow(missingName);

    const extra = new Map(stateDict);
    extra.set(unexpectedName, stateDict.get(missingName) as SafetensorsTensor);
    const extraDirectory = await checkpoint("unexpected", extra);
    await expect(load(extraDirectory)).rejects.toThrow(
      new RegExp(`unexpected 1: ${unexpectedName.replaceAll(".", "\\.")}`),
    );
  });

  it("strict: false loads anyway, initialises what is missing as a fresh model would, and reports both lists", async () => {
    const partial = new Map(stateDict);
    partial.delete(missingName);
    partial.set(unexpectedName, stateDict.get(missingName) as SafetensorsTensor);
    const directory = await checkpoint("partial", partial);
    const warnings: { message: string; report: StateDictReport }[] = [];
    const model = await load(directory, {
      strict: false,
      seed: 5,
      warn: (message, report) => warnings.push({ message, report }),
    });
    const fresh = new MiniMindForCausalLM(config, { seed: 5 });
    try {
      expect(warnings).toHaveLength(1);
      const [{ message, report }] = warnings as [{ message: string; report: StateDictReport }];
      expect(report.missing).toEqual([missingName]);
      expect(report.unexpected).toEqual([unexpectedName]);
      expect(message).toContain(`missing 1 (initialised as a new model's, seed 5): ${missingName}`);
      expect(message).toContain(`unexpected 1 (ignored): ${unexpectedName}`);
      const loaded = model.stateDict();
      expect(loaded.get(missingName)).toEqual(fresh.stateDict().get(missingName));
      expect(loaded.get(missingName)).not.toEqual(stateDict.get(missingName));
      for (const [name, tensor] of stateDict) if (name !== missingName) expect(loaded.get(name)).toEqual(tensor);
      expect(model.training).toBe(false);
    } finally {
      model.dispose();
      fresh.dispose();
    }
  });

  it("strict: false is silent when nothing is skipped, and still refuses a mis-shaped tensor", async () => {
    const warnings: string[] = [];
    const model = await load(join(root, "complete"), { strict: false, warn: (message) => warnings.push(message) });
    model.dispose();
    expect(warnings).toEqual([]);

    const misShaped = new Map(stateDict);
    misShaped.set("model.norm.weight", { dtype: "F32", shape: [16], data: new Float32Array(16) });
    const directory = await checkpoint("mis-shaped", misShaped);
    await expect(load(directory, { strict: false })).rejects.toThrow(
      /strict: false skips missing and unexpected tensors, but these cannot be loaded: model\.norm\.weight is \[16\], expected \[32\]/,
    );
  });

  it("config overrides config.json fields and is validated", async () => {
    const directory = join(root, "complete");
    const model = await load(directory, {
      config: {
        max_position_embeddings: 512,
        eos_token_id: [2, 0],
        inference_rope_scaling: true,
        rope_scaling: { factor: 4 },
      },
    });
    try {
      expect(model.config.max_position_embeddings).toBe(512);
      expect(model.config.eos_token_id).toEqual([2, 0]);
      expect(model.config.rope_scaling).toMatchObject({
        type: "yarn",
        factor: 4,
        original_max_position_embeddings: 2048,
      });
      expect(model.config.hidden_size).toBe(32);
      expect(model.stateDict()).toEqual(stateDict);
    } finally {
      model.dispose();
    }
    await expect(load(directory, { config: { dropout: 2 } })).rejects.toThrow(
      /config\.json with the config option: "dropout" is 2; expected a number in \[0, 1\)/,
    );
    const unknown = { config: { hidden: 64 } } as unknown as FromPretrainedOptions;
    await expect(load(directory, unknown)).rejects.toThrow(/unknown field "hidden"/);
    // An override that no longer fits the weights is caught by the strict check, naming the tensors.
    await expect(load(directory, { config: { intermediate_size: 64 } })).rejects.toThrow(
      /model\.layers\.0\.mlp\.gate_proj\.weight is \[128, 32\], expected \[64, 32\]/,
    );
  });
});
