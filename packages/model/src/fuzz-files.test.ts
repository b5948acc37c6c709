/**
 * Fuzzing what a model folder holds (fast-check, fixed seeds, 8,800 cases): safetensors headers built from
 * hostile pieces, valid files with mutated bodies and header lengths, the same bytes read from disk,
 * config.json objects and texts (duplicate keys included), shard indexes against their shards, and whole
 * folders (a config field, a tensor dropped, renamed, reshaped or poisoned) through fromPretrained. Every case
 * runs under the watchdog (1 s, 200 MB, no raw engine error) and a result is checked against an independent
 * expectation: tensor bytes equal the input's at their offsets, a config within MINIMIND_CONFIG_LIMITS, a
 * joined checkpoint equal to the tensors the shards were made from, a loaded model holding the written
 * weights. Not here: generate options, tokenizer and chat input (fuzz-inputs.test.ts); the `.pth` reader has
 * its own (pth-fuzz.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuzzCase, printTallies, totalCases } from "./__fixtures__/fuzz-tally.js";
import {
  countParameters,
  countParameterTensors,
  createMiniMindConfig,
  MINIMIND_CONFIG_LIMITS,
  maxPositions,
  miniMindConfigToJson,
  parameterShapes,
  parseMiniMindConfig,
  validateMiniMindConfig,
} from "./config.js";
import { MiniMindForCausalLM } from "./model.js";
import { readSafetensors, type SafetensorsContents, type SafetensorsTensor, writeSafetensors } from "./safetensors.js";
import { readMiniMindConfigFile, readSafetensorsFile, writeSafetensorsCheckpoint } from "./safetensors-files.js";
import { joinSafetensorsShards, parseSafetensorsIndex } from "./sharded-safetensors.js";

const encoder = new TextEncoder();
let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "minimind-fuzz-"));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  printTallies("fuzz-files");
});

/** A safetensors file: 8-byte little-endian length (or `declaredLength`), header text, body. */
function fileBytes(headerText: string, body: Uint8Array, declaredLength?: bigint): Uint8Array {
  const header = encoder.encode(headerText);
  const bytes = new Uint8Array(8 + header.length + body.length);
  new DataView(bytes.buffer).setBigUint64(0, declaredLength ?? BigInt(header.length), true);
  bytes.set(header, 8);
  bytes.set(body, 8 + header.length);
  return bytes;
}

const elementBytes: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1 };

/**
 * Checks a successful read against the file itself: every tensor's bytes are the file's bytes at its
 * offsets, its length is shape × dtype, and the tensors cover the data section exactly.
 */
function checkAgainstFile(contents: SafetensorsContents, bytes: Uint8Array): void {
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  let covered = 0;
  for (const [name, tensor] of contents.tensors) {
    const entry = header[name];
    expect(entry).toBeDefined();
    const [begin, end] = entry?.data_offsets ?? [0, 0];
    const size = (entry?.shape ?? []).reduce((product, extent) => product * extent, 1);
    expect(end - begin).toBe(size * (elementBytes[entry?.dtype ?? ""] ?? Number.NaN));
    const view = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    const start = 8 + headerLength + begin;
    expect(view).toEqual(bytes.subarray(start, 8 + headerLength + end));
    covered += end - begin;
  }
  expect(covered).toBe(bytes.length - 8 - headerLength);
}

