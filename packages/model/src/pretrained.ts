/**
 * Loading and saving a model folder (Node): `config.json` plus `model.safetensors` (or a sharded index) under
 * upstream names, with `fromPretrained`'s options checked (dtype, strict, config overrides, training, seed,
 * warn) and, with `strict: false`, the skipped tensors reported. Produces checked float32 weights for the
 * model's constructor; knows nothing of the architecture beyond the config's parameter shapes.
 * Not here: the weight file formats themselves (safetensors*.ts) or the model (model.ts).
 */
import {
  countParameters,
  createMiniMindConfig,
  describeBytes,
  type MiniMindConfig,
  type MiniMindConfigOptions,
  parameterShapes,
} from "./config.js";
import { describeValue } from "./describe-value.js";
import { nodeFileAccess } from "./node-files.js";
import { findPthFile, readPthFile, writePthFile } from "./pth-files.js";
import { withTiedLmHead } from "./pth-writer.js";
import { type WeightFormat, weightFormats } from "./quantized-projections.js";
import { machineMemoryBytes } from "./regular-files.js";
import { type SafetensorsTensor, tensorToFloat32 } from "./safetensors.js";
import {
  readMiniMindConfigFile,
  readSafetensorsCheckpoint,
  writeMiniMindConfigFile,
  writeSafetensorsCheckpoint,
} from "./safetensors-files.js";
import { SAFETENSORS_INDEX_NAME, SAFETENSORS_WEIGHTS_NAME } from "./sharded-safetensors.js";
import { checkStateDict, type StateDictReport, stateDictToFloat32 } from "./state-dict.js";

/** Options of `MiniMindForCausalLM.fromPretrained`. */
export interface FromPretrainedOptions {
  /**
   * The compute dtype. Only "float32" (the default) today: F16 and BF16 weights are widened to float32 on
   * load, exactly. Anything else is refused rather than silently computed in float32.
   */
  readonly dtype?: "float32";
  /**
   * true (default): the weights must fit the config exactly, and the error lists every missing, unexpected,
   * mis-shaped or non-float tensor by name. false: missing parameters keep a fresh model's initial values
   * (upstream init, `seed`), unexpected tensors are ignored, and both are reported through `warn`;
   * mis-shaped and non-float tensors still throw, since they cannot be loaded at all.
   */
  readonly strict?: boolean;
  /**
   * Fields that override `config.json` (upstream names), e.g. `{ max_position_embeddings: 8192,
   * inference_rope_scaling: true }` or `{ dropout: 0.1 }`; the result is validated like a file.
   */
  readonly config?: MiniMindConfigOptions;
  /** Leave the model in training mode (dropout, MoE aux loss). Default false: eval mode, as upstream's HF `from_pretrained`. */
  readonly training?: boolean;
  /** Seed for the initial values of missing parameters under `strict: false` (default 0). */
  readonly seed?: number;
  /**
   * Receives what `strict: false` skipped (a message naming every missing and unexpected tensor, and the
   * report). Default `console.warn`. Not called when nothing was skipped.
   */
  readonly warn?: (message: string, report: StateDictReport) => void;
  /**
   * true (default): every weight must be finite; the first NaN or ±Infinity is refused, naming the tensor,
   * the flat index and the value (NaN weights would otherwise load silently and generate garbage). false
   * skips the scan (one pass over the weights).
   */
  readonly checkFinite?: boolean;
  /**
   * How the projections' weights are kept for inference: "float32" (default), "bf16" (rounded to nearest even,
   * half the bytes) or "int8" (blocks of 32 with one scale each, llama.cpp's Q8_0 scheme; about a quarter of
   * the bytes). bf16 and int8 are inference-only (`training: true` is refused) and widened inside the CPU
   * backend's matmul kernels; embeddings and norms stay float32. See the package README for their quality.
   */
  readonly weights?: WeightFormat;
}

const fromPretrainedOptionNames = new Set([
  "dtype",
  "strict",
  "config",
  "training",
  "seed",
  "warn",
  "checkFinite",
  "weights",
]);

