import { describe, expect, it } from "vitest";
import { readSafetensors, type SafetensorsTensor } from "./safetensors.js";
import {
  joinSafetensorsShards,
  parseSafetensorsIndex,
  type SafetensorsIndex,
  safetensorsIndexToJson,
  shardSafetensors,
} from "./sharded-safetensors.js";

function tensor(values: number[]): SafetensorsTensor {
  return { dtype: "F32", shape: [values.length], data: new Float32Array(values) };
}

// 16 + 8 + 24 + 4 bytes of F32 data
const tensors = new Map<string, SafetensorsTensor>([
  ["a", tensor([1, 2, 3, 4])],
  ["b", tensor([5, 6])],
  ["c", tensor([7, 8, 9, 10, 11, 12])],
  ["d", { dtype: "BF16", shape: [2], data: new Uint16Array([0x3f80, 0x4000]) }],
]);

describe("shardSafetensors", () => {
  it("keeps everything in model.safetensors, with no index, when it fits one shard", () => {
    const { files, index } = shardSafetensors(tensors, { maxShardBytes: 52 });
    expect([...files.keys()]).toEqual(["model.safetensors"]);
    expect(index).toBeUndefined();
    expect([...readSafetensors(files.get("model.safetensors") as Uint8Array).tensors.keys()].sort()).toEqual([
      "a",
      "b",
      "c",
      "d",
    ]);
  });

  it("splits greedily in order at the byte limit; an oversized tensor gets a shard of its own", () => {
    // limit 20: [a 16] + b 8 > 20 → [a] | [b 8] + c 24 > 20 → [b] | [c 24] (alone, over the limit) | [d 4]
    const { files, index } = shardSafetensors(tensors, { maxShardBytes: 20, metadata: { format: "pt" } });
    expect([...files.keys()]).toEqual([
      "model-00001-of-00004.safetensors",
      "model-00002-of-00004.safetensors",
      "model-00003-of-00004.safetensors",
      "model-00004-of-00004.safetensors",
    ]);
    expect(safetensorsIndexToJson(index as SafetensorsIndex)).toEqual({
      metadata: { total_size: 52 },
      weight_map: {
        a: "model-00001-of-00004.safetensors",
        b: "model-00002-of-00004.safetensors",
        c: "model-00003-of-00004.safetensors",
        d: "model-00004-of-00004.safetensors",
      },
    });
    const shard = readSafetensors(files.get("model-00003-of-00004.safetensors") as Uint8Array);
    expect(shard.metadata).toEqual({ format: "pt" });
    expect(shard.tensors.get("c")?.data).toEqual(new Float32Array([7, 8, 9, 10, 11, 12]));
  });

  it("round-trips bit-exactly through join", () => {
    for (const maxShardBytes of [1, 20, 24, 28, 1000]) {
      const { files, index } = shardSafetensors(tensors, { maxShardBytes });
      const joined =
        index === undefined
          ? readSafetensors(files.get("model.safetensors") as Uint8Array).tensors
          : joinSafetensorsShards(
              parseSafetensorsIndex(JSON.parse(JSON.stringify(safetensorsIndexToJson(index)))),
              (file) => files.get(file),
            );
      expect(new Set(joined.keys())).toEqual(new Set(tensors.keys()));
      for (const [name, original] of tensors) expect(joined.get(name)).toEqual(original);
    }
  });

  it("writes an empty state dict as an empty model.safetensors", () => {
    const { files, index } = shardSafetensors(new Map());
    expect(index).toBeUndefined();
    expect(readSafetensors(files.get("model.safetensors") as Uint8Array).tensors.size).toBe(0);
  });

  it("rejects a non-positive shard size", () => {
    expect(() => shardSafetensors(tensors, { maxShardBytes: 0 })).toThrow(
      "[safetensors] model.safetensors.index.json: maxShardBytes is 0; expected a positive integer number of bytes",
    );
  });
});

