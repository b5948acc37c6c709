/**
 * The `.pth` reader on the reference checkpoints written by PyTorch (../shared/fixtures/model/<case>/model.pth,
 * model.fp16.pth): the same tensors as model.safetensors, bit for bit; the io.safetensors logits through the
 * model; fp16 files equal to the float32 weights rounded to fp16 by our own (independently tested) rounding.
 * Also: views with offsets and strides, a resume checkpoint's `model` entry, optimizer int tensors, and the
 * faults a reader must name. Hostile pickles and fuzzing are in pth-hostile.test.ts.
 */
import { readFileSync } from "node:fs";
import { noGrad, scope } from "@minimind/tensor";
import { describe, expect, it } from "vitest";
import { configOf, copy, fixtures, floats, maxAbsoluteDifference, readTensors, rows } from "./__fixtures__/parity.js";
import { archive, float, floatBytes, global, int, op, tensor, text } from "./__fixtures__/pickle-bytes.js";
import { float32ToFloat16 } from "./half-precision.js";
import { MiniMindForCausalLM } from "./model.js";
import { openPth, readPth } from "./pth.js";
import { writeZipArchive } from "./pytorch-zip.js";
import type { SafetensorsTensor } from "./safetensors.js";

function fixtureBytes(name: string, file: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`${name}/${file}`, fixtures)));
}

function bits(data: SafetensorsTensor["data"]): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function expectSameBits(actual: SafetensorsTensor["data"], expected: SafetensorsTensor["data"], label: string): void {
  expect(actual.constructor, label).toBe(expected.constructor);
  expect(Buffer.compare(bits(actual), bits(expected)), label).toBe(0);
}

describe.each(["dense-tiny", "moe-tiny"])("%s/model.pth", (name) => {
  const reference = readTensors(name, "model.safetensors");
  const { tensors, key } = readPth(fixtureBytes(name, "model.pth"), { source: `${name}/model.pth` });

  it("holds the safetensors tensors bit for bit, plus the tied lm_head.weight equal to the embedding", () => {
    expect(key).toBeUndefined();
    expect([...tensors.keys()]).toEqual([...reference.keys(), "lm_head.weight"]);
    for (const [tensorName, expected] of reference) {
      const actual = tensors.get(tensorName) as SafetensorsTensor;
      expect(actual.dtype, tensorName).toBe("F32");
      expect(actual.shape, tensorName).toEqual(expected.shape);
      expectSameBits(actual.data, expected.data, tensorName);
    }
    const head = tensors.get("lm_head.weight") as SafetensorsTensor;
    const embedding = tensors.get("model.embed_tokens.weight") as SafetensorsTensor;
    expectSameBits(head.data, embedding.data, "lm_head.weight");
    expect(head.data === embedding.data).toBe(false); // each tensor owns its array, shared storage or not
  });

  it("gives the io.safetensors logits within 1e-4 through fromStateDict", () => {
    const io = readTensors(name, "io.safetensors");
    const model = MiniMindForCausalLM.fromStateDict(configOf(name), tensors, `${name}/model.pth`);
    try {
      const inputIds = rows(io.get("input_ids"));
      const attentionMask = io.has("attention_mask") ? rows(io.get("attention_mask")) : undefined;
      const logits = scope(() => noGrad(() => copy(model.forward({ inputIds, attentionMask }).logits)));
      expect(maxAbsoluteDifference(logits, floats(io.get("logits")))).toBeLessThanOrEqual(1e-4);
    } finally {
      model.dispose();
    }
  });
});

