/**
 * The work of `minimind convert`: read weights from a `.pth` file, a `.safetensors` file or a model folder,
 * cast the float tensors to another dtype, and write them as a `.pth` file (upstream MiniMind's layout, the
 * tied head sharing the embedding's storage), a `.safetensors` file (Hugging Face's layout, the tied head left
 * out) or a model folder (config.json as MiniMind or Qwen3 fields, the weights, the tokenizer files).
 * Every read and write goes through @minimind/model's checked readers and atomic writers, so a hostile file
 * ends in one labelled error naming it. Not here: the command line (commands/convert.ts).
 */
import { copyFileSync, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import {
  assertStateDictMatchesConfig,
  type MiniMindConfig,
  miniMindConfigToQwen3Json,
  type StateDict,
} from "@minimind/model";
import { findPthFile, readPthFile, withTiedLmHead, writePthFile } from "@minimind/model/pytorch";
import {
  readMiniMindConfigFile,
  readSafetensorsCheckpoint,
  readSafetensorsFile,
  SAFETENSORS_INDEX_NAME,
  SAFETENSORS_WEIGHTS_NAME,
  type SafetensorsTensor,
  tensorFromFloat32,
  tensorToFloat32,
  writeMiniMindConfigFile,
  writeSafetensorsFile,
} from "@minimind/model/safetensors";
import { describeFileError } from "../io.js";

export type WeightFormat = "pth" | "safetensors";
export type TargetDtype = "fp32" | "fp16" | "bf16";
export type ModelType = "minimind" | "qwen3";

const dtypeNames = { fp32: "F32", fp16: "F16", bf16: "BF16" } as const;
const torchDtypes = { F32: "float32", F16: "float16", BF16: "bfloat16" } as const;
const floatDtypes: ReadonlySet<string> = new Set(["F32", "F16", "BF16", "F64"]);
const tokenizerFiles = ["tokenizer.json", "tokenizer_config.json"];

export interface ConvertOptions {
  /** Cast every float tensor to this dtype; default keeps each tensor's dtype. */
  dtype?: TargetDtype;
  /** The config.json to use (default: the one in the input folder, or beside the input file). */
  config?: string;
  /** Which config.json a folder output gets. Default "minimind". */
  modelType?: ModelType;
  /** For a folder output: the weight file's format. Default "safetensors". */
  format?: WeightFormat;
  /** Replace existing output files. */
  force?: boolean;
}

export interface ConvertSummary {
  input: string;
  inputFormat: WeightFormat;
  output: string;
  outputFormat: WeightFormat;
  /** The files written (weights first, then config.json and tokenizer files). */
  files: string[];
  /** Tensors in the written weights (a tied head listed in a `.pth` counts, though it shares storage). */
  tensors: number;
  /** Elements of the stored tensors, each storage counted once (a tied head is not counted twice). */
  parameters: number;
  /** Tensor counts by dtype, before and after. */
  inputDtypes: Record<string, number>;
  outputDtypes: Record<string, number>;
  /** Bytes of the written weight file. */
  bytes: number;
  /** The config.json used, or null when none was found (a weights-only conversion). */
  config: string | null;
  modelType: ModelType | null;
  /** Values that became ±Infinity when narrowed to fp16 (beyond ±65504), by tensor. */
  overflowed: Record<string, number>;
}

/** What a path names as an input: its weights, their format, and the config found for them. */
interface Source {
  tensors: StateDict;
  format: WeightFormat;
  folder: string | undefined;
  configFile: string | undefined;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The format an input or output file's extension names, if any. */
function formatOf(path: string): WeightFormat | undefined {
  const extension = extname(path).toLowerCase();
  if (extension === ".pth" || extension === ".pt") return "pth";
  if (extension === ".safetensors") return "safetensors";
  return undefined;
}

async function readSource(input: string, configOption: string | undefined): Promise<Source> {
  try {
    statSync(input);
  } catch (error) {
    throw new Error(`cannot read "${input}": ${describeFileError(error)}`);
  }
  let configFile = configOption;
  if (isFolder(input)) {
    configFile ??= existsSync(join(input, "config.json")) ? join(input, "config.json") : undefined;
    const safetensors =
      existsSync(join(input, SAFETENSORS_WEIGHTS_NAME)) || existsSync(join(input, SAFETENSORS_INDEX_NAME));
    if (safetensors) {
      return { tensors: await readSafetensorsCheckpoint(input), format: "safetensors", folder: input, configFile };
    }
    const file = await findPthFile(input);
    return { tensors: (await readPthFile(file)).tensors, format: "pth", folder: input, configFile };
  }
  const format = formatOf(input);
  if (format === undefined) {
    throw new Error(`"${input}" is neither a .pth nor a .safetensors file, nor a model folder`);
  }
  const beside = join(dirname(input), "config.json");
  configFile ??= existsSync(beside) ? beside : undefined;
  const tensors = format === "pth" ? (await readPthFile(input)).tensors : (await readSafetensorsFile(input)).tensors;
  return { tensors, format, folder: undefined, configFile };
}

function countDtypes(tensors: ReadonlyMap<string, SafetensorsTensor>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const tensor of tensors.values()) counts[tensor.dtype] = (counts[tensor.dtype] ?? 0) + 1;
  return counts;
}

function sameBits(a: SafetensorsTensor, b: SafetensorsTensor): boolean {
  if (a.dtype !== b.dtype || a.data.byteLength !== b.data.byteLength) return false;
  const left = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const right = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  return left.every((byte, index) => byte === right[index]);
}

/**
 * Checks the weights against the config and drops a tied `lm_head.weight` (the embedding is the head; a
 * `.pth` output lists it again, sharing the storage). A tied head that differs from the embedding is refused:
 * the weights would not be the model the config describes.
 */
function fitToConfig(tensors: StateDict, config: MiniMindConfig, input: string, configFile: string): StateDict {
  assertStateDictMatchesConfig(tensors, config, `${input} (with ${configFile})`);
  const head = tensors.get("lm_head.weight");
  const embedding = tensors.get("model.embed_tokens.weight");
  if (!config.tie_word_embeddings || head === undefined || embedding === undefined) return tensors;
  if (!sameBits(head, embedding)) {
    throw new Error(
      `${input}: "lm_head.weight" differs from "model.embed_tokens.weight", but ${configFile} ties them (tie_word_embeddings: true)`,
    );
  }
  const output = new Map(tensors);
  output.delete("lm_head.weight");
  return output;
}

/** Casts float tensors to `dtype`; tensors sharing data share the cast data. Counts fp16 overflows. */
function castTensors(
  tensors: StateDict,
  dtype: TargetDtype | undefined,
  overflowed: Record<string, number>,
): StateDict {
  if (dtype === undefined) return tensors;
  const target = dtypeNames[dtype];
  const castByData = new Map<SafetensorsTensor["data"], SafetensorsTensor>();
  const output: StateDict = new Map();
  for (const [name, tensor] of tensors) {
    if (!floatDtypes.has(tensor.dtype) || tensor.dtype === target) {
      output.set(name, tensor);
      continue;
    }
    let cast = castByData.get(tensor.data);
    if (cast === undefined) {
      const values = tensorToFloat32(tensor, name);
      cast = tensorFromFloat32(values, tensor.shape, target);
      if (target === "F16") {
        const widened = tensorToFloat32(cast, name);
        let count = 0;
        for (let index = 0; index < values.length; index++) {
          if (Number.isFinite(values[index]) && !Number.isFinite(widened[index])) count++;
        }
        if (count > 0) overflowed[name] = count;
      }
      castByData.set(tensor.data, cast);
    }
    output.set(name, { ...cast, shape: [...tensor.shape] });
  }
  return output;
}

function uniqueElements(tensors: ReadonlyMap<string, SafetensorsTensor>): number {
  const seen = new Set<SafetensorsTensor["data"]>();
  let count = 0;
  for (const tensor of tensors.values()) {
    if (seen.has(tensor.data)) continue;
    seen.add(tensor.data);
    count += tensor.data.length;
  }
  return count;
}

function refuseExisting(path: string, force: boolean): void {
  if (!force && existsSync(path)) throw new Error(`"${path}" already exists; pass --force to replace it`);
}

/** The dtype every float tensor of the output has, when there is one ("float32" when mixed or none). */
function torchDtypeOf(tensors: ReadonlyMap<string, SafetensorsTensor>): "float32" | "float16" | "bfloat16" {
  const dtypes = new Set([...tensors.values()].map((tensor) => tensor.dtype).filter((dtype) => floatDtypes.has(dtype)));
  const [only] = dtypes;
  return dtypes.size === 1 && only !== undefined && only in torchDtypes
    ? torchDtypes[only as keyof typeof torchDtypes]
    : "float32";
}

/** Converts `input` into `output` (see the file header); returns what was done. */
export async function convertCheckpoint(
  input: string,
  output: string,
  options: ConvertOptions = {},
): Promise<ConvertSummary> {
  const source = await readSource(input, options.config);
  const outputFile = formatOf(output);
  const outputFormat = outputFile ?? options.format ?? "safetensors";
  const config = source.configFile === undefined ? undefined : await readMiniMindConfigFile(source.configFile);
  const modelType = config === undefined ? null : (options.modelType ?? "minimind");
  if (outputFile === undefined && config === undefined) {
    throw new Error(
      `writing a model folder ("${output}") needs its config.json, and none is beside "${input}"; pass --config <config.json>, or name an output file (.pth or .safetensors)`,
    );
  }
  let tensors = source.tensors;
  const inputDtypes = countDtypes(tensors);
  if (config !== undefined) tensors = fitToConfig(tensors, config, input, source.configFile as string);
  const overflowed: Record<string, number> = {};
  tensors = castTensors(tensors, options.dtype, overflowed);
  if (config !== undefined && outputFormat === "pth") tensors = withTiedLmHead(tensors, config);

  const force = options.force === true;
  let weightFile = output;
  if (outputFile === undefined) {
    if (existsSync(output) && !isFolder(output)) throw new Error(`"${output}" is a file; a model folder was asked for`);
    weightFile = join(output, outputFormat === "pth" ? "model.pth" : SAFETENSORS_WEIGHTS_NAME);
    for (const name of [basename(weightFile), "config.json"]) refuseExisting(join(output, name), force);
    mkdirSync(output, { recursive: true });
  } else {
    refuseExisting(output, force);
  }
  if (outputFormat === "pth") {
    await writePthFile(weightFile, tensors);
  } else {
    await writeSafetensorsFile(weightFile, tensors, { metadata: { format: "pt" } });
  }
  const files = [weightFile];
  if (outputFile === undefined && config !== undefined) {
    const configOut = join(output, "config.json");
    if (modelType === "qwen3") {
      const json = miniMindConfigToQwen3Json(config, { torchDtype: torchDtypeOf(tensors) });
      writeFileSync(configOut, `${JSON.stringify(json, null, 2)}\n`);
    } else {
      await writeMiniMindConfigFile(configOut, config);
    }
    files.push(configOut);
    const tokenizerFolder = source.folder ?? dirname(input);
    for (const name of tokenizerFiles) {
      const from = join(tokenizerFolder, name);
      if (existsSync(from) && !existsSync(join(output, name))) {
        copyFileSync(from, join(output, name));
        files.push(join(output, name));
      }
    }
  }
  return {
    input,
    inputFormat: source.format,
    output,
    outputFormat,
    files,
    tensors: tensors.size,
    parameters: uniqueElements(tensors),
    inputDtypes,
    outputDtypes: countDtypes(tensors),
    bytes: statSync(weightFile).size,
    config: source.configFile ?? null,
    modelType,
    overflowed,
  };
}
