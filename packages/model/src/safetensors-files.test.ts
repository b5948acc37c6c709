import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMiniMindConfig, parameterShapes } from "./config.js";
import type { SafetensorsTensor } from "./safetensors.js";
import {
  readMiniMindConfigFile,
  readSafetensorsCheckpoint,
  readSafetensorsFile,
  writeMiniMindConfigFile,
  writeSafetensorsCheckpoint,
  writeSafetensorsFile,
} from "./safetensors-files.js";

const fixture = new URL("../../../../shared/fixtures/model/dense-tiny/", import.meta.url);
let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "minimind-model-"));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

function bits(tensor: SafetensorsTensor): Uint8Array {
  return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
}

function expectSameTensors(actual: Map<string, SafetensorsTensor>, expected: Map<string, SafetensorsTensor>): void {
  expect(new Set(actual.keys())).toEqual(new Set(expected.keys()));
  for (const [name, tensor] of expected) {
    const other = actual.get(name) as SafetensorsTensor;
    expect(other.dtype).toBe(tensor.dtype);
    expect(other.shape).toEqual(tensor.shape);
    expect(Buffer.compare(bits(other), bits(tensor)), name).toBe(0);
  }
}

describe("safetensors files (Node)", () => {
  it("writes atomically and reads back bit-exactly, leaving no temporary file", async () => {
    const original = await readSafetensorsFile(new URL("model.safetensors", fixture).pathname);
    const target = join(directory, "copy.safetensors");
    await writeSafetensorsFile(target, original.tensors, { metadata: original.metadata });
    expect(await readdir(directory)).toEqual(["copy.safetensors"]);
    const back = await readSafetensorsFile(target);
    expect(back.metadata).toEqual({ format: "pt" });
    expectSameTensors(back.tensors, original.tensors);
  });

  it("leaves the previous file intact when a write fails", async () => {
    const target = join(directory, "weights.safetensors");
    const good = new Map<string, SafetensorsTensor>([["a", { dtype: "F32", shape: [1], data: new Float32Array([1]) }]]);
    await writeSafetensorsFile(target, good);
    const before = await readFile(target);
    const bad = new Map<string, SafetensorsTensor>([["a", { dtype: "F32", shape: [2], data: new Float32Array([1]) }]]);
    await expect(writeSafetensorsFile(target, bad)).rejects.toThrow(
      `[safetensors] ${target}: tensor "a" has 1 elements but shape [2] needs 2`,
    );
    expect(Buffer.compare(await readFile(target), before)).toBe(0);
    expect(await readdir(directory)).toEqual(["weights.safetensors"]);
  });

  it("also loads node:fs where process.getBuiltinModule is missing (Node before 20.16)", async () => {
    const nodeProcess = process as { getBuiltinModule?: unknown };
    const original = nodeProcess.getBuiltinModule;
    nodeProcess.getBuiltinModule = undefined;
    try {
      const { tensors } = await readSafetensorsFile(new URL("model.bf16.safetensors", fixture).pathname);
      expect(tensors.get("model.norm.weight")?.dtype).toBe("BF16");
    } finally {
      nodeProcess.getBuiltinModule = original;
    }
  });

  it("names the file path when a file is truncated", async () => {
    const target = join(directory, "truncated.safetensors");
    const bytes = await readFile(new URL("model.safetensors", fixture));
    await writeFile(target, bytes.subarray(0, bytes.length - 1));
    await expect(readSafetensorsFile(target)).rejects.toThrow(
      `[safetensors] ${target}: tensor "model.norm.weight" ends at byte`,
    );
  });
});

describe("checkpoint folders (Node)", () => {
  it("round-trips a sharded checkpoint bit-exactly, index last, then replaces it with a single file", async () => {
    const { tensors } = await readSafetensorsFile(new URL("model.safetensors", fixture).pathname);
    const written = await writeSafetensorsCheckpoint(directory, tensors, { maxShardBytes: 600_000 });
    // the embedding alone is 6400·64·4 = 1,638,400 bytes (its own shard); the rest is 493,056 bytes (532,864 parameters · 4 in all)
    expect(written).toEqual([
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      "model.safetensors.index.json",
    ]);
    const index = JSON.parse(await readFile(join(directory, "model.safetensors.index.json"), "utf8"));
    expect(index.metadata).toEqual({ total_size: 2_131_456 });
    expect(index.weight_map["model.embed_tokens.weight"]).toBe("model-00001-of-00002.safetensors");
    expect(index.weight_map["model.norm.weight"]).toBe("model-00002-of-00002.safetensors");
    expectSameTensors(await readSafetensorsCheckpoint(directory), tensors);

    await writeFile(join(directory, "notes.txt"), "kept");
    expect(await writeSafetensorsCheckpoint(directory, tensors)).toEqual(["model.safetensors"]);
    expect((await readdir(directory)).sort()).toEqual(["model.safetensors", "notes.txt"]);
    expectSameTensors(await readSafetensorsCheckpoint(directory), tensors);
  });

  it("reports a folder with no weights, and a shard missing from a sharded checkpoint", async () => {
    await expect(readSafetensorsCheckpoint(directory)).rejects.toThrow(
      `[safetensors] ${directory}: neither model.safetensors nor model.safetensors.index.json is there`,
    );
    const { tensors } = await readSafetensorsFile(new URL("model.safetensors", fixture).pathname);
    await writeSafetensorsCheckpoint(directory, tensors, { maxShardBytes: 600_000 });
    await rm(join(directory, "model-00002-of-00002.safetensors"));
    await expect(readSafetensorsCheckpoint(directory)).rejects.toThrow(
      'shard "model-00002-of-00002.safetensors" named in "weight_map" is missing',
    );
  });
});

describe("config.json files (Node)", () => {
  it("reads a fixture config and writes one that reads back equal", async () => {
    const config = await readMiniMindConfigFile(new URL("config.json", fixture).pathname);
    expect(parameterShapes(config).get("model.layers.1.self_attn.k_proj.weight")).toEqual([32, 64]);
    const target = join(directory, "config.json");
    await writeMiniMindConfigFile(target, config);
    expect(await readMiniMindConfigFile(target)).toEqual(config);
    const written = JSON.parse(await readFile(target, "utf8"));
    expect(written).toMatchObject({ architectures: ["MiniMindForCausalLM"], model_type: "minimind", hidden_size: 64 });
  });

  it("names the file on invalid JSON and on a bad field", async () => {
    const target = join(directory, "config.json");
    await writeFile(target, "{ hidden_size: 1 }");
    await expect(readMiniMindConfigFile(target)).rejects.toThrow(`[config] ${target}: not valid JSON`);
    await writeFile(target, JSON.stringify({ num_attention_heads: 6 }));
    await expect(readMiniMindConfigFile(target)).rejects.toThrow(
      `[config] ${target}: "num_attention_heads" (6) must be a multiple of "num_key_value_heads" (4)`,
    );
  });

  it("writes the defaults in upstream field names", async () => {
    const target = join(directory, "config.json");
    await writeMiniMindConfigFile(target, createMiniMindConfig());
    const written = JSON.parse(await readFile(target, "utf8"));
    expect(written.intermediate_size).toBe(2432);
    expect(written.rope_scaling).toBeNull();
    await copyFile(target, join(directory, "again.json"));
    expect(await readMiniMindConfigFile(join(directory, "again.json"))).toEqual(createMiniMindConfig());
  });
});