function checkFromPretrainedOptions(options: FromPretrainedOptions): {
  strict: boolean;
  training: boolean;
  checkFinite: boolean;
  seed: number;
  warn: (message: string, report: StateDictReport) => void;
  weightFormat: WeightFormat;
} {
  const fail = (message: string): never => {
    throw new Error(`[fromPretrained] ${message}`);
  };
  if (typeof options !== "object" || options === null) fail("options must be an object");
  for (const name of Object.keys(options)) {
    if (!fromPretrainedOptionNames.has(name))
      fail(`unknown option "${name}"; expected one of ${[...fromPretrainedOptionNames].join(", ")}`);
  }
  const dtype: unknown = options.dtype ?? "float32";
  if (dtype !== "float32") {
    fail(
      `dtype is ${JSON.stringify(dtype)}; only "float32" is supported (weights stored as F16/BF16 are widened to float32 on load)`,
    );
  }
  for (const name of ["strict", "training", "checkFinite"] as const) {
    const value: unknown = options[name];
    if (value !== undefined && typeof value !== "boolean")
      fail(`${name} is ${describeValue(value)}; expected true or false`);
  }
  const weightFormat: unknown = options.weights ?? "float32";
  if (!weightFormats.includes(weightFormat as WeightFormat))
    fail(`weights is ${describeValue(weightFormat)}; expected one of ${weightFormats.map((f) => `"${f}"`).join(", ")}`);
  if (weightFormat !== "float32" && options.training === true)
    fail(`weights: "${weightFormat}" is inference-only; training: true needs weights: "float32"`);
  const seed: unknown = options.seed ?? 0;
  if (typeof seed !== "number" || !Number.isSafeInteger(seed))
    fail(`seed is ${describeValue(seed)}; expected an integer`);
  if (options.warn !== undefined && typeof options.warn !== "function") fail("warn must be a function");
  if (options.config !== undefined && (typeof options.config !== "object" || options.config === null))
    fail("config must be an object of config.json fields to override");
  return {
    strict: options.strict ?? true,
    training: options.training ?? false,
    checkFinite: options.checkFinite ?? true,
    seed: seed as number,
    warn: options.warn ?? ((message: string) => console.warn(message)),
    weightFormat: weightFormat as WeightFormat,
  };
}

/** `config` with the given fields replaced, validated as a whole; unknown field names are refused. */
function overrideConfig(config: MiniMindConfig, overrides: MiniMindConfigOptions, source: string): MiniMindConfig {
  const { model_type: _modelType, ...fields } = config;
  for (const name of Object.keys(overrides)) {
    if (!(name in fields)) {
      throw new Error(
        `[fromPretrained] the config option has an unknown field "${name}"; expected MiniMindConfig fields (upstream names) such as max_position_embeddings, dropout, eos_token_id`,
      );
    }
  }
  const merged: MiniMindConfigOptions = { ...fields, ...overrides };
  // rope_scaling overrides merge field by field into the file's; turning YaRN off drops the file's values.
  const ropeScaling =
    merged.inference_rope_scaling === true
      ? overrides.rope_scaling === null
        ? null
        : { ...(config.rope_scaling ?? {}), ...(overrides.rope_scaling ?? {}) }
      : (overrides.rope_scaling ?? null);
  return createMiniMindConfig({ ...merged, rope_scaling: ropeScaling }, `${source} with the config option`);
}

/**
 * strict: false — the float32 weights of every tensor that fits a parameter, and the report. Mis-shaped or
 * non-float tensors still throw (naming them), since no parameter can take them.
 */
function looseFloat32(
  stateDict: ReadonlyMap<string, SafetensorsTensor>,
  config: MiniMindConfig,
  source: string,
): { weights: Map<string, Float32Array>; report: StateDictReport } {
  const report = checkStateDict(stateDict, config);
  if (report.mismatched.length > 0 || report.wrongDtype.length > 0) {
    const faults = [
      ...report.mismatched.map(
        ({ name, shape, expected }) => `${name} is [${shape.join(", ")}], expected [${expected.join(", ")}]`,
      ),
      ...report.wrongDtype.map(({ name, dtype }) => `${name} is ${dtype}, not a float weight (F32/F16/BF16)`),
    ];
    throw new Error(
      `[fromPretrained] ${source}: strict: false skips missing and unexpected tensors, but these cannot be loaded: ${faults.join("; ")}`,
    );
  }
  const weights = new Map<string, Float32Array>();
  for (const name of parameterShapes(config).keys()) {
    const tensor = stateDict.get(name);
    if (tensor !== undefined) weights.set(name, tensorToFloat32(tensor, name, source));
  }
  return { weights, report };
}

/**
 * Refuses, before any weight is read or allocated, a config whose float32 weights exceed the machine's memory
 * (`os.totalmem()`): with `strict: false` every missing parameter would be allocated fresh.
 */
function checkFitsInMemory(config: MiniMindConfig, configFile: string): void {
  const bytes = 4 * countParameters(config);
  const memory = machineMemoryBytes();
  if (bytes > memory) {
    throw new Error(
      `[fromPretrained] ${configFile}: the config implies ${countParameters(config)} parameters, ${describeBytes(bytes)} as float32; this machine has ${describeBytes(memory)} of memory`,
    );
  }
}

/** The first NaN or ±Infinity among the weights, as an error naming the tensor, the flat index and the value. */
function checkFiniteWeights(weights: ReadonlyMap<string, Float32Array>, source: string): void {
  for (const [name, data] of weights) {
    for (let index = 0; index < data.length; index++) {
      const value = data[index] as number;
      // value - value is 0 for every finite value and NaN for NaN and ±Infinity
      if (value - value !== 0) {
        throw new Error(
          `[fromPretrained] ${source}: tensor "${name}" holds ${value} at flat index ${index}; weights must be finite (pass checkFinite: false to load them anyway)`,
        );
      }
    }
  }
}

/** What `readPretrained` hands the model's constructor. */
export interface PretrainedWeights {
  readonly config: MiniMindConfig;
  /** Float32 weights by upstream name; with `strict: false` some may be missing (initialised fresh). */
  readonly weights: Map<string, Float32Array>;
  readonly seed: number;
  readonly training: boolean;
  readonly weightFormat: WeightFormat;
}

