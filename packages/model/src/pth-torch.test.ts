/**
 * The reader against files PyTorch itself writes in this test, where python3 with torch is installed (else
 * skipped, the reason in each test's name): views saved as views (a transpose, a row slice, a strided column,
 * a scalar element — torch.save keeps their storage, offset and stride), every float and integer dtype, an
 * nn.Parameter, and a resume checkpoint laid out as upstream's `lm_checkpoint` writes it (fp16 `model`, AdamW
 * state after a step, epoch, step, world_size, wandb_id, a GradScaler state), and a plain
 * `torch.save(model.state_dict())` (an OrderedDict carrying `_metadata`); the views and the resume checkpoint
 * also in the legacy format (`_use_new_zipfile_serialization=False`). Values come from torch as JSON.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bfloat16ToFloat32, float16ToFloat32 } from "./half-precision.js";
import { PickleDict } from "./pickle-values.js";
import { openPth, readPth } from "./pth.js";
import type { SafetensorsTensor } from "./safetensors.js";

const python = ["/usr/bin/python3", "python3"].find(
  (candidate) => spawnSync(candidate, ["-c", "import torch"], { encoding: "utf8" }).status === 0,
);
const skipReason = python === undefined ? " — skipped: no python3 with torch (import torch fails)" : "";
if (python === undefined) console.warn("[pth-torch.test] skipped: no python3 with torch (import torch fails)");

/** Writes views.pth and resume.pth into argv[1] and prints the expected tensors as JSON. */
const script = `
import json, os, sys, torch
out = sys.argv[1]
torch.manual_seed(0)
base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8
views = {
    "transposed": base.t(), "rows": base[1:3], "column": base[:, 2], "element": base[2, 3],
    "f16_transposed": base.half().t(), "bf16": base.bfloat16(), "f64": base.double()[::2, ::3],
    "i64": torch.arange(-3, 3), "i32": torch.tensor([-7, 2**31 - 1], dtype=torch.int32),
    "i16": torch.tensor([-300, 300], dtype=torch.int16), "i8": torch.tensor([-5, 5], dtype=torch.int8),
    "u8": torch.tensor([0, 255], dtype=torch.uint8), "bool": torch.tensor([True, False]),
    "parameter": torch.nn.Parameter(torch.ones(2)), "empty": torch.zeros(0, 3),
}
torch.save(views, os.path.join(out, "views.pth"))
torch.save(views, os.path.join(out, "views_legacy.pth"), _use_new_zipfile_serialization=False)
model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4)
model(torch.randn(5, 3)).sum().backward()
optimizer.step()
state_dict = {k: v.half().cpu() for k, v in model.state_dict().items()}
scaler = torch.cuda.amp.GradScaler(enabled=False)
resume = {"model": state_dict, "optimizer": optimizer.state_dict(), "epoch": 1, "step": 12,
          "world_size": 1, "wandb_id": None, "scaler": scaler.state_dict()}
torch.save(resume, os.path.join(out, "resume.pth"))
torch.save(resume, os.path.join(out, "resume_legacy.pth"), _use_new_zipfile_serialization=False)
torch.save(model.state_dict(), os.path.join(out, "state_dict.pth"))  # an OrderedDict with _metadata (BUILD)
def describe(t):
    t = t.detach()
    values = t.float().flatten().tolist() if t.is_floating_point() else t.flatten().tolist()
    return {"dtype": str(t.dtype), "shape": list(t.shape), "values": values}
print(json.dumps({"views": {k: describe(v) for k, v in views.items()},
                  "model": {k: describe(v) for k, v in state_dict.items()},
                  "float32": {k: describe(v) for k, v in model.state_dict().items()},
                  "optimizer_keys": sorted(resume["optimizer"].keys())}))
`;