// Pieces of headers: valid and hostile dtypes, shapes and offsets.
const dtype = fc.oneof(
  fc.constantFrom("F32", "F16", "BF16", "I32", "I64", "U8", "I8", "F64", "BOOL", "F8_E4M3", "f32", ""),
  fc.jsonValue({ maxDepth: 2 }),
);
const extent = fc.oneof(
  fc.nat({ max: 5 }),
  fc.constantFrom(-1, 1.5, 2 ** 31, 2 ** 53, 2 ** 64, 1e308, "2", null, true),
);
const shape = fc.oneof(fc.array(fc.nat({ max: 5 }), { maxLength: 4 }), fc.array(extent, { maxLength: 5 }));
const offset = fc.oneof(fc.nat({ max: 400 }), fc.constantFrom(-1, 0.5, 2 ** 53, 2 ** 64, 1e308, "0", null));
const entry = fc.record(
  {
    dtype,
    shape,
    data_offsets: fc.oneof(fc.tuple(offset, offset), fc.array(offset, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
    extra: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: [] },
);
const hostileHeader = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("__metadata__", "", "a\u0000b", "\ud800")),
  fc.oneof(entry, fc.jsonValue({ maxDepth: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.string())),
  { maxKeys: 5 },
);

/** A valid header and body of 1–4 small tensors, in file order. */
const validFile = fc
  .array(
    fc.tuple(
      fc.constantFrom("F32", "F16", "BF16", "I32", "I64", "U8", "F64"),
      fc.array(fc.nat({ max: 4 }), { maxLength: 3 }),
    ),
    {
      minLength: 1,
      maxLength: 4,
    },
  )
  .map((tensors) => {
    const header: Record<string, unknown> = {};
    let position = 0;
    tensors.forEach(([type, dims], index) => {
      const length = dims.reduce((product, size) => product * size, 1) * (elementBytes[type] as number);
      header[`t${index}`] = { dtype: type, shape: dims, data_offsets: [position, position + length] };
      position += length;
    });
    const body = Uint8Array.from({ length: position }, (_, index) => (index * 37 + 11) & 255);
    return { headerText: JSON.stringify(header), body };
  });

/** Reads `bytes` in memory; on success the tensors must be the file's bytes. */
function readChecked(bytes: Uint8Array): SafetensorsContents {
  const contents = readSafetensors(bytes, { source: "fuzz.safetensors" });
  checkAgainstFile(contents, bytes);
  return contents;
}

describe("safetensors headers and bodies", () => {
  it("hostile headers: a clean refusal or tensors equal to the file's bytes (3,000 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileHeader,
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom("plain", "duplicate", "length+1", "length-1", "huge length", "not utf-8"),
        async (header, body, twist) => {
          let text = JSON.stringify(header);
          if (twist === "duplicate" && text.length > 2)
            text = `{"k":1,${text.slice(1, -1)}${text.length > 2 ? "," : ""}"k":2}`;
          let bytes = fileBytes(text, body);
          if (twist === "length+1") bytes = fileBytes(text, body, BigInt(encoder.encode(text).length + 1));
          if (twist === "length-1") bytes = fileBytes(text, body, BigInt(Math.max(encoder.encode(text).length - 1, 0)));
          if (twist === "huge length") bytes = fileBytes(text, body, 2n ** 63n);
          if (twist === "not utf-8" && bytes.length > 9) bytes[9] = 0xff;
          await fuzzCase("safetensors header", () => readChecked(bytes));
        },
      ),
      { numRuns: 3_000, seed: 18_001 },
    );
  });

  it("valid files with flipped, cut and appended bytes (1,500 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(
        validFile,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.integer({ min: -16, max: 16 }),
        async ({ headerText, body }, flips, resize) => {
          const original = fileBytes(headerText, body);
          let bytes = original.slice();
          for (const [position, value] of flips) bytes[position % bytes.length] = value;
          if (resize < 0) bytes = bytes.subarray(0, Math.max(bytes.length + resize, 0));
          else if (resize > 0) bytes = Uint8Array.from([...bytes, ...new Array<number>(resize).fill(7)]);
          const outcome = await fuzzCase("safetensors body", () => readChecked(bytes));
          if (flips.length === 0 && resize === 0) expect(outcome.kind).toBe("result");
        },
      ),
      { numRuns: 1_500, seed: 18_002 },
    );
  });

  it("the same bytes read from a file on disk give the same tensors or the same refusal (300 cases)", async () => {
    let index = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          validFile.map(({ headerText, body }) => fileBytes(headerText, body)),
          validFile.map(({ headerText, body }) => fileBytes(headerText, body).subarray(0, 9 + headerText.length / 2)),
          fc.uint8Array({ maxLength: 40 }),
        ),
        async (bytes) => {
          index += 1;
          const file = join(root, `fuzz-${index}.safetensors`);
          writeFileSync(file, bytes);
          const fromDisk = await fuzzCase("safetensors file", () => readSafetensorsFile(file));
          let inMemory: SafetensorsContents | Error;
          try {
            inMemory = readChecked(bytes);
          } catch (error) {
            inMemory = error as Error;
          }
          if (fromDisk.kind === "result")
            expect((fromDisk.value as SafetensorsContents).tensors).toEqual((inMemory as SafetensorsContents).tensors);
          else expect(fromDisk.message.replace(file, "fuzz.safetensors")).toBe((inMemory as Error).message);
        },
      ),
      { numRuns: 300, seed: 18_003 },
    );
  });
});