/** Reads and checks a model folder: the config (with overrides) and float32 weights under upstream names. */
export async function readPretrained(location: string, options: FromPretrainedOptions): Promise<PretrainedWeights> {
  if (typeof location !== "string" || location === "")
    throw new Error(`[fromPretrained] the folder is ${describeValue(location)}; expected a path`);
  const settings = checkFromPretrainedOptions(options);
  const { directory, pthFile } = await locateWeights(location);
  const separator = directory.endsWith("/") ? "" : "/";
  const configFile = `${directory}${separator}config.json`;
  let config = await readMiniMindConfigFile(configFile);
  if (options.config !== undefined) config = overrideConfig(config, options.config, configFile);
  checkFitsInMemory(config, configFile);
  const stateDict =
    pthFile === undefined ? await readSafetensorsCheckpoint(directory) : (await readPthFile(pthFile)).tensors;
  const { seed, training, weightFormat } = settings;
  if (settings.strict) {
    const float32 = stateDictToFloat32(stateDict, config, directory);
    const weights = new Map([...float32].map(([name, weight]) => [name, weight.data] as const));
    if (settings.checkFinite) checkFiniteWeights(weights, directory);
    return { config, weights, seed, training, weightFormat };
  }
  const { weights, report } = looseFloat32(stateDict, config, directory);
  if (settings.checkFinite) checkFiniteWeights(weights, directory);
  if (report.missing.length > 0 || report.unexpected.length > 0) {
    const parts: string[] = [];
    if (report.missing.length > 0) {
      parts.push(
        `missing ${report.missing.length} (initialised as a new model's, seed ${seed}): ${report.missing.join(", ")}`,
      );
    }
    if (report.unexpected.length > 0) {
      parts.push(`unexpected ${report.unexpected.length} (ignored): ${report.unexpected.join(", ")}`);
    }
    settings.warn(`[fromPretrained] ${directory} loaded with strict: false; ${parts.join("; ")}`, report);
  }
  return { config, weights, seed, training, weightFormat };
}

/**
 * Where the weights are: a folder with `model.safetensors` (or a sharded index) is read as safetensors; a `.pth`
 * file (upstream's `torch.save` of a state dict, or a `*_resume.pth`), or a folder holding one `.pth` and no
 * safetensors, as PyTorch's format — without executing anything. `config.json` sits in the folder.
 */
async function locateWeights(location: string): Promise<{ directory: string; pthFile: string | undefined }> {
  const { fs, path } = await nodeFileAccess(
    "fromPretrained",
    "fromPretrained",
    "use MiniMindForCausalLM.fromStateDict",
  );
  const { stat } = fs;
  const { dirname, join } = path;
  const isFile = await stat(location).then(
    (entry) => entry.isFile(),
    () => false,
  );
  if (isFile && location.endsWith(".pth")) return { directory: dirname(location), pthFile: location };
  if (isFile) return { directory: location, pthFile: undefined }; // the reader names what is wrong
  const has = (name: string) =>
    stat(join(location, name)).then(
      () => true,
      () => false,
    );
  if ((await has(SAFETENSORS_WEIGHTS_NAME)) || (await has(SAFETENSORS_INDEX_NAME))) {
    return { directory: location, pthFile: undefined };
  }
  const pthFile = await findPthFile(location).catch(() => undefined);
  return { directory: location, pthFile };
}

/** How `savePretrained` writes the weights. */
export interface SavePretrainedOptions {
  /**
   * "safetensors" (default): `model.safetensors`, F32, tied head omitted (Hugging Face's layout). "pth":
   * `model.pth` in upstream MiniMind's layout — `torch.save` of the state dict with the tied `lm_head.weight`
   * listed (sharing the embedding's storage), so upstream's `load_state_dict(strict=True)` takes it.
   */
  readonly format?: "safetensors" | "pth";
}

/** Writes `config.json` and the weights (upstream names) into a folder; returns the weight files. */
export async function writePretrained(
  directory: string,
  config: MiniMindConfig,
  stateDict: ReadonlyMap<string, SafetensorsTensor>,
  options: SavePretrainedOptions = {},
): Promise<string[]> {
  const format = options.format ?? "safetensors";
  if (format !== "safetensors" && format !== "pth")
    throw new Error(`[savePretrained] format is ${JSON.stringify(format)}; expected "safetensors" or "pth"`);
  const separator = directory.endsWith("/") ? "" : "/";
  let written: string[];
  if (format === "pth") {
    const { fs } = await nodeFileAccess("savePretrained", "savePretrained", "use model.stateDict() and writePth");
    await fs.mkdir(directory, { recursive: true });
    const file = `${directory}${separator}model.pth`;
    await writePthFile(file, withTiedLmHead(stateDict, config));
    written = [file];
  } else {
    written = await writeSafetensorsCheckpoint(directory, stateDict);
  }
  await writeMiniMindConfigFile(`${directory}${separator}config.json`, config);
  return written;
}
