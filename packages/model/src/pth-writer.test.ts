/**
 * The `.pth` writer: safetensors → .pth → safetensors is bit-exact (F32, F16, BF16 and the integer dtypes),
 * tensors that share an array share one storage record, the layout is upstream's (checked entry by entry),
 * and — where PyTorch is installed — `torch.load(weights_only=True)` reads our files to the same bits, with
 * the tied pair sharing one storage. Without PyTorch that test is skipped with its reason in the test name.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configOf, fixtures, readTensors } from "./__fixtures__/parity.js";
import { readPickle } from "./pickle.js";
import { PickleDict, TensorReference } from "./pickle-values.js";
import { readPth } from "./pth.js";
import { withTiedLmHead, writePth } from "./pth-writer.js";
import { readZipArchive } from "./pytorch-zip.js";
import { readSafetensors, type SafetensorsTensor, writeSafetensors } from "./safetensors.js";

function bits(data: SafetensorsTensor["data"]): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function expectSameTensors(actual: Map<string, SafetensorsTensor>, expected: Map<string, SafetensorsTensor>): void {
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const [name, tensor] of expected) {
    const other = actual.get(name) as SafetensorsTensor;
    expect(other.dtype, name).toBe(tensor.dtype);
    expect(other.shape, name).toEqual(tensor.shape);
    expect(Buffer.compare(bits(other.data), bits(tensor.data)), name).toBe(0);
  }
}

/** The fixture's weights as upstream lists them: `lm_head.weight` the very same array as the embedding. */
function tiedWeights(file: string): Map<string, SafetensorsTensor> {
  return withTiedLmHead(readTensors("dense-tiny", file), configOf("dense-tiny"));
}

