/**
 * The reproductions of issue #18 ("hostile and careless input"), each now a clean labelled error or the
 * documented result within 1 s and 200 MB (the watchdog in __fixtures__/watchdog.ts): oversized and
 * inconsistent config.json fields, duplicate JSON keys, NaN weights, special files, symbolic link loops and
 * folders in place of weights, generate options of the wrong kind, and an AbortSignal.timeout that must stop a
 * long generation. Not here: the random fuzzing of the same entry points (fuzz.test.ts).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { noGrad, scope } from "@minimind/tensor";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchCase } from "./__fixtures__/watchdog.js";
import { createMiniMindConfig, MINIMIND_CONFIG_LIMITS, miniMindConfigToJson, parameterShapes } from "./config.js";
import { MiniMindForCausalLM } from "./model.js";
import type { SafetensorsTensor } from "./safetensors.js";
import { readSafetensorsCheckpoint, writeSafetensorsCheckpoint } from "./safetensors-files.js";

const config = createMiniMindConfig({
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 64,
  max_position_embeddings: 4096,
});

let root: string;
let model: MiniMindForCausalLM;
let weights: Map<string, SafetensorsTensor>;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "minimind-hostile-"));
  model = new MiniMindForCausalLM(config, { seed: 1 });
  weights = model.stateDict();
});
afterAll(() => {
  model.dispose();
  rmSync(root, { recursive: true, force: true });
});

let folders = 0;
/** A checkpoint folder with the given config.json text and weights (the model's unless given). */
async function folder(configText: string, tensors: Map<string, SafetensorsTensor> = weights): Promise<string> {
  folders += 1;
  const directory = join(root, `case-${folders}`);
  await writeSafetensorsCheckpoint(directory, tensors);
  writeFileSync(join(directory, "config.json"), configText);
  return directory;
}

/** config.json text: the test config with `fields` replaced. */
function configText(fields: Record<string, unknown>): string {
  return JSON.stringify({ ...miniMindConfigToJson(config), ...fields });
}

/** Runs `run` under the watchdog (1 s, 200 MB) and returns the clean error's message; fails on anything else. */
async function cleanError(label: string, run: () => unknown): Promise<string> {
  const outcome = await watchCase(label, run);
  if (outcome.kind !== "clean") throw new Error(`${label}: expected a clean error, got a result`);
  return outcome.message;
}

describe("config.json: bounds before any allocation", () => {
  it("num_hidden_layers 1e9 is refused by name and limit, in well under a second", async () => {
    const directory = await folder(configText({ num_hidden_layers: 1e9 }));
    const message = await cleanError("1e9 layers", () => MiniMindForCausalLM.fromPretrained(directory));
    expect(message).toBe(
      `[config] ${join(directory, "config.json")}: "num_hidden_layers" is 1000000000; at most ${MINIMIND_CONFIG_LIMITS.num_hidden_layers} is accepted (MINIMIND_CONFIG_LIMITS.num_hidden_layers)`,
    );
  });

  it("a hand-built config object is validated by the constructor and by parameterShapes", async () => {
    const huge = { ...config, num_hidden_layers: 1e9 };
    expect(await cleanError("constructor", () => new MiniMindForCausalLM(huge))).toBe(
      '[config] new MiniMindForCausalLM: "num_hidden_layers" is 1000000000; at most 1024 is accepted (MINIMIND_CONFIG_LIMITS.num_hidden_layers)',
    );
    expect(await cleanError("parameterShapes", () => parameterShapes(huge))).toMatch(
      /"num_hidden_layers" is 1000000000/,
    );
    expect(await cleanError("sed", () => new MiniMindForCausalLM(config, { sed: 1 } as never))).toBe(
      '[MiniMindForCausalLM] unknown option "sed"; expected seed',
    );
    expect(await cleanError("seed 0.5", () => new MiniMindForCausalLM(config, { seed: 0.5 }))).toBe(
      "[MiniMindForCausalLM] seed is 0.5; expected an integer",
    );
    expect(await cleanError("null config", () => new MiniMindForCausalLM(null as never))).toBe(
      "[config] new MiniMindForCausalLM: the config is null; expected an object (see createMiniMindConfig)",
    );
  });

  it("1e5 layers with strict: false is refused too (no fresh weights are allocated)", async () => {
    const directory = await folder(configText({ num_hidden_layers: 1e5 }));
    const message = await cleanError("1e5 layers", () =>
      MiniMindForCausalLM.fromPretrained(directory, { strict: false, warn: () => undefined }),
    );
    expect(message).toMatch(/"num_hidden_layers" is 100000; at most 1024 is accepted/);
  });

  it("max_position_embeddings 1e12 and eos_token_id 1e9 are refused", async () => {
    const positions = await folder(configText({ max_position_embeddings: 1e12 }));
    expect(await cleanError("1e12 positions", () => MiniMindForCausalLM.fromPretrained(positions))).toMatch(
      /"max_position_embeddings" is 1000000000000; at most 16777216 is accepted/,
    );
    const eos = await folder(configText({ eos_token_id: 1e9 }));
    expect(await cleanError("eos 1e9", () => MiniMindForCausalLM.fromPretrained(eos))).toMatch(
      /"eos_token_id" holds 1000000000; token ids must be below "vocab_size" \(64\)/,
    );
  });

  it("a key given twice in config.json is refused instead of the last one silently winning", async () => {
    const text = configText({}).replace('"hidden_size":32', '"hidden_size":32,"hidden_size":64');
    expect(text).toContain('"hidden_size":64');
    const directory = await folder(text);
    expect(await cleanError("duplicate key", () => MiniMindForCausalLM.fromPretrained(directory))).toBe(
      `[config] ${join(directory, "config.json")}: key "hidden_size" appears twice in the top-level object; JSON.parse would silently keep the last, so the file is refused`,
    );
  });
});

