/**
 * `fromPretrained` on PyTorch checkpoints and `savePretrained({ format: "pth" })`: the fixtures' upstream-style
 * `model.pth` (named directly, or as the only weights of a folder) gives the PyTorch reference logits, and a
 * model saved as `.pth` loads back to the same logits. The `@minimind/model/pytorch` entry lists its exports.
 */
import { copyFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { noGrad, scope } from "@minimind/tensor";
import { describe, expect, it } from "vitest";
import { configOf, fixtures, floats, maxAbsoluteDifference, readTensors, rows } from "./__fixtures__/parity.js";
import { MiniMindForCausalLM } from "./model.js";
import * as pytorchEntry from "./pytorch-entry.js";

function logitsOf(model: MiniMindForCausalLM, io: Map<string, unknown>): Float32Array {
  const inputIds = rows(io.get("input_ids") as never);
  return noGrad(() => scope(() => Float32Array.from(model.forward({ inputIds }).logits.dataSync() as Float32Array)));
}

describe("fromPretrained reads PyTorch checkpoints", () => {
  for (const name of ["dense-tiny", "moe-tiny"]) {
    it(`${name}: model.pth by path, and a folder holding only model.pth + config.json`, async () => {
      const io = readTensors(name, "io.safetensors");
      const expected = floats(io.get("logits"));
      const byPath = await MiniMindForCausalLM.fromPretrained(new URL(`${name}/model.pth`, fixtures).pathname);
      expect(maxAbsoluteDifference(logitsOf(byPath, io), expected)).toBeLessThan(1e-4);
      byPath.dispose();
      const directory = await mkdtemp(join(tmpdir(), "minimind-pth-"));
      try {
        await copyFile(new URL(`${name}/model.pth`, fixtures), join(directory, "model.pth"));
        await copyFile(new URL(`${name}/config.json`, fixtures), join(directory, "config.json"));
        const byFolder = await MiniMindForCausalLM.fromPretrained(directory);
        expect(maxAbsoluteDifference(logitsOf(byFolder, io), expected)).toBeLessThan(1e-4);
        // and back out in upstream's layout: model.pth (tied head listed) loads to the same logits
        const saved = join(directory, "saved");
        expect(await byFolder.savePretrained(saved, { format: "pth" })).toEqual([join(saved, "model.pth")]);
        expect((await readdir(saved)).sort()).toEqual(["config.json", "model.pth"]);
        const reloaded = await MiniMindForCausalLM.fromPretrained(saved);
        expect(maxAbsoluteDifference(logitsOf(reloaded, io), logitsOf(byFolder, io))).toBe(0);
        reloaded.dispose();
        byFolder.dispose();
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    });
  }

  it("refuses an unknown format", async () => {
    const model = new MiniMindForCausalLM(configOf("dense-tiny"));
    await expect(model.savePretrained(tmpdir(), { format: "gguf" as never })).rejects.toThrow(
      /format is "gguf"; expected "safetensors" or "pth"/,
    );
    model.dispose();
  });

  it("@minimind/model/pytorch exports exactly the curated names", () => {
    expect(Object.keys(pytorchEntry).sort()).toEqual(
      [
        "PickleDict",
        "PickleGlobal",
        "PickleTuple",
        "StorageReference",
        "TensorReference",
        "findPthFile",
        "openPth",
        "readPth",
        "readPthFile",
        "withTiedLmHead",
        "writePth",
        "writePthFile",
      ].sort(),
    );
  });
});