describe("writePth", () => {
  it.each(["model.safetensors", "model.f16.safetensors", "model.bf16.safetensors"])(
    "safetensors → .pth → safetensors is bit-exact (%s)",
    (file) => {
      const original = readTensors("dense-tiny", file);
      const back = readSafetensors(writeSafetensors(readPth(writePth(original)).tensors)).tensors;
      expectSameTensors(back, original);
    },
  );

  it("round-trips every integer and float dtype PyTorch has a storage for, scalars and empty tensors included", () => {
    const tensors = new Map<string, SafetensorsTensor>([
      ["f64", { dtype: "F64", shape: [2], data: new Float64Array([Math.PI, -0]) }],
      ["i64", { dtype: "I64", shape: [2], data: new BigInt64Array([-(2n ** 62n), 7n]) }],
      ["i32", { dtype: "I32", shape: [1, 2], data: new Int32Array([-1, 2 ** 31 - 1]) }],
      ["i16", { dtype: "I16", shape: [1], data: new Int16Array([-300]) }],
      ["i8", { dtype: "I8", shape: [1], data: new Int8Array([-5]) }],
      ["u8", { dtype: "U8", shape: [3], data: new Uint8Array([0, 128, 255]) }],
      ["bool", { dtype: "BOOL", shape: [2], data: new Uint8Array([1, 0]) }],
      ["scalar", { dtype: "F32", shape: [], data: new Float32Array([1.5]) }],
      ["empty", { dtype: "F32", shape: [0, 3], data: new Float32Array(0) }],
    ]);
    expect(readPth(writePth(tensors)).tensors).toEqual(tensors);
  });

  it("writes upstream's layout: data.pkl, byteorder, one record per storage, version; tied arrays share a storage", () => {
    const tensors = tiedWeights("model.safetensors");
    const zip = readZipArchive(writePth(tensors, { archiveName: "model" }));
    const names = [...zip.entries.keys()];
    expect(names[0]).toBe("model/data.pkl");
    expect(names[1]).toBe("model/byteorder");
    expect(names[names.length - 1]).toBe("model/version");
    expect(new TextDecoder().decode(zip.read("model/version"))).toBe("3\n");
    expect(new TextDecoder().decode(zip.read("model/byteorder"))).toBe("little");
    const records = names.filter((name) => name.startsWith("model/data/"));
    expect(records).toEqual(Array.from({ length: tensors.size - 1 }, (_, index) => `model/data/${index}`));
    for (const entry of zip.entries.values()) expect(entry.dataOffset % 64, entry.name).toBe(0);
    const value = readPickle(zip.read("model/data.pkl"));
    expect(value).toBeInstanceOf(PickleDict);
    const dict = value as PickleDict;
    expect(dict.kind).toBe("OrderedDict");
    const head = dict.entries.get("lm_head.weight") as TensorReference;
    const embedding = dict.entries.get("model.embed_tokens.weight") as TensorReference;
    expect(head).toBeInstanceOf(TensorReference);
    expect(head.storage.key).toBe(embedding.storage.key);
    expect(head.storage.storageClass).toBe("torch.FloatStorage");
    expect(head.stride).toEqual([64, 1]);
  });

  it.each(["dense-tiny", "moe-tiny"])(
    "withTiedLmHead lists %s's tensors in the order of upstream's own model.pth, the head sharing the embedding",
    (name) => {
      const upstream = readPth(new Uint8Array(readFileSync(new URL(`${name}/model.pth`, fixtures)))).tensors;
      const ours = withTiedLmHead(readTensors(name, "model.safetensors"), configOf(name));
      expect([...ours.keys()]).toEqual([...upstream.keys()]);
      expect(ours.get("lm_head.weight")).toBe(ours.get("model.embed_tokens.weight"));
      const untied = withTiedLmHead(readTensors(name, "model.safetensors"), { tie_word_embeddings: false });
      expect(untied.has("lm_head.weight")).toBe(false);
    },
  );

  it("refuses what PyTorch has no typed storage for, and a shape that does not fit the data", () => {
    const u16 = new Map<string, SafetensorsTensor>([["x", { dtype: "U16", shape: [1], data: new Uint16Array(1) }]]);
    expect(() => writePth(u16, { source: "out.pth" })).toThrow(
      '[pth] out.pth: tensor "x" is U16; PyTorch has typed storages only for F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL',
    );
    const mislabelled = new Map<string, SafetensorsTensor>([
      ["x", { dtype: "F32", shape: [2], data: new Uint16Array(2) } as unknown as SafetensorsTensor],
    ]);
    expect(() => writePth(mislabelled, { source: "out.pth" })).toThrow(
      '[pth] out.pth: tensor "x" is F32 but its data is a Uint16Array; expected a Float32Array',
    );
    const short = new Map<string, SafetensorsTensor>([
      ["x", { dtype: "F32", shape: [2, 2], data: new Float32Array(3) }],
    ]);
    expect(() => writePth(short, { source: "out.pth" })).toThrow(
      '[pth] out.pth: tensor "x" has 3 elements but shape [2, 2] needs 4',
    );
  });
});

// ---- PyTorch itself, where it is installed ----

const pythonCandidates = ["/usr/bin/python3", "python3"];

function findTorchPython(): { python?: string; reason?: string } {
  for (const python of pythonCandidates) {
    const probe = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
    if (probe.status === 0) return { python };
  }
  return { reason: `no python3 with torch (tried ${pythonCandidates.join(", ")}: "import torch" fails)` };
}

const torch = findTorchPython();
if (torch.reason !== undefined) console.warn(`[pth-writer.test] skipping the torch.load test: ${torch.reason}`);

/** Loads a file with torch.load(weights_only=True) and reports each tensor's dtype, shape, bytes' SHA-256 and storage. */
const torchScript = `
import hashlib, json, sys, torch
state = torch.load(sys.argv[1], weights_only=True, map_location="cpu")
out = {"type": type(state).__name__, "tensors": {}}
for name, tensor in state.items():
    raw = tensor.contiguous().view(torch.int16) if tensor.dtype == torch.bfloat16 else tensor.contiguous()
    out["tensors"][name] = {
        "dtype": str(tensor.dtype), "shape": list(tensor.shape),
        "sha256": hashlib.sha256(raw.numpy().tobytes()).hexdigest(),
        "storage": tensor.storage().data_ptr(),
    }
print(json.dumps(out))
`;