describe("weights: NaN and Infinity", () => {
  it("fromPretrained refuses a NaN weight, naming the tensor and the flat index", async () => {
    const poisoned = new Map(weights);
    const name = "model.layers.1.self_attn.q_proj.weight";
    const data = Float32Array.from((weights.get(name) as SafetensorsTensor<"F32">).data);
    data[37] = Number.NaN;
    poisoned.set(name, { dtype: "F32", shape: [...(weights.get(name)?.shape ?? [])], data });
    const directory = await folder(configText({}), poisoned);
    expect(await cleanError("NaN weight", () => MiniMindForCausalLM.fromPretrained(directory))).toBe(
      `[fromPretrained] ${directory}: tensor "${name}" holds NaN at flat index 37; weights must be finite (pass checkFinite: false to load them anyway)`,
    );
    // With the check off the weights load, and generation stops with an error instead of emitting token 0 —
    // at the prefill already: forward (a multi-token prompt) and the decode steps see the same NaN.
    const loaded = await MiniMindForCausalLM.fromPretrained(directory, { checkFinite: false });
    try {
      const logits = noGrad(() =>
        scope(() => Float32Array.from(loaded.forward({ inputIds: [[1, 2, 3]] }).logits.dataSync() as Float32Array)),
      );
      expect(logits.some((value) => Number.isNaN(value))).toBe(true);
      expect(
        await cleanError("NaN logits", () => loaded.generate([[1, 2, 3]], { maxNewTokens: 4, eosTokenId: [] })),
      ).toMatch(/^\[generate\] row 0, step 0: the logits hold NaN at token id 0; /);
      expect(
        await cleanError("NaN logits, sampling", () =>
          loaded.generate([[1, 2, 3]], { maxNewTokens: 4, doSample: true, seed: 1, eosTokenId: [] }),
        ),
      ).toMatch(/^\[generate\] row 0, step \d: the logits hold NaN/);
    } finally {
      loaded.dispose();
    }
  });

  it("an Infinity in the embedding is refused with its index", async () => {
    const poisoned = new Map(weights);
    const name = "model.embed_tokens.weight";
    const data = Float32Array.from((weights.get(name) as SafetensorsTensor<"F32">).data);
    data[data.length - 1] = Number.NEGATIVE_INFINITY;
    poisoned.set(name, { dtype: "F32", shape: [64, 32], data });
    const directory = await folder(configText({}), poisoned);
    expect(await cleanError("Infinity weight", () => MiniMindForCausalLM.fromPretrained(directory))).toMatch(
      /tensor "model\.embed_tokens\.weight" holds -Infinity at flat index 2047;/,
    );
  });
});

