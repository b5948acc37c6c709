import { writeFile } from "node:fs/promises";
import { createMiniMindConfig, MiniMindForCausalLM } from "@minimind/model";
import { Tokenizer } from "@minimind/tokenizer";
import { PackedDataset, PretrainDataset, pretrain } from "@minimind/train";

// pretrain.jsonl: one {"text": "..."} per line (here 40 short texts, written for the example).
const texts = Array.from({ length: 40 }, (_, i) => `第${i + 1}首：床前明月光，疑是地上霜。举头望明月，低头思故乡。`);
await writeFile("pretrain.jsonl", texts.map((text) => JSON.stringify({ text })).join("\n"));

const tokenizer = Tokenizer.minimind();
// Bad lines stop the run with file:line (or onBadLine: "skip").
const documents = await PretrainDataset.fromFile("pretrain.jsonl", { tokenizer, maxSeqLen: 64 });
const model = new MiniMindForCausalLM(createMiniMindConfig({ hidden_size: 64, num_hidden_layers: 2 }), { seed: 42 });

const result = await pretrain({
  model,
  dataset: new PackedDataset(documents, { maxSeqLen: 64 }), // padding-free: documents end to end
  batchSize: 4,
  accumulationSteps: 1, // upstream's pretraining default is 8
  epochs: 1,
  outputDirectory: "out/pretrain", // checkpoint-<step>/ folders and metrics.jsonl
  checkpointEvery: 2,
  keepLast: 2,
  resume: "latest", // start fresh, or continue exactly where the last run stopped
  onEvent: (event) => {
    if (event.type === "step") console.log(event.step, event.loss.toFixed(3), event.tokensPerSecond.toFixed(0));
  },
});
console.log(result.stoppedBy, result.step, result.checkpoint);
model.dispose();
