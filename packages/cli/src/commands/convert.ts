/**
 * `minimind convert IN OUT`: weights between PyTorch `.pth` (upstream MiniMind's trainers), safetensors
 * (Hugging Face; config.json as MiniMind or Qwen3 fields) and fp32/fp16/bf16, with a summary of what was
 * converted. OUT's extension picks the format (`.pth`, `.safetensors`); any other OUT is a model folder.
 * A thin layer over convert/checkpoint.ts; nothing is executed from a `.pth` (restricted unpickler).
 */
import { InvalidArgumentError } from "commander";
import { type CliCommand, UsageError } from "../command.js";
import { type ConvertOptions, convertCheckpoint, type ModelType, type TargetDtype } from "../convert/checkpoint.js";

interface ConvertFlags {
  dtype?: TargetDtype;
  config?: string;
  modelType?: ModelType;
  format?: "pth" | "safetensors";
  force?: boolean;
  json?: boolean;
}

function choice<T extends string>(values: readonly T[]): (text: string) => T {
  return (text) => {
    if ((values as readonly string[]).includes(text)) return text as T;
    throw new InvalidArgumentError(`"${text}" is not one of ${values.join(", ")}.`);
  };
}

function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([dtype, count]) => `${count} ${dtype}`)
    .join(", ");
}

export const convertCommand: CliCommand = {
  name: "convert",
  summary: "convert weights between .pth, safetensors and fp32/fp16/bf16 (minimind convert model.pth out/)",
  configure(command) {
    command
      .argument("<in>", "a .pth file (upstream torch.save, *_resume.pth too), a .safetensors file, or a model folder")
      .argument("<out>", "a .pth or .safetensors file, or a model folder (config.json + weights + tokenizer)")
      .option(
        "--dtype <dtype>",
        "cast float tensors to fp32, fp16 or bf16 (default: keep each tensor's)",
        choice(["fp32", "fp16", "bf16"] as const),
      )
      .option("--config <file>", "the model's config.json (default: the one in IN's folder or beside IN)")
      .option(
        "--model-type <type>",
        "config.json of a folder OUT: minimind or qwen3 (Hugging Face Qwen3/Qwen3-MoE)",
        choice(["minimind", "qwen3"] as const),
      )
      .option(
        "--format <format>",
        "weights of a folder OUT: safetensors (default) or pth",
        choice(["safetensors", "pth"] as const),
      )
      .option("--force", "replace OUT's files when they exist")
      .option("--json", "print the summary as one JSON object")
      .addHelpText(
        "after",
        `
OUT ending in .pth gets upstream MiniMind's layout (torch.save of the state dict; a tied lm_head shares the
embedding's storage), so upstream's eval_llm.py and trainers load it; OUT ending in .safetensors gets Hugging
Face's (tied head left out). With a config, the weights are checked against it first.

Examples:
  minimind convert ../out/full_sft_768.pth --config config.json model/             # upstream .pth → folder
  minimind convert runs/demo/sft/model minimind.pth --dtype fp16                   # for upstream PyTorch
  minimind convert runs/demo/sft/model qwen3/ --model-type qwen3 --dtype bf16      # for transformers`,
      );
  },
  async run({ arguments: [input, output], options }, { io }) {
    const flags = options as unknown as ConvertFlags;
    const inPath = input as string;
    const outPath = output as string;
    const outputIsFile = /\.(pth|pt|safetensors)$/i.test(outPath);
    if (outputIsFile && flags.modelType !== undefined) {
      throw new UsageError("--model-type applies to a model folder OUT (it picks the config.json written there)");
    }
    if (outputIsFile && flags.format !== undefined) {
      throw new UsageError("--format applies to a model folder OUT; a file OUT's extension already names the format");
    }
    const convertOptions: ConvertOptions = {
      ...(flags.dtype === undefined ? {} : { dtype: flags.dtype }),
      ...(flags.config === undefined ? {} : { config: flags.config }),
      ...(flags.modelType === undefined ? {} : { modelType: flags.modelType }),
      ...(flags.format === undefined ? {} : { format: flags.format }),
      force: flags.force === true,
    };
    const summary = await convertCheckpoint(inPath, outPath, convertOptions);
    if (flags.json === true) {
      io.stdout(`${JSON.stringify(summary)}\n`);
      return 0;
    }
    io.stdout(
      `converted ${summary.tensors} tensors (${summary.parameters.toLocaleString("en-US")} parameters) from ${summary.input} (${summary.inputFormat}: ${describeCounts(summary.inputDtypes)}) to ${summary.output} (${summary.outputFormat}: ${describeCounts(summary.outputDtypes)}), ${summary.bytes.toLocaleString("en-US")} bytes\n`,
    );
    io.stdout(
      summary.config === null
        ? "no config.json: the weights were converted as they are, unchecked (pass --config to check them)\n"
        : `config: ${summary.config} (the weights fit it${summary.files.length > 1 ? `; config.json written as ${summary.modelType === "qwen3" ? "Qwen3" : "MiniMind"} fields` : ""})\n`,
    );
    for (const file of summary.files.slice(1)) io.stdout(`wrote ${file}\n`);
    for (const [name, count] of Object.entries(summary.overflowed)) {
      io.stderr(`warning: ${count} values of "${name}" are beyond fp16's ±65504 and became ±Infinity\n`);
    }
    return 0;
  },
};