describe("weight files: only regular files are read", () => {
  it("a model.safetensors that links to /dev/zero is refused by path, unread", async () => {
    const directory = await folder(configText({}));
    const file = join(directory, "model.safetensors");
    rmSync(file);
    symlinkSync("/dev/zero", file);
    expect(await cleanError("/dev/zero", () => readSafetensorsCheckpoint(directory))).toBe(
      `[safetensors] ${file} is a character device, not a regular file; it was to hold safetensors weights (only regular files are read)`,
    );
  });

  it("a FIFO is refused without blocking", async () => {
    const directory = await folder(configText({}));
    const file = join(directory, "model.safetensors");
    rmSync(file);
    execFileSync("mkfifo", [file]);
    expect(await cleanError("FIFO", () => MiniMindForCausalLM.fromPretrained(directory))).toMatch(
      /is a FIFO \(named pipe\), not a regular file/,
    );
  });

  it("a folder in place of the weights, and a symbolic link loop, are named as such with the path", async () => {
    const directory = await folder(configText({}));
    const file = join(directory, "model.safetensors");
    rmSync(file);
    mkdirSync(file);
    expect(await cleanError("folder", () => readSafetensorsCheckpoint(directory))).toBe(
      `[safetensors] ${file} is a folder, not a regular file; it was to hold safetensors weights (only regular files are read)`,
    );
    rmSync(file, { recursive: true });
    symlinkSync(join(directory, "loop-b"), join(directory, "loop-a"));
    symlinkSync(join(directory, "loop-a"), join(directory, "loop-b"));
    symlinkSync(join(directory, "loop-a"), file);
    expect(await cleanError("loop", () => readSafetensorsCheckpoint(directory))).toBe(
      `[safetensors] ${file} is a symbolic link loop (or a chain of too many links); it was to hold safetensors weights`,
    );
  });

  it("a folder that is not a path string is refused by name", async () => {
    expect(await cleanError("folder 42", () => MiniMindForCausalLM.fromPretrained(42 as never))).toBe(
      "[fromPretrained] the folder is 42; expected a path",
    );
    expect(await cleanError("checkpoint null", () => readSafetensorsCheckpoint(null as never))).toBe(
      "[safetensors] readSafetensorsCheckpoint: the folder is null; expected a path",
    );
  });

  it("a config.json that is a folder or missing is reported with its path", async () => {
    const directory = await folder(configText({}));
    rmSync(join(directory, "config.json"));
    expect(await cleanError("no config", () => MiniMindForCausalLM.fromPretrained(directory))).toBe(
      `[config] ${join(directory, "config.json")} does not exist; it was to hold the model's config`,
    );
    mkdirSync(join(directory, "config.json"));
    expect(await cleanError("config folder", () => MiniMindForCausalLM.fromPretrained(directory))).toMatch(
      /^\[config\] .*config\.json is a folder, not a regular file/,
    );
  });

  it("a header whose tensors need more bytes than the file has is refused before the data is read", async () => {
    const directory = await folder(configText({}));
    const file = join(directory, "model.safetensors");
    const header = JSON.stringify({ x: { dtype: "F32", shape: [1_000_000_000], data_offsets: [0, 4_000_000_000] } });
    const bytes = new Uint8Array(8 + header.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(new TextEncoder().encode(header), 8);
    writeFileSync(file, bytes);
    expect(await cleanError("short file", () => readSafetensorsCheckpoint(directory))).toMatch(
      /tensor "x" ends at byte 4000000000 but the data section has 0 bytes/,
    );
  });
});

describe("forward: masks and ids", () => {
  it("refuses attentionMask values other than 0 and 1, and ids that would wrap in int32", async () => {
    expect(await cleanError("mask 2", () => model.forward({ inputIds: [[1, 2]], attentionMask: [[1, 2]] }))).toBe(
      "[MiniMindForCausalLM] attentionMask holds 2 at row 0, position 1; expected 1 (a real token) or 0 (padding)",
    );
    expect(await cleanError("id 2^32 + 1", () => model.forward({ inputIds: [[2 ** 32 + 1]] }))).toBe(
      "[MiniMindForCausalLM] inputIds[0][0] is 4294967297; expected an integer that fits int32",
    );
  });
});

describe("generate: options and cancellation", () => {
  it("refuses unknown options and values of the wrong kind, naming the key", async () => {
    const cases: [string, object, RegExp][] = [
      ["maxTokens", { maxTokens: 4 }, /unknown option "maxTokens"/],
      ['doSample "yes"', { doSample: "yes" }, /doSample is "yes"; expected true or false/],
      ["eosTokenId -1", { eosTokenId: -1 }, /eosTokenId -1 is not a token id in \[0, 64\)/],
      ['topP "0.5"', { topP: "0.5" }, /topP is "0\.5"; expected a number in \(0, 1\]/],
      ["stopStrings 5", { stopStrings: 5, decode: String }, /stopStrings is 5; expected an array/],
      ["signal {}", { signal: {} }, /signal must be an AbortSignal/],
      ["cache {}", { cache: {} }, /cache must be a KeyValueCache/],
      ["maxNewTokens 1e7", { maxNewTokens: 1e7 }, /maxNewTokens \(10000000\) = 10000003 positions, more than/],
    ];
    for (const [label, options, expected] of cases) {
      expect(await cleanError(label, () => model.generate([[1, 2, 3]], options as never))).toMatch(expected);
    }
    // prompts are checked up front, even when no step would run
    expect(await cleanError("prompt 1.5", () => model.generate([[1, 1.5]], { maxNewTokens: 0 }))).toBe(
      "[generate] prompt row 0 holds 1.5 at position 1; token ids are integers in [0, 64)",
    );
  });

  it("AbortSignal.timeout(50) stops a long generation within 100 ms of the timeout", async () => {
    await model.generate([[1]], { maxNewTokens: 2, eosTokenId: [] }); // warm up kernels
    const start = performance.now();
    const result = model.generate([[1, 2, 3]], { maxNewTokens: 4000, eosTokenId: [], signal: AbortSignal.timeout(50) });
    await expect(result).rejects.toMatchObject({ name: "TimeoutError" });
    const elapsed = performance.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(45);
    expect(elapsed).toBeLessThan(150);
  });

  it("AbortSignal.timeout(50) stops a stream within 100 ms of the timeout too", async () => {
    const start = performance.now();
    let steps = 0;
    const consume = async () => {
      const signal = AbortSignal.timeout(50);
      for await (const _ of model.stream([[1, 2, 3]], { maxNewTokens: 4000, eosTokenId: [], signal })) steps++;
    };
    await expect(consume()).rejects.toMatchObject({ name: "TimeoutError" });
    const elapsed = performance.now() - start;
    expect(elapsed).toBeLessThan(150);
    expect(steps).toBeGreaterThan(0);
    expect(steps).toBeLessThan(4000);
  });
});
