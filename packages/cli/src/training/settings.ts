/**
 * Settings of the training commands (`pretrain`, `sft`, `lora`, and `demo` through them): a table of flags
 * declared on a commander command, whose values come, in rising priority, from the table's defaults, a JSON
 * `--config` file (`{"hidden-size": 256, "epochs": 1}`: the flags' own names) and the command line. Every
 * value — from a file too — goes through the flag's parser, so `"epochs": "1e3"` in a file is refused as on
 * the command line, with the file named. Not here: what the settings do (training/run.ts).
 */
import type { Command as CommanderCommand } from "commander";
import { InvalidArgumentError } from "commander";
import { UsageError } from "../command.js";
import { readTextFile } from "../io.js";

export interface SettingSpec {
  /** The long flag without dashes, e.g. "hidden-size"; also the key in a config file. */
  flag: string;
  description: string;
  /** Placeholder in the help, e.g. "n"; undefined for a switch (true when given). */
  placeholder?: string;
  parse?: (text: string) => unknown;
  /** Shown in the help and used when neither the file nor the command line sets the value. */
  default?: unknown;
}

/** "hidden-size" → "hiddenSize", as commander names option values. */
export function camelCase(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** Declares the flags of `specs` on `command`, defaults in the help text but not in commander (see resolve). */
export function declareSettings(command: CommanderCommand, specs: readonly SettingSpec[]): void {
  for (const spec of specs) {
    const shown = spec.default === undefined ? "" : ` (default ${String(spec.default)})`;
    const flags = spec.placeholder === undefined ? `--${spec.flag}` : `--${spec.flag} <${spec.placeholder}>`;
    if (spec.parse === undefined) command.option(flags, `${spec.description}${shown}`);
    else command.option(flags, `${spec.description}${shown}`, spec.parse);
  }
  command.option("--config <file>", 'a JSON file of settings by flag name, e.g. {"hidden-size": 256}; flags win');
}

function fromFile(spec: SettingSpec, value: unknown, file: string): unknown {
  const where = `${file}: "${spec.flag}"`;
  if (spec.parse === undefined) {
    if (typeof value !== "boolean")
      throw new UsageError(`${where} is ${JSON.stringify(value)}; expected true or false`);
    return value;
  }
  if (typeof value !== "number" && typeof value !== "string") {
    throw new UsageError(`${where} is ${JSON.stringify(value)}; expected a number or a string`);
  }
  try {
    return spec.parse(String(value));
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new UsageError(`${where}: ${error.message}`);
    throw error;
  }
}

/** Reads a `--config` file: a JSON object whose keys are flags of `specs`. */
export function readConfigFile(file: string, specs: readonly SettingSpec[]): Record<string, unknown> {
  const text = readTextFile(file, "config file");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file}: expected a JSON object of settings, e.g. {"hidden-size": 256}`);
  }
  const byFlag = new Map(specs.map((spec) => [spec.flag, spec]));
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const spec = byFlag.get(key);
    if (spec === undefined) {
      throw new UsageError(`${file}: unknown setting "${key}"; settings are ${[...byFlag.keys()].join(", ")}`);
    }
    values[camelCase(key)] = fromFile(spec, value, file);
  }
  return values;
}

/** Defaults, then the `--config` file, then the command line; keys are camel-cased flag names. */
export function resolveSettings(
  options: Record<string, unknown>,
  specs: readonly SettingSpec[],
): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const spec of specs) if (spec.default !== undefined) settings[camelCase(spec.flag)] = spec.default;
  if (typeof options.config === "string") Object.assign(settings, readConfigFile(options.config, specs));
  for (const spec of specs) {
    const key = camelCase(spec.flag);
    if (options[key] !== undefined) settings[key] = options[key];
  }
  return settings;
}