describe.each(["dense-tiny", "moe-tiny"])("%s/model.fp16.pth", (name) => {
  it("loads to exactly the float32 weights rounded to float16, the tied pair stored twice", () => {
    const reference = readTensors(name, "model.safetensors");
    const archive = openPth(fixtureBytes(name, "model.fp16.pth"), { source: `${name}/model.fp16.pth` });
    expect(archive.archiveName).toBe("model.fp16");
    const fileBytes = fixtureBytes(name, "model.fp16.pth");
    const arrayBuffer = new ArrayBuffer(fileBytes.byteLength);
    new Uint8Array(arrayBuffer).set(fileBytes);
    const { tensors } = readPth(arrayBuffer); // an ArrayBuffer, as fetch() gives in a browser
    expect(new Set(tensors.keys())).toEqual(new Set([...reference.keys(), "lm_head.weight"]));
    for (const [tensorName, expected] of reference) {
      const actual = tensors.get(tensorName) as SafetensorsTensor;
      expect(actual.dtype, tensorName).toBe("F16");
      expect(actual.shape, tensorName).toEqual(expected.shape);
      expectSameBits(actual.data, float32ToFloat16(expected.data as Float32Array), tensorName);
    }
    const embedding = reference.get("model.embed_tokens.weight") as SafetensorsTensor<"F32">;
    expectSameBits(
      (tensors.get("lm_head.weight") as SafetensorsTensor).data,
      float32ToFloat16(embedding.data),
      "lm_head.weight",
    );
  });
});

const encoder = new TextEncoder();

