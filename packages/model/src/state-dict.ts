/**
 * StateDict: tensors under upstream parameter names (`model.layers.0.self_attn.q_proj.weight`, …), each a
 * plain { dtype, shape, data }, and checks of a state dict against a MiniMindConfig — missing, unexpected,
 * mis-shaped and non-float tensors, all listed by name in one report. A tied `lm_head.weight` is not
 * expected (the head is the embedding) and is tolerated, then dropped, when a file carries it.
 * This is a container of weights, not a model: it knows names and shapes, not what the tensors compute.
 */
import { type MiniMindConfig, parameterShapes } from "./config.js";
import type { SafetensorsTensor } from "./safetensors.js";
import { tensorToFloat32 } from "./safetensors.js";

/** Upstream parameter name → tensor. Map order is the order tensors were added (or read). */
export type StateDict = Map<string, SafetensorsTensor>;

/** What is wrong with a state dict for a config; every list empty means it fits. */
export interface StateDictReport {
  /** Parameters the config needs that the state dict lacks. */
  readonly missing: readonly string[];
  /** Tensors the config has no parameter for. */
  readonly unexpected: readonly string[];
  /** Tensors whose shape differs from the config's, with both shapes. */
  readonly mismatched: readonly { name: string; shape: readonly number[]; expected: readonly number[] }[];
  /** Tensors whose dtype is not a float weight dtype (F32, F16, BF16, F64). */
  readonly wrongDtype: readonly { name: string; dtype: string }[];
  /** A tied `lm_head.weight` present in the file and ignored (the embedding is the head). */
  readonly ignored: readonly string[];
}

const floatDtypes = new Set(["F32", "F16", "BF16", "F64"]);

/** Compares a state dict's names, shapes and dtypes with what `config` implies. Never throws. */
export function checkStateDict(
  stateDict: ReadonlyMap<string, SafetensorsTensor>,
  config: MiniMindConfig,
): StateDictReport {
  const expected = parameterShapes(config);
  const missing: string[] = [];
  const unexpected: string[] = [];
  const mismatched: { name: string; shape: readonly number[]; expected: readonly number[] }[] = [];
  const wrongDtype: { name: string; dtype: string }[] = [];
  const ignored: string[] = [];
  for (const name of expected.keys()) if (!stateDict.has(name)) missing.push(name);
  for (const [name, tensor] of stateDict) {
    let shape = expected.get(name);
    if (shape === undefined && name === "lm_head.weight" && config.tie_word_embeddings) {
      shape = [config.vocab_size, config.hidden_size];
      ignored.push(name);
    }
    if (shape === undefined) {
      unexpected.push(name);
      continue;
    }
    if (!sameShape(tensor.shape, shape)) mismatched.push({ name, shape: tensor.shape, expected: shape });
    if (!floatDtypes.has(tensor.dtype)) wrongDtype.push({ name, dtype: tensor.dtype });
  }
  return { missing, unexpected, mismatched, wrongDtype, ignored };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, index) => size === b[index]);
}

const listLimit = 20;

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, listLimit).join(", ");
  return names.length > listLimit ? `${shown}, … (${names.length - listLimit} more)` : shown;
}

/**
 * Throws one Error listing every fault of `checkStateDict` (missing, unexpected, mis-shaped, wrong dtype),
 * naming `source` (e.g. the checkpoint file); returns normally when the state dict fits the config.
 */
export function assertStateDictMatchesConfig(
  stateDict: ReadonlyMap<string, SafetensorsTensor>,
  config: MiniMindConfig,
  source = "state dict",
): void {
  const report = checkStateDict(stateDict, config);
  const problems: string[] = [];
  if (report.missing.length > 0) problems.push(`missing ${report.missing.length}: ${listNames(report.missing)}`);
  if (report.unexpected.length > 0) {
    problems.push(`unexpected ${report.unexpected.length}: ${listNames(report.unexpected)}`);
  }
  if (report.mismatched.length > 0) {
    const details = report.mismatched.map(
      ({ name, shape, expected }) => `${name} is [${shape.join(", ")}], expected [${expected.join(", ")}]`,
    );
    problems.push(`mis-shaped ${report.mismatched.length}: ${listNames(details)}`);
  }
  if (report.wrongDtype.length > 0) {
    const details = report.wrongDtype.map(({ name, dtype }) => `${name} is ${dtype}`);
    problems.push(`not a float weight (F32/F16/BF16) ${report.wrongDtype.length}: ${listNames(details)}`);
  }
  if (problems.length > 0) {
    throw new Error(
      `[state-dict] ${source} does not fit the config (hidden ${config.hidden_size}, ${config.num_hidden_layers} layers${config.use_moe ? `, ${config.num_experts} experts` : ""}): ${problems.join("; ")}. Check that config.json belongs to these weights.`,
    );
  }
}

/**
 * The state dict with every tensor widened to F32 (exact for F16/BF16) and a tied `lm_head.weight` dropped,
 * after asserting it fits the config. The result is in the config's parameter order.
 */
export function stateDictToFloat32(
  stateDict: ReadonlyMap<string, SafetensorsTensor>,
  config: MiniMindConfig,
  source = "state dict",
): Map<string, SafetensorsTensor<"F32">> {
  assertStateDictMatchesConfig(stateDict, config, source);
  const output = new Map<string, SafetensorsTensor<"F32">>();
  for (const [name, shape] of parameterShapes(config)) {
    const tensor = stateDict.get(name) as SafetensorsTensor;
    output.set(name, { dtype: "F32", shape, data: tensorToFloat32(tensor, name, source) });
  }
  return output;
}