describe("joinSafetensorsShards", () => {
  const { files, index } = shardSafetensors(tensors, { maxShardBytes: 20 });
  const shardIndex = index as SafetensorsIndex;

  it("fails on a shard that is missing", () => {
    expect(() =>
      joinSafetensorsShards(shardIndex, (file) => (file.startsWith("model-00002") ? undefined : files.get(file))),
    ).toThrow(
      '[safetensors] model.safetensors.index.json: shard "model-00002-of-00004.safetensors" named in "weight_map" is missing',
    );
  });

  it("fails on a tensor the weight map does not list, or lists under another shard", () => {
    const unlisted = new Map(shardIndex.weightMap);
    unlisted.delete("a");
    unlisted.set("z", "model-00001-of-00004.safetensors");
    expect(() => joinSafetensorsShards({ ...shardIndex, weightMap: unlisted }, (file) => files.get(file))).toThrow(
      '[safetensors] model-00001-of-00004.safetensors: tensor "a" is not listed in model.safetensors.index.json\'s "weight_map"',
    );
    const swapped = new Map(shardIndex.weightMap);
    swapped.set("a", "model-00002-of-00004.safetensors");
    swapped.set("b", "model-00001-of-00004.safetensors");
    expect(() => joinSafetensorsShards({ ...shardIndex, weightMap: swapped }, (file) => files.get(file))).toThrow(
      '[safetensors] model-00002-of-00004.safetensors: tensor "b" is listed in model.safetensors.index.json under shard "model-00001-of-00004.safetensors", not this one',
    );
  });

  it("fails on a listed tensor that its shard lacks", () => {
    const extra = new Map(shardIndex.weightMap).set("e", "model-00004-of-00004.safetensors");
    expect(() => joinSafetensorsShards({ ...shardIndex, weightMap: extra }, (file) => files.get(file))).toThrow(
      '[safetensors] model.safetensors.index.json: tensor "e" is listed under shard "model-00004-of-00004.safetensors" but that shard lacks it',
    );
  });

  it("names the shard file when a shard itself is corrupt", () => {
    const corrupt = (file: string) => (file.startsWith("model-00003") ? new Uint8Array(4) : files.get(file));
    expect(() => joinSafetensorsShards(shardIndex, corrupt)).toThrow(
      "[safetensors] model-00003-of-00004.safetensors: the file is 4 bytes",
    );
  });
});

describe("parseSafetensorsIndex", () => {
  it("reads weight_map and metadata", () => {
    const index = parseSafetensorsIndex({
      metadata: { total_size: 8 },
      weight_map: { a: "model-00001-of-00001.safetensors" },
    });
    expect(index.metadata).toEqual({ total_size: 8 });
    expect([...index.weightMap]).toEqual([["a", "model-00001-of-00001.safetensors"]]);
  });

  const invalid: [string, unknown, string][] = [
    ["an array", [], "the index must be a JSON object { metadata, weight_map }"],
    ["no weight_map", { metadata: {} }, '"weight_map" is missing or not an object'],
    ["a non-object metadata", { metadata: 3, weight_map: {} }, '"metadata" must be an object, got 3'],
    [
      "a shard path outside the folder",
      { weight_map: { a: "../model.safetensors" } },
      '"weight_map"."a" is "../model.safetensors"; expected a .safetensors file name in the same folder',
    ],
    ["a shard that is not safetensors", { weight_map: { a: "model.bin" } }, '"weight_map"."a" is "model.bin"'],
    ["a non-string shard", { weight_map: { a: 1 } }, '"weight_map"."a" is 1'],
  ];
  it.each(invalid)("rejects %s", (_, json, message) => {
    expect(() => parseSafetensorsIndex(json, "ckpt/model.safetensors.index.json")).toThrow(
      `[safetensors] ckpt/model.safetensors.index.json: ${message}`,
    );
  });
});
