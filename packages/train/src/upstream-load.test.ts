/**
 * The checkpoint's model.safetensors loads into upstream MiniMind's own PyTorch model with
 * `load_state_dict(strict=True)` and gives our logits. Needs $MINIMIND_UPSTREAM_DIR (a checkout of
 * jingyaogong/minimind; never fetched here) and a Python with torch (the test parses the safetensors file
 * itself, and stands in for the Hugging Face base classes when transformers is missing); skipped, saying
 * why, when either is missing.
 */
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { noGrad } from "@minimind/tensor";
import { Tokenizer } from "@minimind/tokenizer";
import { describe, expect, it } from "vitest";
import { PretrainDataset } from "./pretrain-dataset.js";
import { recordsFromArray } from "./sample.js";
import { corpus, temporaryDirectory, tinyModel } from "./test-support/tiny.js";
import { train } from "./trainer.js";

const upstream = process.env.MINIMIND_UPSTREAM_DIR ?? "";
const python = process.env.MINIMIND_BENCH_PYTHON ?? "/usr/bin/python3";
const skipReason =
  upstream === "" || !existsSync(join(upstream, "model", "model_minimind.py"))
    ? "MINIMIND_UPSTREAM_DIR does not name a checkout with model/model_minimind.py"
    : spawnSync(python, ["-c", "import torch"]).status !== 0
      ? `${python} cannot import torch`
      : undefined;

const LOADER = `
import json, struct, sys, types
import torch
from torch import nn
try:
    import transformers  # noqa: F401
except ImportError:  # minimal stand-ins for the Hugging Face base classes upstream imports
    class PretrainedConfig:
        def __init__(self, **kwargs):
            for key, value in kwargs.items(): setattr(self, key, value)
    class PreTrainedModel(nn.Module):
        def __init__(self, config, *args, **kwargs): nn.Module.__init__(self)
        def post_init(self): pass
    class Output(dict):
        def __getattr__(self, name): return self.get(name)
    root = types.ModuleType("transformers"); root.PretrainedConfig = PretrainedConfig
    root.PreTrainedModel = PreTrainedModel; root.GenerationMixin = type("GenerationMixin", (), {})
    activations = types.ModuleType("transformers.activations"); activations.ACT2FN = {"silu": nn.SiLU()}
    outputs = types.ModuleType("transformers.modeling_outputs"); outputs.MoeCausalLMOutputWithPast = Output
    sys.modules.update({"transformers": root, "transformers.activations": activations, "transformers.modeling_outputs": outputs})
upstream, folder = sys.argv[1], sys.argv[2]
sys.path.insert(0, upstream + "/model")
import model_minimind as m
config = json.load(open(folder + "/config.json"))
data = open(folder + "/model.safetensors", "rb").read()
size = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + size])
state = {}
for name, entry in header.items():
    if name == "__metadata__": continue
    begin, end = entry["data_offsets"]
    state[name] = torch.frombuffer(bytearray(data[8 + size + begin:8 + size + end]), dtype=torch.float32).reshape(entry["shape"])
model = m.MiniMindForCausalLM(m.MiniMindConfig(**config))
model.load_state_dict(state, strict=True)
model.eval()
ids = torch.tensor(json.loads(sys.argv[3]))
with torch.no_grad():
    print(json.dumps(model(ids).logits.flatten().tolist()))
`;

describe("upstream PyTorch loads our checkpoints", () => {
  it.skipIf(skipReason !== undefined)(
    `load_state_dict(strict=True) and equal logits${skipReason ? ` (skipped: ${skipReason})` : ""}`,
    async () => {
      const tokenizer = Tokenizer.minimind();
      const dataset = new PretrainDataset(recordsFromArray(corpus(8).map((text) => ({ text }))), {
        tokenizer,
        maxSeqLen: 24,
      });
      const directory = temporaryDirectory();
      const model = tinyModel(5);
      const result = await train({
        model,
        dataset,
        epochs: 1,
        batchSize: 4,
        accumulationSteps: 1,
        outputDirectory: directory,
      });
      const folder = result.checkpoint as string;
      const ids = [[1, 500, 501, 502, 2]];
      const script = join(directory, "load_upstream.py");
      writeFileSync(script, LOADER);
      const run = spawnSync(python, ["-B", script, upstream, folder, JSON.stringify(ids)], { encoding: "utf8" });
      expect(run.stderr).toBe("");
      const theirs = JSON.parse(run.stdout) as number[];
      const ours = noGrad(() => model.eval().forward({ inputIds: ids }).logits.dataSync() as Float32Array);
      expect(theirs.length).toBe(ours.length);
      let largest = 0;
      for (let index = 0; index < ours.length; index++)
        largest = Math.max(largest, Math.abs((ours[index] as number) - (theirs[index] as number)));
      expect(largest).toBeLessThan(1e-4); // the fixtures' logits tolerance (fixtures/README.md)
    },
  );
});