const torchDtypes: Record<string, string> = {
  F32: "torch.float32",
  F16: "torch.float16",
  BF16: "torch.bfloat16",
  F64: "torch.float64",
  I64: "torch.int64",
  I32: "torch.int32",
  I16: "torch.int16",
  I8: "torch.int8",
  U8: "torch.uint8",
  BOOL: "torch.bool",
};
const skipReason = torch.reason === undefined ? "" : ` — skipped: ${torch.reason}`;

describe("torch.load(weights_only=True)", () => {
  const directory = mkdtempSync(join(tmpdir(), "minimind-pth-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  interface TorchView {
    type: string;
    tensors: Record<string, { dtype: string; shape: number[]; sha256: string; storage: number }>;
  }

  function loadWithTorch(target: string): TorchView {
    const run = spawnSync(torch.python as string, ["-c", torchScript, target], { encoding: "utf8" });
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    return JSON.parse(run.stdout) as TorchView;
  }

  function expectTorchSees(loaded: TorchView, tensors: Map<string, SafetensorsTensor>): void {
    expect(loaded.type).toBe("OrderedDict");
    expect(Object.keys(loaded.tensors)).toEqual([...tensors.keys()]);
    for (const [name, tensor] of tensors) {
      const seen = loaded.tensors[name];
      expect(seen?.dtype, name).toBe(torchDtypes[tensor.dtype]);
      expect(seen?.shape, name).toEqual(tensor.shape);
      expect(seen?.sha256, name).toBe(createHash("sha256").update(bits(tensor.data)).digest("hex"));
    }
  }

  it.skipIf(torch.python === undefined).each(["model.safetensors", "model.f16.safetensors", "model.bf16.safetensors"])(
    `reads our .pth of dense-tiny/%s to the same bits, the tied pair on one storage${skipReason}`,
    (file) => {
      const tensors = tiedWeights(file);
      const target = join(directory, file.replace(".safetensors", ".pth"));
      writeFileSync(target, writePth(tensors));
      const loaded = loadWithTorch(target);
      expectTorchSees(loaded, tensors);
      const storages = new Set(Object.values(loaded.tensors).map((each) => each.storage));
      expect(storages.size).toBe(tensors.size - 1);
      expect(loaded.tensors["lm_head.weight"]?.storage).toBe(loaded.tensors["model.embed_tokens.weight"]?.storage);
    },
  );

  it.skipIf(torch.python === undefined)(
    `reads 300 tensors of every dtype (memo indices past 255: LONG_BINPUT / LONG_BINGET)${skipReason}`,
    () => {
      const samples: SafetensorsTensor[] = [
        { dtype: "F64", shape: [2], data: new Float64Array([Math.E, -0]) },
        { dtype: "I64", shape: [1], data: new BigInt64Array([-(2n ** 40n)]) },
        { dtype: "I32", shape: [2, 1], data: new Int32Array([-9, 9]) },
        { dtype: "I16", shape: [1], data: new Int16Array([-2]) },
        { dtype: "I8", shape: [1], data: new Int8Array([-3]) },
        { dtype: "U8", shape: [1], data: new Uint8Array([200]) },
        { dtype: "BOOL", shape: [2], data: new Uint8Array([1, 0]) },
        { dtype: "F16", shape: [], data: new Uint16Array([0x3c00]) },
        { dtype: "BF16", shape: [0], data: new Uint16Array(0) },
        { dtype: "F32", shape: [3], data: new Float32Array([1, 2, 3]) },
      ];
      const tensors = new Map<string, SafetensorsTensor>();
      for (let index = 0; index < 300; index++) {
        const sample = samples[index % samples.length] as SafetensorsTensor;
        tensors.set(`layer.${index}.weight`, { ...sample, data: sample.data.slice() } as SafetensorsTensor);
      }
      const target = join(directory, "many.pth");
      writeFileSync(target, writePth(tensors));
      expectTorchSees(loadWithTorch(target), tensors);
    },
  );
});
