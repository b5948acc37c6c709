/**
 * Which model `generate`, `chat` and `eval` run: `--model <folder>` (a model folder with config.json and
 * model.safetensors, or a run folder of pretrain/sft/lora/demo, whose model/ is used), else the default model
 * shipped in the package's model/ folder (see model/README.md). Should its weights be missing (a trimmed
 * install), the commands fail with one line saying so and how to train one — never a stub model. Not here:
 * generation (the commands).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TextModel, type WeightFormat } from "@minimind/model";
import { setMatmulThreads } from "@minimind/tensor/internals";
import { InvalidArgumentError } from "commander";

/** The folder of this module in ESM and CJS builds and in the sources. */
function moduleFolder(): string {
  return typeof __dirname === "string" ? __dirname : dirname(fileURLToPath(import.meta.url));
}

/** The shipped default model's folder (`<package>/model`), when its weights are installed. */
export function defaultModelFolder(): string | undefined {
  let folder = moduleFolder();
  for (let level = 0; level < 4; level++) {
    const candidate = join(folder, "model");
    if (existsSync(join(candidate, "model.safetensors")) && existsSync(join(candidate, "config.json"))) {
      return candidate;
    }
    folder = dirname(folder);
  }
  return undefined;
}

export const NO_DEFAULT_MODEL =
  'no default model is installed with this @minimind/cli; train one with "minimind demo" (about 10 minutes) and pass --model <its run folder>, or see model/README.md for the full recipe';

/** A folder with a model in it: itself, or the newest `model` folder of a run (demo: sft/model). */
export function resolveModelFolder(folder: string, flag = "--model"): string {
  for (const candidate of [folder, join(folder, "model"), join(folder, "sft", "model")]) {
    if (existsSync(join(candidate, "config.json"))) return candidate;
  }
  const reason = existsSync(folder) ? "it has no config.json (nor model/config.json)" : "no such file or directory";
  throw new Error(`${flag} "${folder}": ${reason}; give a model folder or the run folder of pretrain/sft/demo`);
}

/** The `--weights <format>` flag's parser: float32, bf16 or int8. */
export function weightFormat(text: string): WeightFormat {
  if (text === "float32" || text === "bf16" || text === "int8") return text;
  throw new InvalidArgumentError(`"${text}" is not one of float32, bf16, int8.`);
}

export const WEIGHTS_HELP =
  "how the projections' weights are kept: float32, bf16 (half the bytes) or int8 (about a quarter; faster decode); bf16/int8 are inference-only";

/**
 * Loads `--model` (or the default model) with its tokenizer; `threads` caps the matmul threads; `weights`
 * keeps the projections as bf16 or int8 (`fromPretrained`'s `weights` option).
 */
export async function loadModel(
  model: string | undefined,
  threads?: number,
  weights?: WeightFormat,
): Promise<{ textModel: TextModel; folder: string }> {
  if (threads !== undefined) setMatmulThreads(threads);
  const folder = model === undefined ? defaultModelFolder() : resolveModelFolder(model);
  if (folder === undefined) throw new Error(NO_DEFAULT_MODEL);
  return { textModel: await TextModel.load(folder, weights === undefined ? {} : { weights }), folder };
}
