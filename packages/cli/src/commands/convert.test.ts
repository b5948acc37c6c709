import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { countParameters, parseMiniMindConfig } from "@minimind/model";
import {
  float32ToBfloat16,
  float32ToFloat16,
  readSafetensors,
  type SafetensorsTensor,
} from "@minimind/model/safetensors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli as runMinimind, temporaryFolder } from "../testing/built-cli.js";
import { TINY_BATCHES, TINY_MODEL, writeTinyData } from "../testing/tiny-run.js";

const folder = temporaryFolder();
afterAll(() => folder.remove());
const data = writeTinyData(folder.path);
const run = join(folder.path, "pretrain");
const model = join(run, "model");
const path = (name: string) => join(folder.path, name);

beforeAll(() => {
  const result = runMinimind([
    "pretrain",
    data.pretrain,
    "--out",
    run,
    ...TINY_MODEL,
    ...TINY_BATCHES,
    "--max-steps",
    "1",
  ]);
  expect(result.status).toBe(0);
});

function tensorsOf(file: string): Map<string, SafetensorsTensor> {
  return readSafetensors(new Uint8Array(readFileSync(file)), { source: file }).tensors;
}

function bytesOf(tensor: SafetensorsTensor): Buffer {
  return Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
}

function convert(args: readonly string[]) {
  const result = runMinimind(["convert", ...args, "--json"]);
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** A stored zip of `entries`, laid out from the APPNOTE fields (local headers, central directory, end record). */
function zip(entries: readonly [string, Uint8Array][]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of entries) {
    const nameBytes = Buffer.from(name);
    const checksum = crc32(content);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(checksum, 14);
    local.writeUInt32LE(content.length, 18);
    local.writeUInt32LE(content.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(checksum, 16);
    central.writeUInt32LE(content.length, 20);
    central.writeUInt32LE(content.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, Buffer.from(content));
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + content.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

describe("minimind convert", () => {
  it("round-trips safetensors → .pth → safetensors bit-exactly, the tied head sharing the embedding in the .pth", () => {
    const config = parseMiniMindConfig(JSON.parse(readFileSync(join(model, "config.json"), "utf8")));
    const original = tensorsOf(join(model, "model.safetensors"));
    const toPth = convert([model, path("first.pth")]);
    expect(toPth).toMatchObject({
      inputFormat: "safetensors",
      outputFormat: "pth",
      tensors: original.size + 1, // lm_head.weight listed again, as upstream's state_dict() has it
      parameters: countParameters(config),
      inputDtypes: { F32: original.size },
      outputDtypes: { F32: original.size + 1 },
      config: join(model, "config.json"),
    });
    expect(toPth.bytes).toBe(readFileSync(path("first.pth")).length);
    const configFlag = ["--config", join(model, "config.json")];
    const back = convert([path("first.pth"), path("back.safetensors"), ...configFlag]);
    expect(back).toMatchObject({ inputFormat: "pth", outputFormat: "safetensors", tensors: original.size });
    const returned = tensorsOf(path("back.safetensors"));
    expect([...returned.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [name, tensor] of original) {
      const other = returned.get(name) as SafetensorsTensor;
      expect(other.dtype, name).toBe(tensor.dtype);
      expect(other.shape, name).toEqual(tensor.shape);
      expect(bytesOf(other).equals(bytesOf(tensor)), name).toBe(true);
    }
    // a second lap writes the very same bytes
    mkdirSync(path("lap2"));
    convert([path("back.safetensors"), path("lap2/first.pth"), ...configFlag]);
    convert([path("lap2/first.pth"), path("lap2/back.safetensors"), ...configFlag]);
    expect(readFileSync(path("lap2/first.pth")).equals(readFileSync(path("first.pth")))).toBe(true);
    expect(readFileSync(path("lap2/back.safetensors")).equals(readFileSync(path("back.safetensors")))).toBe(true);
  });

  it("casts to fp16 and bf16 with round-to-nearest-even, and prints a one-line summary", () => {
    const original = tensorsOf(join(model, "model.safetensors"));
    const result = runMinimind(["convert", model, path("half.safetensors"), "--dtype", "fp16"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`converted ${original.size} tensors (`);
    expect(result.stdout).toContain(
      `(safetensors: ${original.size} F32) to ${path("half.safetensors")} (safetensors: ${original.size} F16)`,
    );
    const half = tensorsOf(path("half.safetensors"));
    convert([model, path("brain.safetensors"), "--dtype", "bf16"]);
    const brain = tensorsOf(path("brain.safetensors"));
    for (const [name, tensor] of original) {
      const values = tensor.data as Float32Array;
      expect(half.get(name)?.dtype).toBe("F16");
      expect(
        Buffer.from((half.get(name) as SafetensorsTensor).data.buffer).equals(
          Buffer.from(float32ToFloat16(values).buffer),
        ),
        name,
      ).toBe(true);
      expect(
        Buffer.from((brain.get(name) as SafetensorsTensor).data.buffer).equals(
          Buffer.from(float32ToBfloat16(values).buffer),
        ),
        name,
      ).toBe(true);
    }
    // fp16 → fp32 widens exactly: back to fp16 gives the same bits
    convert([path("half.safetensors"), path("wide.safetensors"), "--dtype", "fp32"]);
    convert([path("wide.safetensors"), path("half-again.safetensors"), "--dtype", "fp16"]);
    expect(readFileSync(path("half-again.safetensors")).equals(readFileSync(path("half.safetensors")))).toBe(true);
  });

  it("writes a Qwen3 model folder that generate loads and answers from exactly like the original", () => {
    const summary = convert([model, path("qwen3"), "--model-type", "qwen3"]);
    expect(summary.modelType).toBe("qwen3");
    const json = JSON.parse(readFileSync(path("qwen3/config.json"), "utf8")) as Record<string, unknown>;
    expect(json).toMatchObject({
      model_type: "qwen3",
      architectures: ["Qwen3ForCausalLM"],
      hidden_size: 32,
      torch_dtype: "float32",
    });
    const ask = (dir: string) =>
      runMinimind(["generate", "--model", dir, "--greedy", "--max-new-tokens", "6", "--raw", "床前明月光，"]);
    const expected = ask(model);
    expect(expected.status).toBe(0);
    expect(expected.stdout.trim()).not.toBe("");
    expect(ask(path("qwen3")).stdout).toBe(expected.stdout);
    // and a folder with model.pth (upstream's layout) loads the same way
    convert([model, path("pth-folder"), "--format", "pth"]);
    expect(existsSync(path("pth-folder/model.pth"))).toBe(true);
    expect(ask(path("pth-folder")).stdout).toBe(expected.stdout);
  });

  it("fails with one line naming the file and the reason on bad and hostile inputs", () => {
    const fails = (args: readonly string[], message: string) => {
      const result = runMinimind(["convert", ...args]);
      expect(result.status, result.stderr).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toBe(`minimind convert: ${message}\n`);
    };
    fails(
      [path("missing.pth"), path("x.safetensors")],
      `cannot read "${path("missing.pth")}": no such file or directory`,
    );
    writeFileSync(path("garbage.pth"), Buffer.from("PK\u0003\u0004 this is not a zip"));
    fails(
      [path("garbage.pth"), path("x.safetensors")],
      `[pth] ${path("garbage.pth")}: no zip end-of-central-directory record; this is not a torch.save zip file, or it is truncated`,
    );
    // a header that claims more bytes than the file has
    const header = Buffer.alloc(8);
    header.writeBigUInt64LE(1_000_000n);
    writeFileSync(path("lying.safetensors"), Buffer.concat([header, Buffer.from('{"a":1}')]));
    const lying = runMinimind(["convert", path("lying.safetensors"), path("x.pth")]);
    expect(lying.status).toBe(1);
    expect(lying.stderr).toMatch(
      new RegExp(`^minimind convert: \\[safetensors\\] ${path("lying.safetensors")}: .*\\n$`),
    );
    // a pickle that would run os.system under Python's own unpickler: refused, nothing executed
    const marker = path("pwned");
    const command = Buffer.from(`touch ${marker}`);
    const pickle = Buffer.concat([
      Buffer.from([0x80, 0x02]),
      Buffer.from("cos\nsystem\n"),
      Buffer.from([0x58]),
      Buffer.from(new Uint32Array([command.length]).buffer),
      command,
      Buffer.from([0x85, 0x52, 0x2e]), // TUPLE1 REDUCE STOP
    ]);
    writeFileSync(
      path("evil.pth"),
      zip([
        ["evil/data.pkl", pickle],
        ["evil/version", Buffer.from("3\n")],
      ]),
    );
    const evil = runMinimind(["convert", path("evil.pth"), path("x.safetensors")]);
    expect(evil.status).toBe(1);
    expect(evil.stderr).toMatch(new RegExp(`^minimind convert: \\[pth\\] ${path("evil.pth")}: .*os\\.system.*\\n$`));
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(path("x.safetensors"))).toBe(false);
  });

  it("refuses weights that do not fit the config, an existing OUT without --force, and misplaced flags", () => {
    const otherConfig = path("other-config.json");
    writeFileSync(
      otherConfig,
      JSON.stringify({ hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1 }),
    );
    const misfit = runMinimind(["convert", join(model, "model.safetensors"), path("y.pth"), "--config", otherConfig]);
    expect(misfit.status).toBe(1);
    expect(misfit.stderr).toMatch(
      /^minimind convert: \[state-dict\] .*model\.safetensors \(with .*other-config\.json\) does not fit the config \(hidden 64, 2 layers\): .*\n$/,
    );
    convert([model, path("once.pth")]);
    const again = runMinimind(["convert", model, path("once.pth")]);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe(`minimind convert: "${path("once.pth")}" already exists; pass --force to replace it\n`);
    expect(runMinimind(["convert", model, path("once.pth"), "--force"]).status).toBe(0);
    const misplaced = runMinimind(["convert", model, path("z.pth"), "--model-type", "qwen3"]);
    expect(misplaced.status).toBe(2);
    expect(misplaced.stderr).toContain("--model-type applies to a model folder OUT");
    const badDtype = runMinimind(["convert", model, path("z.pth"), "--dtype", "fp8"]);
    expect(badDtype.status).toBe(2);
    expect(badDtype.stderr).toContain('"fp8" is not one of fp32, fp16, bf16.');
  });
});

// Debian's python3-torch lives under /usr/bin/python3; a python3 earlier on PATH (pyenv) may not see it.
const python = ["/usr/bin/python3", "python3"].find(
  (candidate) => spawnSync(candidate, ["-c", "import torch"], { encoding: "utf8" }).status === 0,
);
const hasTorch = python !== undefined;
if (!hasTorch) {
  console.log('[convert] skipping the PyTorch check: python3 -c "import torch" fails (no python3-torch)');
}

describe.skipIf(!hasTorch)("minimind convert, read by PyTorch (python3-torch)", () => {
  it("torch.load(weights_only=True) reads our .pth with the original values, the tied head sharing storage", () => {
    convert([model, path("torch.pth")]);
    convert([model, path("torch-half.pth"), "--dtype", "fp16"]);
    // An independent safetensors parser in Python compares every tensor with the original file.
    const script = `
import json, struct, sys, torch
original, full, half = sys.argv[1:4]
raw = open(original, "rb").read()
(length,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + length])
body = raw[8 + length:]
for path, dtype in ((full, torch.float32), (half, torch.float16)):
    state = torch.load(path, weights_only=True)
    names = [n for n in header if n != "__metadata__"]
    assert set(state) == set(names) | {"lm_head.weight"}, sorted(set(state) ^ set(names))
    assert state["lm_head.weight"].data_ptr() == state["model.embed_tokens.weight"].data_ptr()
    for name in names:
        start, end = header[name]["data_offsets"]
        expected = torch.frombuffer(bytearray(body[start:end]), dtype=torch.float32).reshape(header[name]["shape"])
        assert state[name].dtype == dtype, (name, state[name].dtype)
        assert torch.equal(state[name], expected.to(dtype)), name
print("ok", len(header) - ("__metadata__" in header))
`;
    const result = spawnSync(
      python as string,
      ["-c", script, join(model, "model.safetensors"), path("torch.pth"), path("torch-half.pth")],
      {
        encoding: "utf8",
      },
    );
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(`ok ${tensorsOf(join(model, "model.safetensors")).size}\n`);
  });
});
