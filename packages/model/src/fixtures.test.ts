/**
 * Every reference fixture in ../shared/fixtures/model, written by PyTorch + the `safetensors` package: the
 * reader must accept them, their names and shapes must be the ones the config implies, the parameter
 * count must equal the tensors' total size, and the BF16/F16 copies must widen to exactly the F32 weights.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { countParameters, parameterShapes, parseMiniMindConfig } from "./config.js";
import { readSafetensors, type SafetensorsTensor, tensorToFloat32, writeSafetensors } from "./safetensors.js";
import { assertStateDictMatchesConfig, stateDictToFloat32 } from "./state-dict.js";

const fixtures = new URL("../../../../shared/fixtures/model/", import.meta.url);
const cases = readdirSync(fixtures).sort();

function read(name: string, file: string) {
  const url = new URL(`${name}/${file}`, fixtures);
  return readSafetensors(readFileSync(url), { source: `${name}/${file}` });
}

function config(name: string) {
  return parseMiniMindConfig(
    JSON.parse(readFileSync(new URL(`${name}/config.json`, fixtures), "utf8")),
    `${name}/config.json`,
  );
}

function size(shape: readonly number[]): number {
  return shape.reduce((product, dimension) => product * dimension, 1);
}

function bits(data: SafetensorsTensor["data"]): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Byte-for-byte equality of two typed arrays, reported as the first differing byte (cheap on large tensors). */
function expectSameBits(actual: SafetensorsTensor["data"], expected: SafetensorsTensor["data"], label: string): void {
  const [a, b] = [bits(actual), bits(expected)];
  expect(a.length, `${label}: byte length`).toBe(b.length);
  let first = -1;
  for (let index = 0; index < a.length && first < 0; index++) if (a[index] !== b[index]) first = index;
  expect(first, `${label}: first differing byte`).toBe(-1);
}

describe("reference fixtures", () => {
  it("has the four documented cases", () => {
    expect(cases).toEqual(expect.arrayContaining(["dense-padded", "dense-tiny", "moe-tiny", "yarn-tiny"]));
  });

  describe.each(cases)("%s", (name) => {
    it("config.json parses, keeping every value the file gives", () => {
      const raw = JSON.parse(readFileSync(new URL(`${name}/config.json`, fixtures), "utf8"));
      const parsed = config(name) as unknown as Record<string, unknown>;
      for (const [field, value] of Object.entries(raw)) {
        if (field in parsed) expect(parsed[field], field).toEqual(value);
      }
      expect(parsed.use_moe).toBe(name === "moe-tiny");
      expect(parsed.inference_rope_scaling).toBe(name === "yarn-tiny");
    });

    it("model.safetensors holds exactly the config's parameters, in PyTorch order, all F32", () => {
      const parsed = config(name);
      const { tensors, metadata } = read(name, "model.safetensors");
      expect(metadata).toEqual({ format: "pt" });
      const expected = parameterShapes(parsed);
      expect([...tensors.keys()]).toEqual([...expected.keys()]);
      for (const [tensorName, tensor] of tensors) {
        expect(tensor.dtype).toBe("F32");
        expect(tensor.shape).toEqual(expected.get(tensorName));
      }
      expect(() => assertStateDictMatchesConfig(tensors, parsed, `${name}/model.safetensors`)).not.toThrow();
      const total = [...tensors.values()].reduce((sum, tensor) => sum + size(tensor.shape), 0);
      expect(countParameters(parsed)).toBe(total);
      expect(tensors.has("lm_head.weight")).toBe(false); // tied head omitted
    });

    it("io.safetensors has inputs, outputs and one gradient per parameter", () => {
      const parsed = config(name);
      const { tensors } = read(name, "io.safetensors");
      const inputIds = tensors.get("input_ids") as SafetensorsTensor;
      expect(inputIds.dtype).toBe("I32");
      const [batch, length] = inputIds.shape as [number, number];
      expect(tensors.get("labels")?.dtype).toBe("I32");
      expect(tensors.get("labels")?.shape).toEqual([batch, length]);
      expect(tensors.get("logits")?.dtype).toBe("F32");
      expect(tensors.get("logits")?.shape).toEqual([batch, length, parsed.vocab_size]);
      expect(tensors.get("loss")?.shape).toEqual([1]);
      expect(tensors.get("aux_loss")?.shape).toEqual([1]);
      for (const id of inputIds.data as Int32Array) {
        expect(id >= 0 && id < parsed.vocab_size).toBe(true);
      }
      const mask = tensors.get("attention_mask");
      if (mask !== undefined) expect(mask).toMatchObject({ dtype: "I32", shape: [batch, length] });
      const prefill = tensors.get("decode_prefill");
      if (prefill !== undefined) {
        expect(prefill.dtype).toBe("I32");
        expect(tensors.get("decode_logits")?.shape).toEqual([batch, length, parsed.vocab_size]);
      }
      const gradients = new Map(
        [...tensors].filter(([tensorName]) => tensorName.startsWith("grad.")).map(([n, t]) => [n.slice(5), t.shape]),
      );
      expect(gradients).toEqual(parameterShapes(parsed));
    });

    it("re-writing every file and reading it back is bit-exact", () => {
      for (const file of readdirSync(new URL(`${name}/`, fixtures)).filter((each) => each.endsWith(".safetensors"))) {
        const original = read(name, file);
        const back = readSafetensors(writeSafetensors(original.tensors, { metadata: original.metadata }));
        expect(back.metadata).toEqual(original.metadata);
        expect([...back.tensors.keys()].sort()).toEqual([...original.tensors.keys()].sort());
        for (const [tensorName, tensor] of original.tensors) {
          const copy = back.tensors.get(tensorName) as SafetensorsTensor;
          expect(copy.dtype).toBe(tensor.dtype);
          expect(copy.shape).toEqual(tensor.shape);
          expectSameBits(copy.data, tensor.data, `${file} ${tensorName}`);
        }
      }
    });
  });

  describe.each(["bf16", "f16"])("dense-tiny/model.%s.safetensors", (variant) => {
    it("widens to exactly the F32 weights", () => {
      const reference = read("dense-tiny", "model.safetensors").tensors;
      const { tensors } = read("dense-tiny", `model.${variant}.safetensors`);
      expect([...tensors.keys()]).toEqual([...reference.keys()]);
      for (const [tensorName, tensor] of tensors) {
        expect(tensor.dtype).toBe(variant.toUpperCase());
        const expected = reference.get(tensorName) as SafetensorsTensor<"F32">;
        expect(tensor.shape).toEqual(expected.shape);
        const widened = tensorToFloat32(tensor, tensorName);
        expectSameBits(widened, expected.data, tensorName);
      }
      const converted = stateDictToFloat32(tensors, config("dense-tiny"));
      for (const [tensorName, tensor] of converted) {
        expectSameBits(tensor.data, (reference.get(tensorName) as SafetensorsTensor).data, tensorName);
      }
    });
  });
});
