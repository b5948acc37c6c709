/**
 * `--mask` for training: turns `causal`, `prefix`, `segments` or a strategy module's path into what
 * @minimind/train's `attention` option takes for a batch. `causal` and `segments` are the trainer's own modes;
 * `prefix` is a prefix-LM per row (everything before the row's first assistant token sees itself
 * bidirectionally, as `mask show --strategy prefix` draws it); a module (the same contract as `mask show`:
 * `createStrategy({ length, roles, turns })`, or a strategy / bare mask mod as `default` or `strategy`) is
 * asked once per row and the rows are joined into one batch strategy. Not here: the strategies themselves
 * (@minimind/attention).
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type AttentionStrategy, prefixLM, type StrategyLike, toStrategy } from "@minimind/attention";
import type { AttentionMode, Batch } from "@minimind/train";
import { UsageError } from "../command.js";
import { checkStrategyName, type MaskSequence } from "../mask/strategy.js";

export type TrainingMask = AttentionMode | ((batch: Batch) => StrategyLike);

/** Index of the first assistant token of a row (its length when there is none). */
function prefixLength(roles: readonly string[]): number {
  const first = roles.indexOf("assistant");
  return first === -1 ? roles.length : first;
}

/** One batch strategy whose row b is `rows[b]` (each evaluated as a batch of one). */
export function joinRows(rows: readonly AttentionStrategy[], name: string): AttentionStrategy {
  const row = (batch: number) => {
    const strategy = rows[batch];
    if (strategy === undefined) throw new RangeError(`[${name}] no strategy for batch row ${batch}`);
    return strategy;
  };
  return {
    name,
    maskMod: (batch, head, query, key) => row(batch).maskMod(0, head, query, key),
    perHead: rows.some((strategy) => strategy.perHead === true),
    chunkBoundaries: (batch, length) => row(batch).chunkBoundaries(0, length),
  };
}

async function moduleMask(path: string): Promise<(batch: Batch) => StrategyLike> {
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`cannot load strategy module "${path}": ${error instanceof Error ? error.message : String(error)}`);
  }
  const name = path.replace(/^.*\//, "").replace(/\.[cm]?[jt]s$/, "");
  const create = exports.createStrategy;
  if (typeof create === "function") {
    return (batch) =>
      joinRows(
        batch.roles.map((roles, row) => {
          const sequence: MaskSequence = { length: roles.length, roles, turns: batch.segments[row] ?? [] };
          return toStrategy((create as (sequence: MaskSequence) => StrategyLike)(sequence), name);
        }),
        name,
      );
  }
  const value = exports.strategy ?? exports.default;
  if (value === undefined) {
    throw new Error(`strategy module "${path}" exports neither createStrategy, strategy nor default`);
  }
  let strategy: AttentionStrategy;
  try {
    strategy = toStrategy(value as StrategyLike, name);
  } catch (error) {
    throw new Error(`strategy module "${path}": ${error instanceof Error ? error.message : String(error)}`);
  }
  return () => strategy;
}

/** The trainer's `attention` option for `--mask <value>` (a UsageError for an unknown name or missing file). */
export async function trainingMask(value: string, flag = "--mask"): Promise<TrainingMask> {
  if (value === "bidirectional") {
    throw new UsageError(`${flag} bidirectional would let every token see the answer it is trained to predict`);
  }
  checkStrategyName(value, flag);
  if (value === "causal" || value === "segments") return value;
  if (value === "prefix") return (batch) => prefixLM(batch.roles.map(prefixLength));
  return moduleMask(value);
}