// config.json fields with values from valid to hostile.
const sizeFields = [
  "hidden_size",
  "num_hidden_layers",
  "num_attention_heads",
  "num_key_value_heads",
  "head_dim",
  "intermediate_size",
  "vocab_size",
  "max_position_embeddings",
  "num_experts",
  "num_experts_per_tok",
  "moe_intermediate_size",
] as const;
const hostileNumber = fc.oneof(
  fc.constantFrom(0, -1, 1, 2, 4, 8, 16, 64, 1.5, 1e9, 1e12, 2 ** 53, 1e308, -0),
  fc.integer({ min: -10, max: 5_000 }),
  fc.double(),
);
const hostileValue = fc.oneof(
  { weight: 6, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom("8", true, null, [], [8], {}, "silu", "yarn") },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const configObject = fc.record(
  {
    model_type: fc.constantFrom("minimind", "qwen3", "qwen3_moe", "llama", null),
    ...Object.fromEntries(sizeFields.map((field) => [field, hostileValue])),
    bos_token_id: hostileValue,
    eos_token_id: fc.oneof(hostileValue, fc.array(hostileNumber, { maxLength: 3 })),
    use_moe: fc.oneof(fc.boolean(), hostileValue),
    tie_word_embeddings: fc.oneof(fc.boolean(), hostileValue),
    inference_rope_scaling: fc.oneof(fc.boolean(), hostileValue),
    rope_scaling: fc.oneof(
      fc.constant(null),
      fc.record(
        {
          type: fc.constantFrom("yarn", "linear"),
          factor: hostileNumber,
          original_max_position_embeddings: hostileNumber,
        },
        { requiredKeys: [] },
      ),
      hostileValue,
    ),
    rope_theta: hostileValue,
    rms_norm_eps: hostileValue,
    dropout: hostileValue,
    hidden_act: fc.constantFrom("silu", "gelu", 1),
  },
  { requiredKeys: [] },
);

/** A small valid config with up to three fields replaced by hostile values: reaches the deeper checks. */
const nearlyValidConfig = fc
  .tuple(
    fc.subarray([...sizeFields, "eos_token_id", "bos_token_id", "rope_theta", "use_moe"], { maxLength: 3 }),
    fc.array(hostileValue, { minLength: 3, maxLength: 3 }),
    fc.boolean(),
  )
  .map(([fields, values, moe]) => {
    const json: Record<string, unknown> = {
      model_type: "minimind",
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      vocab_size: 64,
      max_position_embeddings: 128,
      use_moe: moe,
    };
    fields.forEach((field, index) => {
      json[field] = values[index];
    });
    return json;
  });

/** A parsed config must satisfy every limit, and count its parameters as parameterShapes lists them. */
function checkConfig(json: unknown): unknown {
  const config = parseMiniMindConfig(json, "config.json");
  validateMiniMindConfig(config);
  for (const field of sizeFields) expect(config[field]).toBeLessThanOrEqual(MINIMIND_CONFIG_LIMITS[field]);
  expect(maxPositions(config)).toBeLessThanOrEqual(MINIMIND_CONFIG_LIMITS.max_position_embeddings);
  expect(4 * countParameters(config)).toBeLessThanOrEqual(MINIMIND_CONFIG_LIMITS.parameterBytes);
  for (const id of [config.bos_token_id, config.eos_token_id].flat()) expect(id).toBeLessThan(config.vocab_size);
  if (countParameterTensors(config) <= 2_000) {
    let total = 0;
    for (const dims of parameterShapes(config).values()) total += dims.reduce((product, size) => product * size, 1);
    expect(total).toBe(countParameters(config));
  }
  return config;
}

describe("config.json", () => {
  it("hostile field values: a clean refusal or a config within every limit (2,500 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 5, arbitrary: configObject },
          { weight: 4, arbitrary: nearlyValidConfig },
          { weight: 1, arbitrary: fc.jsonValue() },
        ),
        async (json) => {
          await fuzzCase("config object", () => checkConfig(json));
        },
      ),
      { numRuns: 2_500, seed: 18_004 },
    );
  });

  it("config.json texts on disk, duplicate keys and garbage included (300 cases)", async () => {
    let index = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(configObject, nearlyValidConfig),
        fc.constantFrom("plain", "duplicate", "cut", "garbage"),
        async (json, twist) => {
          index += 1;
          const file = join(root, `config-${index}.json`);
          let text = JSON.stringify(json);
          if (twist === "duplicate") text = `{"hidden_size":64,"hidden_size":64,${text.slice(1)}`.replace(",}", "}");
          if (twist === "cut") text = text.slice(0, text.length >> 1);
          if (twist === "garbage") text = `\u0000${text}`;
          writeFileSync(file, text);
          const outcome = await fuzzCase("config file", async () => checkConfig(await readMiniMindConfigFile(file)));
          if (twist !== "plain") expect(outcome.kind).toBe("clean");
        },
      ),
      { numRuns: 300, seed: 18_005 },
    );
  });
});

