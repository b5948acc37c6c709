/**
 * Node helpers for `.pth` files: readPthFile on the reference checkpoints and on a deflated archive (node:zlib),
 * findPthFile's choice in a folder (upstream's `*_resume.pth` passed over when weights sit beside it), and
 * writePthFile's atomic write with the archive named after the file, as torch.save names it.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fixtures, readTensors } from "./__fixtures__/parity.js";
import { buildZip } from "./__fixtures__/zip-bytes.js";
import { findPthFile, readPthFile, writePthFile } from "./pth-files.js";
import { writePth } from "./pth-writer.js";
import { readZipArchive } from "./pytorch-zip.js";
import type { SafetensorsTensor } from "./safetensors.js";

const denseTiny = fileURLToPath(new URL("dense-tiny/", fixtures));
let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "minimind-pth-files-"));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

const small = new Map<string, SafetensorsTensor>([
  ["w", { dtype: "F32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
]);

describe("readPthFile", () => {
  it("reads a reference checkpoint from its path, bit-exact with model.safetensors", async () => {
    const { tensors } = await readPthFile(join(denseTiny, "model.pth"));
    const reference = readTensors("dense-tiny", "model.safetensors");
    for (const [name, tensor] of reference) {
      const read = tensors.get(name) as SafetensorsTensor;
      expect(Buffer.compare(Buffer.from(read.data.buffer), Buffer.from(tensor.data.buffer)), name).toBe(0);
    }
  });

  it("reads deflated entries (node:zlib) and names the path in errors", async () => {
    const stored = readZipArchive(writePth(small));
    const records = [...stored.entries.keys()].map((name) => ({ name, data: stored.read(name), method: 8 as const }));
    const file = join(directory, "deflated.pth");
    await writeFile(file, buildZip(records));
    expect((await readPthFile(file)).tensors).toEqual(small);
    const broken = join(directory, "broken.pth");
    await writeFile(broken, "not a zip at all, but long enough to look for an end record");
    await expect(readPthFile(broken)).rejects.toThrow(`[pth] ${broken}: no zip end-of-central-directory record`);
  });
});

describe("readPthFile on paths that are not regular files", () => {
  it("refuses a FIFO without blocking and a link to /dev/zero without reading it", async () => {
    const fifo = join(directory, "pipe.pth");
    execFileSync("mkfifo", [fifo]);
    await expect(readPthFile(fifo)).rejects.toThrow(
      `[pth] ${fifo} is a FIFO (named pipe), not a regular file; it was to hold PyTorch weights (only regular files are read)`,
    );
    const zero = join(directory, "zero.pth");
    await symlink("/dev/zero", zero);
    await expect(readPthFile(zero)).rejects.toThrow(`[pth] ${zero} is a character device, not a regular file`);
    await expect(readPthFile(directory)).rejects.toThrow(`[pth] ${directory} is a folder, not a regular file`);
  });
});

describe("findPthFile", () => {
  it("returns a file path as is, and the one checkpoint in a folder", async () => {
    expect(await findPthFile(join(denseTiny, "model.pth"))).toBe(join(denseTiny, "model.pth"));
    await writeFile(join(directory, "full_sft_512.pth"), writePth(small));
    await writeFile(join(directory, "full_sft_512_resume.pth"), writePth(small));
    await writeFile(join(directory, "config.json"), "{}");
    expect(await findPthFile(directory)).toBe(join(directory, "full_sft_512.pth"));
  });

  it("takes a lone resume checkpoint, and refuses an empty or ambiguous folder", async () => {
    await writeFile(join(directory, "pretrain_768_resume.pth"), writePth(small));
    expect(await findPthFile(directory)).toBe(join(directory, "pretrain_768_resume.pth"));
    await expect(findPthFile(denseTiny)).rejects.toThrow(
      `[pth] ${denseTiny}: several .pth files (model.fp16.pth, model.pth); name the one to read`,
    );
    const empty = join(directory, "empty");
    await writeFile(join(directory, "x.txt"), "");
    await rm(join(directory, "pretrain_768_resume.pth"));
    await expect(findPthFile(directory)).rejects.toThrow(`[pth] ${directory}: there is no .pth file in this folder`);
    await expect(findPthFile(empty)).rejects.toThrow(`[pth] ${empty} does not exist; it was to hold PyTorch weights`);
  });
});

describe("writePthFile", () => {
  it("writes atomically, names the archive after the file, and reads back", async () => {
    const target = join(directory, "pretrain_768.pth");
    await writePthFile(target, small);
    expect(await readdir(directory)).toEqual(["pretrain_768.pth"]);
    const names = [...readZipArchive(new Uint8Array(await readFile(target))).entries.keys()];
    expect(names[0]).toBe("pretrain_768/data.pkl");
    expect((await readPthFile(target)).tensors).toEqual(small);
  });

  it("leaves the previous file intact when the tensors cannot be written", async () => {
    const target = join(directory, "model.pth");
    await writePthFile(target, small);
    const before = await readFile(target);
    const bad = new Map<string, SafetensorsTensor>([["x", { dtype: "U32", shape: [1], data: new Uint32Array(1) }]]);
    await expect(writePthFile(target, bad)).rejects.toThrow(`[pth] ${target}: tensor "x" is U32`);
    expect(Buffer.compare(await readFile(target), before)).toBe(0);
    expect(await readdir(directory)).toEqual(["model.pth"]);
  });
});
