/**
 * Resolves `--mask`/`--strategy` values into an @minimind/attention strategy for one sequence: the built-in
 * names `causal`, `bidirectional`, `prefix` (prefix-LM over the prompt: everything before the first assistant
 * token) and `segments` (each system/user/tool turn bidirectional within itself, the rest causal; or an
 * explicit segment vector), or a path to a module the user wrote. Shared by `mask show` and, later, `sft`.
 *
 * A strategy module exports one of:
 * - `createStrategy(sequence)` returning a strategy (or a bare mask mod), given `{ length, roles?, turns? }`;
 * - `default` or `strategy`: a strategy object (`{ name, maskMod, chunkBoundaries }`) or a bare mask mod.
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type AttentionStrategy,
  bidirectional,
  causal,
  prefixLM,
  segments,
  segmentVectorFromRoles,
  toStrategy,
} from "@minimind/attention";
import { UsageError } from "../command.js";

export const BUILT_IN_STRATEGIES = ["causal", "prefix", "segments", "bidirectional"] as const;

/** What a strategy is built for: one sequence, with per-token chat roles and turn indices when known. */
export interface MaskSequence {
  length: number;
  roles?: readonly string[];
  turns?: readonly number[];
  /** An explicit segment vector (big_vision `ar`), for `segments`. */
  segmentVector?: readonly number[];
}

/** Is `value` a built-in name or an existing file? Throws a UsageError naming the flag otherwise. */
export function checkStrategyName(value: string, flag: string): void {
  if ((BUILT_IN_STRATEGIES as readonly string[]).includes(value)) return;
  if (existsSync(value) && statSync(value).isFile()) return;
  throw new UsageError(
    `${flag} "${value}" is neither one of ${BUILT_IN_STRATEGIES.join(", ")} nor a module file that exists`,
  );
}

function prefixLength(sequence: MaskSequence): number {
  if (sequence.roles === undefined) {
    throw new UsageError("the prefix strategy needs a chat (--chat) or an explicit --prefix length");
  }
  const first = sequence.roles.indexOf("assistant");
  return first === -1 ? sequence.length : first;
}

async function loadModuleStrategy(path: string, sequence: MaskSequence): Promise<AttentionStrategy> {
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`cannot load strategy module "${path}": ${error instanceof Error ? error.message : String(error)}`);
  }
  const name = path.replace(/^.*\//, "").replace(/\.[cm]?[jt]s$/, "");
  if (typeof exports.createStrategy === "function") {
    return toStrategy((exports.createStrategy as (sequence: MaskSequence) => never)(sequence), name);
  }
  const value = exports.strategy ?? exports.default;
  if (value === undefined) {
    throw new Error(
      `strategy module "${path}" exports neither createStrategy, strategy nor default; see "minimind mask show --help"`,
    );
  }
  try {
    return toStrategy(value as AttentionStrategy, name);
  } catch (error) {
    throw new Error(`strategy module "${path}": ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The strategy `name` (built-in or module path) for `sequence`; `prefix` overrides the chat-derived prefix. */
export async function resolveStrategy(
  name: string,
  sequence: MaskSequence,
  prefix?: number,
): Promise<AttentionStrategy> {
  switch (name) {
    case "causal":
      return causal;
    case "bidirectional":
      return bidirectional;
    case "prefix":
      return prefixLM(prefix ?? prefixLength(sequence));
    case "segments": {
      if (sequence.segmentVector !== undefined) return segments(sequence.segmentVector);
      if (sequence.roles === undefined) {
        throw new UsageError("the segments strategy needs a chat (--chat) or a segment vector (--segments)");
      }
      return segments(
        segmentVectorFromRoles(sequence.roles, sequence.turns === undefined ? {} : { turns: sequence.turns }),
      );
    }
    default:
      return loadModuleStrategy(name, sequence);
  }
}