describe("shard indexes", () => {
  const tensors = new Map<string, SafetensorsTensor>([
    ["a", { dtype: "F32", shape: [2], data: Float32Array.from([1, 2]) }],
    ["b", { dtype: "F32", shape: [1, 2], data: Float32Array.from([3, 4]) }],
    ["c", { dtype: "I32", shape: [3], data: Int32Array.from([5, 6, 7]) }],
  ]);
  const shardFiles = new Map<string, Uint8Array>([
    ["model-00001-of-00002.safetensors", writeSafetensors(new Map([...tensors].slice(0, 2)))],
    ["model-00002-of-00002.safetensors", writeSafetensors(new Map([...tensors].slice(2)))],
  ]);
  const fullMap = {
    a: "model-00001-of-00002.safetensors",
    b: "model-00001-of-00002.safetensors",
    c: "model-00002-of-00002.safetensors",
  };
  const fileNames = fc.constantFrom(
    "model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors",
    "model-00003-of-00002.safetensors",
    "../model-00001-of-00002.safetensors",
    "a/b.safetensors",
    "model.bin",
    "",
  );

  it("hostile weight maps: a clean refusal or exactly the tensors the shards hold (1,000 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record(
            {
              metadata: fc.oneof(fc.constant({ total_size: 24 }), fc.jsonValue({ maxDepth: 1 })),
              weight_map: fc.oneof(
                fc.dictionary(
                  fc.constantFrom("a", "b", "c", "d", "__metadata__"),
                  fc.oneof(fileNames, fc.jsonValue({ maxDepth: 1 })),
                ),
                fc.constant(fullMap),
              ),
            },
            { requiredKeys: [] },
          ),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        async (json) => {
          const outcome = await fuzzCase("shard index", () => {
            const index = parseSafetensorsIndex(json, "model.safetensors.index.json");
            const joined = joinSafetensorsShards(index, (file) => shardFiles.get(file), "model.safetensors.index.json");
            // independent expectation: the weight map names exactly the tensors, each in the shard that holds it
            expect([...joined.keys()].sort()).toEqual([...index.weightMap.keys()].sort());
            for (const [name, tensor] of joined) expect(tensor).toEqual(tensors.get(name));
            return joined;
          });
          const record = json as { weight_map?: unknown; metadata?: unknown } | null;
          const metadata = record?.metadata;
          const complete =
            JSON.stringify(record?.weight_map) === JSON.stringify(fullMap) &&
            (metadata === undefined || (typeof metadata === "object" && metadata !== null && !Array.isArray(metadata)));
          if (complete) expect(outcome.kind === "result" && (outcome.value as Map<string, unknown>).size).toBe(3);
        },
      ),
      { numRuns: 1_000, seed: 18_006 },
    );
  });
});

