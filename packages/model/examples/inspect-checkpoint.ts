import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  countParameters,
  createMiniMindConfig,
  MiniMindForCausalLM,
  parseMiniMindConfig,
  stateDictToFloat32,
} from "@minimind/model";
import { readSafetensors, tensorFromFloat32, tensorToFloat32, writeSafetensors } from "@minimind/model/safetensors";

// A checkpoint to inspect (yours: a folder with config.json and model.safetensors): a small random model, saved.
const random = new MiniMindForCausalLM(createMiniMindConfig({ hidden_size: 64, num_hidden_layers: 2 }), { seed: 0 });
await random.savePretrained("checkpoint");
random.dispose();

const directory = "checkpoint";
const configFile = join(directory, "config.json");
const config = parseMiniMindConfig(JSON.parse(await readFile(configFile, "utf8")), configFile);
console.log(`hidden ${config.hidden_size}, ${config.num_hidden_layers} layers, ${countParameters(config)} parameters`);

// In a browser, the bytes would come from fetch(url).then((response) => response.arrayBuffer()).
const weightsFile = join(directory, "model.safetensors");
const { tensors, metadata } = readSafetensors(await readFile(weightsFile), { source: weightsFile });
console.log("metadata:", metadata);
for (const [name, tensor] of tensors) console.log(`${name}  ${tensor.dtype} [${tensor.shape.join(", ")}]`);

// Store the weights as BF16 (half the size), read them back and widen to F32: BF16 → F32 is exact.
const asBf16 = new Map(
  [...tensors].map(([name, tensor]) => [name, tensorFromFloat32(tensorToFloat32(tensor, name), tensor.shape, "BF16")]),
);
const reloaded = readSafetensors(writeSafetensors(asBf16, { metadata: { format: "pt" } }));
const float32 = stateDictToFloat32(reloaded.tensors, config, "bf16 copy"); // checks names and shapes too
const embedding = float32.get("model.embed_tokens.weight");
console.log("first embedding values as F32:", Array.from(embedding?.data.subarray(0, 4) ?? []));
