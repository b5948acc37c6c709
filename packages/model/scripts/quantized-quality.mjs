// Perplexity of bf16 and int8 weights against float32 (uses the built package):
//   node packages/model/scripts/quantized-quality.mjs [fixtures folder, default ../shared/fixtures/model]
//     on each reference fixture: the loss its io.safetensors defines (mean cross-entropy of logits[:, :-1]
//     against labels[:, 1:]);
//   node packages/model/scripts/quantized-quality.mjs --model <folder> --text <file.jsonl> [--max-rows n] [--max-len n]
//     on {"text"} records (pretraining's held-out file): each text as bos + tokens + eos, cut to --max-len
//     (default 256) tokens, one row per forward; perplexity = exp(token-weighted mean cross-entropy).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { scope } from "@minimind/tensor";
import { MiniMindForCausalLM, TextModel } from "../dist/index.js";
import { readSafetensors } from "../dist/safetensors-entry.js";

const argument = (name) => {
  const index = process.argv.indexOf(name);
  return index < 0 ? undefined : process.argv[index + 1];
};
const root = process.argv[2]?.startsWith("--")
  ? undefined
  : (process.argv[2] ?? new URL("../../../../shared/fixtures/model/", import.meta.url).pathname);

function rows(tensor) {
  const [batch, length] = tensor.shape;
  return Array.from({ length: batch }, (_, b) => Array.from(tensor.data.subarray(b * length, (b + 1) * length)));
}

const results = [];
if (argument("--model") !== undefined) await realText(argument("--model"), argument("--text"));
for (const name of root === undefined ? [] : readdirSync(root).sort()) {
  const directory = join(root, name);
  const { tensors: io } = readSafetensors(readFileSync(join(directory, "io.safetensors")));
  const mask = io.get("attention_mask");
  const losses = {};
  for (const weights of ["float32", "bf16", "int8"]) {
    const model = await MiniMindForCausalLM.fromPretrained(directory, { weights });
    losses[weights] = scope(() => {
      const { loss } = model.forward({
        inputIds: rows(io.get("input_ids")),
        labels: rows(io.get("labels")),
        ...(mask === undefined ? {} : { attentionMask: rows(mask) }),
      });
      return loss.dataSync()[0];
    });
    model.dispose();
  }
  for (const weights of ["bf16", "int8"]) {
    const change = Math.exp(losses[weights] - losses.float32) - 1;
    results.push({
      fixture: name,
      weights,
      loss: losses[weights],
      float32Loss: losses.float32,
      perplexityChange: change,
    });
    console.log(
      `${name} ${weights}: loss ${losses[weights].toFixed(6)} vs float32 ${losses.float32.toFixed(6)}; perplexity ${(100 * change).toFixed(3)} %`,
    );
  }
}
console.log(JSON.stringify(results));

async function realText(folder, file) {
  const maxRows = Number(argument("--max-rows") ?? Number.POSITIVE_INFINITY);
  const maxLength = Number(argument("--max-len") ?? 256);
  const texts = readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .slice(0, maxRows)
    .map((line) => JSON.parse(line).text);
  const perplexity = {};
  for (const weights of ["float32", "bf16", "int8"]) {
    const { model, tokenizer } = await TextModel.load(folder, { weights });
    const { bos_token_id: bos, eos_token_id: eos } = model.config;
    let total = 0;
    let count = 0;
    for (const text of texts) {
      const ids = [bos, ...tokenizer.encode(text), eos].slice(0, maxLength);
      if (ids.length < 2) continue;
      const loss = scope(() => model.forward({ inputIds: [ids], labels: [ids] }).loss.dataSync()[0]);
      total += loss * (ids.length - 1);
      count += ids.length - 1;
    }
    perplexity[weights] = Math.exp(total / count);
    model.dispose();
    console.log(
      `${folder} on ${texts.length} texts (${count} predicted tokens), ${weights}: perplexity ${perplexity[weights].toFixed(4)}`,
    );
  }
  for (const weights of ["bf16", "int8"]) {
    const change = perplexity[weights] / perplexity.float32 - 1;
    results.push({
      model: folder,
      text: file,
      weights,
      perplexity: perplexity[weights],
      float32: perplexity.float32,
      perplexityChange: change,
    });
    console.log(`${weights}: perplexity ${(100 * change).toFixed(3)} % vs float32`);
  }
}
