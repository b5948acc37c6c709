import { createMiniMindConfig, MiniMindForCausalLM, maxPositions } from "@minimind/model";
import { readSafetensorsFile, writeSafetensorsFile } from "@minimind/model/safetensors";

// A checkpoint saved without some layer: a small random model, saved, then layer 1's feed-forward dropped.
const config = createMiniMindConfig({ hidden_size: 64, num_hidden_layers: 2 });
const original = new MiniMindForCausalLM(config, { seed: 0 });
await original.savePretrained("checkpoint");
original.dispose();
const { tensors } = await readSafetensorsFile("checkpoint/model.safetensors");
for (const name of tensors.keys()) if (name.startsWith("model.layers.1.mlp.")) tensors.delete(name);
await writeSafetensorsFile("checkpoint/model.safetensors", tensors);

// strict (the default) refuses it, naming every missing tensor.
await MiniMindForCausalLM.fromPretrained("checkpoint").catch((error: Error) => console.log(error.message));

const model = await MiniMindForCausalLM.fromPretrained("checkpoint", {
  strict: false, // load it and say what was missing (those weights get a fresh model's initial values)
  config: { max_position_embeddings: 4096 },
  warn: (message, report) => console.warn(message, report.missing),
});
console.log(maxPositions(model.config), model.training); // 4096 false: the override applied, in eval mode
model.dispose();
