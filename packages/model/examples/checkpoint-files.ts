import { readdir } from "node:fs/promises";
import { createMiniMindConfig, MiniMindForCausalLM } from "@minimind/model";
import {
  readMiniMindConfigFile,
  readSafetensorsCheckpoint,
  writeSafetensorsCheckpoint,
} from "@minimind/model/safetensors";

// A checkpoint written by this package (or by Hugging Face save_pretrained): a small random model, saved.
const random = new MiniMindForCausalLM(createMiniMindConfig({ hidden_size: 64, num_hidden_layers: 2 }), { seed: 0 });
await random.savePretrained("checkpoint");
random.dispose();

const config = await readMiniMindConfigFile("checkpoint/config.json");
const stateDict = await readSafetensorsCheckpoint("checkpoint"); // model.safetensors or the sharded index
await writeSafetensorsCheckpoint("copy", stateDict, { maxShardBytes: 1_000_000 }); // shards of at most 1 MB
console.log(config.hidden_size, stateDict.size, (await readdir("copy")).sort());