describe("whole checkpoint folders", () => {
  const base = createMiniMindConfig({
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    vocab_size: 32,
    max_position_embeddings: 32,
  });
  const source = new MiniMindForCausalLM(base, { seed: 3 });
  const weights = source.stateDict();
  afterAll(() => source.dispose());
  const names = [...weights.keys()];

  /** One change to a valid folder: a config field, a tensor dropped, renamed, reshaped or poisoned, or none. */
  const change = fc.oneof(
    fc.constant({ kind: "none" as const }),
    fc.record({
      kind: fc.constant("field" as const),
      field: fc.constantFrom(...sizeFields, "eos_token_id"),
      value: hostileValue,
    }),
    fc.record({
      kind: fc.constantFrom("drop" as const, "rename" as const, "reshape" as const, "poison" as const),
      tensor: fc.constantFrom(...names),
    }),
  );

  it("fromPretrained on mutated folders: a clean refusal or the written weights, exactly (200 cases)", async () => {
    let index = 0;
    await fc.assert(
      fc.asyncProperty(change, fc.boolean(), async (mutation, strict) => {
        index += 1;
        const directory = join(root, `folder-${index}`);
        const configJson: Record<string, unknown> = miniMindConfigToJson(base);
        const tensors = new Map(weights);
        if (mutation.kind === "field") configJson[mutation.field] = mutation.value;
        if (mutation.kind !== "none" && mutation.kind !== "field") {
          const tensor = tensors.get(mutation.tensor) as SafetensorsTensor<"F32">;
          tensors.delete(mutation.tensor);
          if (mutation.kind === "rename") tensors.set(`${mutation.tensor}.renamed`, tensor);
          if (mutation.kind === "reshape") tensors.set(mutation.tensor, { ...tensor, shape: [1, tensor.data.length] });
          if (mutation.kind === "poison") {
            const data = Float32Array.from(tensor.data);
            data[data.length >> 1] = Number.NaN;
            tensors.set(mutation.tensor, { ...tensor, data });
          }
        }
        await writeSafetensorsCheckpoint(directory, tensors);
        writeFileSync(join(directory, "config.json"), JSON.stringify(configJson));
        // The budget times the load; the value-for-value comparison (test harness work, slow under CI load) runs after.
        let loaded: Map<string, Float32Array> | undefined;
        const outcome = await fuzzCase("checkpoint folder", async () => {
          const model = await MiniMindForCausalLM.fromPretrained(directory, { strict, warn: () => undefined });
          try {
            const values = new Map<string, Float32Array>();
            for (const [name, parameter] of model.stateDict()) {
              if (tensors.has(name)) values.set(name, Float32Array.from(parameter.data as Float32Array));
            }
            loaded = values;
            return model.config;
          } finally {
            model.dispose();
          }
        });
        // every tensor the folder holds under a parameter's name is that parameter, value for value
        for (const [name, values] of loaded ?? []) expect(values).toEqual(tensors.get(name)?.data);
        if (mutation.kind === "none") expect(outcome.kind).toBe("result");
        if (mutation.kind === "poison" || mutation.kind === "reshape") expect(outcome.kind).toBe("clean");
        if (strict && (mutation.kind === "drop" || mutation.kind === "rename")) expect(outcome.kind).toBe("clean");
        rmSync(directory, { recursive: true, force: true });
      }),
      { numRuns: 200, seed: 18_007 },
    );
  });
});

describe("counts", () => {
  it("ran at least 8,800 cases in this file", () => {
    expect(totalCases()).toBeGreaterThanOrEqual(8_800);
  });
});
