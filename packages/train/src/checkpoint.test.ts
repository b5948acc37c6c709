import { readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CheckpointError, latestCheckpoint, listCheckpoints, readCheckpoint, writeCheckpoint } from "./checkpoint.js";
import { temporaryDirectory } from "./test-support/tiny.js";

const bytes = (...values: number[]) => new Uint8Array(values);

describe("checkpoints", () => {
  it("writes checkpoint-<step>/ with trainer_state.json recording sizes and digests, and reads it back", async () => {
    const root = temporaryDirectory();
    const directory = await writeCheckpoint(root, 7, new Map([["a.bin", bytes(1, 2, 3)]]), { note: "x" });
    expect(directory).toBe(join(root, "checkpoint-7"));
    expect(readdirSync(root)).toEqual(["checkpoint-7"]);
    const state = JSON.parse(readFileSync(join(directory, "trainer_state.json"), "utf8"));
    expect(state.global_step).toBe(7);
    expect(state.note).toBe("x");
    // SHA-256 of the bytes 01 02 03, computed independently.
    expect(state.files["a.bin"]).toEqual({
      bytes: 3,
      sha256: "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81",
    });
    const loaded = await readCheckpoint(directory);
    expect([...(loaded.files.get("a.bin") as Uint8Array)]).toEqual([1, 2, 3]);
  });

  it("keeps only the newest keepLast checkpoints", async () => {
    const root = temporaryDirectory();
    for (const step of [10, 20, 30, 40]) await writeCheckpoint(root, step, new Map(), {}, { keepLast: 2 });
    expect(await listCheckpoints(root)).toEqual([30, 40]);
    expect(await latestCheckpoint(root)).toBe(join(root, "checkpoint-40"));
  });

  it("refuses a truncated file, a corrupted file and a truncated trainer_state.json, naming file and fault", async () => {
    const root = temporaryDirectory();
    const files = new Map([["model.safetensors", new Uint8Array(64).fill(7)]]);
    const truncated = await writeCheckpoint(root, 1, files, {});
    truncateSync(join(truncated, "model.safetensors"), 40);
    await expect(readCheckpoint(truncated)).rejects.toThrow(
      `[checkpoint] ${join(truncated, "model.safetensors")}: 40 bytes where trainer_state.json records 64; the file is truncated`,
    );

    const corrupted = await writeCheckpoint(root, 2, files, {});
    const data = readFileSync(join(corrupted, "model.safetensors"));
    data[10] = 8;
    writeFileSync(join(corrupted, "model.safetensors"), data);
    await expect(readCheckpoint(corrupted)).rejects.toThrow(
      `${join(corrupted, "model.safetensors")}: SHA-256 differs from the one trainer_state.json records; the file is corrupted`,
    );

    const badState = await writeCheckpoint(root, 3, files, {});
    truncateSync(join(badState, "trainer_state.json"), 20);
    await expect(readCheckpoint(badState)).rejects.toThrow(
      new RegExp(`${join(badState, "trainer_state.json")}: not valid JSON .*truncated or corrupted`),
    );
    await expect(readCheckpoint(join(root, "checkpoint-99"))).rejects.toBeInstanceOf(CheckpointError);
  });

  it("a failed write leaves the previous checkpoint intact and no partial folder behind", async () => {
    const root = temporaryDirectory();
    await writeCheckpoint(root, 5, new Map([["a.bin", bytes(5)]]), {});
    await expect(
      writeCheckpoint(
        root,
        6,
        new Map([
          ["a.bin", bytes(6)],
          ["../escape", bytes(0)],
        ]),
        {},
      ),
    ).rejects.toThrow('file name "../escape" is not allowed');
    expect(readdirSync(root)).toEqual(["checkpoint-5"]);
    expect([...((await readCheckpoint(join(root, "checkpoint-5"))).files.get("a.bin") as Uint8Array)]).toEqual([5]);
  });

  it("rewriting a step replaces it whole", async () => {
    const root = temporaryDirectory();
    await writeCheckpoint(root, 5, new Map([["a.bin", bytes(1)]]), {});
    await writeCheckpoint(root, 5, new Map([["b.bin", bytes(2)]]), {});
    expect(readdirSync(root)).toEqual(["checkpoint-5"]);
    expect(readdirSync(join(root, "checkpoint-5")).sort()).toEqual(["b.bin", "trainer_state.json"]);
  });
});