const dtypes: Record<string, string> = {
  "torch.float32": "F32",
  "torch.float16": "F16",
  "torch.bfloat16": "BF16",
  "torch.float64": "F64",
  "torch.int64": "I64",
  "torch.int32": "I32",
  "torch.int16": "I16",
  "torch.int8": "I8",
  "torch.uint8": "U8",
  "torch.bool": "BOOL",
};

interface Expected {
  dtype: string;
  shape: number[];
  values: (number | boolean)[];
}

/** A tensor's values as plain numbers: 16-bit floats widened, integers and booleans as numbers. */
function values(tensor: SafetensorsTensor): number[] {
  if (tensor.dtype === "F16") return Array.from(float16ToFloat32(tensor.data));
  if (tensor.dtype === "BF16") return Array.from(bfloat16ToFloat32(tensor.data));
  return Array.from(tensor.data as ArrayLike<number | bigint>, Number);
}

function expectTensor(actual: SafetensorsTensor | undefined, expected: Expected, name: string): void {
  expect(actual?.dtype, name).toBe(dtypes[expected.dtype]);
  expect(actual?.shape, name).toEqual(expected.shape);
  expect(values(actual as SafetensorsTensor), name).toEqual(expected.values.map(Number));
}

describe("files written by PyTorch", () => {
  const directory = mkdtempSync(join(tmpdir(), "minimind-pth-torch-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  let expected: {
    views: Record<string, Expected>;
    model: Record<string, Expected>;
    float32: Record<string, Expected>;
    optimizer_keys: string[];
  };
  const generate = () => {
    if (expected !== undefined) return;
    const run = spawnSync(python as string, ["-c", script, directory], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`python failed: ${run.stderr}`);
    expected = JSON.parse(run.stdout);
  };
  const read = (file: string) => new Uint8Array(readFileSync(join(directory, file)));

  it.skipIf(python === undefined).each(["views.pth", "views_legacy.pth"])(
    `%s: views, every dtype and a Parameter read to torch's values${skipReason}`,
    (file) => {
      generate();
      const { tensors, key } = readPth(read(file), { source: file });
      expect(key).toBeUndefined();
      expect([...tensors.keys()]).toEqual(Object.keys(expected.views));
      for (const [name, tensor] of Object.entries(expected.views)) expectTensor(tensors.get(name), tensor, name);
    },
  );

  it.skipIf(python === undefined)(`torch.save(model.state_dict()) — an OrderedDict with _metadata${skipReason}`, () => {
    generate();
    const bytes = read("state_dict.pth");
    const value = openPth(bytes).value as PickleDict;
    expect(value.kind).toBe("OrderedDict");
    expect(value.attributes?.entries.has("_metadata")).toBe(true);
    const { tensors } = readPth(bytes, { source: "state_dict.pth" });
    expect([...tensors.keys()]).toEqual(Object.keys(expected.float32));
    for (const [name, tensor] of Object.entries(expected.float32)) expectTensor(tensors.get(name), tensor, name);
  });

  it.skipIf(python === undefined).each(["resume.pth", "resume_legacy.pth"])(
    `%s: an upstream-style resume checkpoint reads for its fp16 model${skipReason}`,
    (file) => {
      generate();
      const bytes = read(file);
      const { tensors, key } = readPth(bytes, { source: file });
      expect(key).toBe("model");
      expect([...tensors.keys()]).toEqual(Object.keys(expected.model));
      for (const [name, tensor] of Object.entries(expected.model)) expectTensor(tensors.get(name), tensor, name);
      const value = openPth(bytes).value as PickleDict;
      expect([...value.entries.keys()]).toEqual([
        "model",
        "optimizer",
        "epoch",
        "step",
        "world_size",
        "wandb_id",
        "scaler",
      ]);
      expect(value.entries.get("step")).toBe(12);
      const optimizer = value.entries.get("optimizer") as PickleDict;
      expect(optimizer).toBeInstanceOf(PickleDict);
      expect([...optimizer.entries.keys()].sort()).toEqual(expected.optimizer_keys);
    },
  );
});