describe("views, shared storages and checkpoints (hand-built)", () => {
  const storage = floatBytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

  it("materialises offsets and strides: a transposed view, a row slice, a column with stride", () => {
    const pickle = [
      ...op.proto2,
      ...op.emptyDict,
      ...op.mark,
      ...text("transposed"),
      ...tensor("FloatStorage", "0", 12, 0, [4, 3], [1, 4]), // storage as [3, 4], transposed
      ...text("rows"),
      ...tensor("FloatStorage", "0", 12, 4, [2, 4], [4, 1]), // rows 1–2 of [3, 4]
      ...text("column"),
      ...tensor("FloatStorage", "0", 12, 2, [3], [4]), // column 2 of [3, 4]
      ...text("scalar"),
      ...tensor("FloatStorage", "0", 12, 11, [], []),
      ...op.setItems,
      ...op.stop,
    ];
    const { tensors } = readPth(archive(pickle, { "0": storage }));
    expect(tensors.get("transposed")).toEqual({
      dtype: "F32",
      shape: [4, 3],
      data: new Float32Array([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]),
    });
    expect(tensors.get("rows")).toEqual({
      dtype: "F32",
      shape: [2, 4],
      data: new Float32Array([4, 5, 6, 7, 8, 9, 10, 11]),
    });
    expect(tensors.get("column")).toEqual({ dtype: "F32", shape: [3], data: new Float32Array([2, 6, 10]) });
    expect(tensors.get("scalar")).toEqual({ dtype: "F32", shape: [], data: new Float32Array([11]) });
  });

  it("reads the model entry of an upstream resume checkpoint, with optimizer state and int tensors beside it", () => {
    const model = [
      ...global("collections", "OrderedDict"),
      ...op.emptyTuple,
      ...op.reduce,
      ...op.mark,
      ...text("weight"),
      ...tensor("HalfStorage", "0", 2, 0, [2], [1]),
      ...op.setItems,
      // torch's state_dict() carries `_metadata` (set through BUILD)
      ...op.emptyDict,
      ...text("_metadata"),
      ...op.emptyDict,
      ...op.setItem,
      ...op.build,
    ];
    const optimizer = [
      ...op.emptyDict,
      ...op.mark,
      ...text("state"),
      ...op.emptyDict,
      ...int(0),
      ...op.emptyDict,
      ...op.mark,
      ...text("step"),
      ...tensor("LongStorage", "1", 1, 0, [], []),
      ...text("exp_avg"),
      ...tensor("FloatStorage", "2", 2, 0, [2], [1]),
      ...op.setItems,
      ...op.setItem,
      ...text("param_groups"),
      ...op.emptyList,
      ...op.mark,
      ...op.emptyDict,
      ...text("lr"),
      ...float(5e-4),
      ...op.setItem,
      ...op.appends,
      ...op.setItems,
    ];
    const pickle = [
      ...op.proto2,
      ...op.emptyDict,
      ...op.mark,
      ...text("model"),
      ...model,
      ...text("optimizer"),
      ...optimizer,
      ...text("epoch"),
      ...int(1),
      ...text("step"),
      ...int(7000),
      ...text("wandb_id"),
      ...op.none,
      ...op.setItems,
      ...op.stop,
    ];
    const bytes = archive(pickle, {
      "0": new Uint8Array(new Uint16Array([0x3c00, 0xc000]).buffer), // 1, -2 in float16
      "1": new Uint8Array(new BigInt64Array([7000n]).buffer),
      "2": floatBytes([0.5, 0.25]),
    });
    const { tensors, key } = readPth(bytes, { source: "pretrain_768_resume.pth" });
    expect(key).toBe("model");
    expect(tensors).toEqual(
      new Map([["weight", { dtype: "F16", shape: [2], data: new Uint16Array([0x3c00, 0xc000]) }]]),
    );
    const opened = openPth(bytes);
    const optimizerValue = (opened.value as { entries: Map<string, unknown> }).entries.get("optimizer") as {
      entries: Map<string, { entries: Map<number, { entries: Map<string, never> }> }>;
    };
    const step = optimizerValue.entries.get("state")?.entries.get(0)?.entries.get("step");
    expect(opened.readTensor(step as never, "step")).toEqual({
      dtype: "I64",
      shape: [],
      data: new BigInt64Array([7000n]),
    });
    expect(() => readPth(bytes, { key: "optimizer", source: "resume.pth" })).toThrow(
      '[pth] resume.pth: state dict entry "state" is a dict of 1, not a tensor',
    );
  });

  it("names the fault: a missing storage record, a record of the wrong size, a view past its storage", () => {
    const one = (view: number[]) => [...op.proto2, ...op.emptyDict, ...text("w"), ...view, ...op.setItem, ...op.stop];
    expect(() => readPth(archive(one(tensor("FloatStorage", "0", 12, 0, [12], [1])), {}), { source: "a.pth" })).toThrow(
      '[pth] a.pth: tensor "w": its storage record archive/data/0 is not in the archive',
    );
    expect(() =>
      readPth(archive(one(tensor("FloatStorage", "0", 13, 0, [12], [1])), { "0": storage }), { source: "a.pth" }),
    ).toThrow(
      '[pth] a.pth: tensor "w": storage record archive/data/0 has 48 bytes, but the pickle says 13 × 4-byte F32 = 52',
    );
    expect(() =>
      readPth(archive(one(tensor("FloatStorage", "0", 12, 1, [3, 4], [4, 1])), { "0": storage }), { source: "a.pth" }),
    ).toThrow(
      '[pth] a.pth: tensor "w": the view (shape [3, 4], stride [4, 1], offset 1) reaches element 12 of a 12-element storage',
    );
    expect(() =>
      readPth(archive(one(tensor("FloatStorage", "0", 12, 0, [1000, 12], [0, 1])), { "0": storage }), {
        source: "a.pth",
      }),
    ).toThrow("has more elements than its storage (12); expanded views are not read");
  });

  it("refuses a big-endian file and a dict that holds no state dict, saying where to look", () => {
    const empty = [...op.proto2, ...op.emptyDict, ...text("epoch"), ...int(3), ...op.setItem, ...op.stop];
    expect(() => readPth(archive(empty, {}), { source: "b.pth" })).toThrow(
      '[pth] b.pth: archive/data.pkl: the file holds a dict of 1 (keys "epoch") that is not a state dict, and its "model" entry is not one either (there is none); pass `key` to name where the state dict is',
    );
    const bigEndian = writeZipArchive([
      ["archive/data.pkl", new Uint8Array([...op.proto2, ...op.emptyDict, ...op.stop])],
      ["archive/byteorder", encoder.encode("big")],
    ]);
    expect(() => readPth(bigEndian, { source: "c.pth" })).toThrow(
      '[pth] c.pth: archive/byteorder is "big"; only little-endian files are read',
    );
  });
});
