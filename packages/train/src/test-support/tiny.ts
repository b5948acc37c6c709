/**
 * Test helpers shared by this package's tests: a tiny MiniMind model (seconds per dozens of steps) and a
 * small deterministic text corpus. Test-only; not exported from the package.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMiniMindConfig, MiniMindForCausalLM } from "@minimind/model";

export function tinyConfig(overrides: Parameters<typeof createMiniMindConfig>[0] = {}) {
  return createMiniMindConfig({
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    intermediate_size: 64,
    max_position_embeddings: 512,
    ...overrides,
  });
}

export function tinyModel(seed = 1, overrides: Parameters<typeof createMiniMindConfig>[0] = {}): MiniMindForCausalLM {
  return new MiniMindForCausalLM(tinyConfig(overrides), { seed });
}

const WORDS = ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡", "白日依山尽", "黄河入海流", "the cat", "sat on"];

/** `count` short texts of varied length, the same for the same seed. */
export function corpus(count: number, seed = 0): string[] {
  return Array.from({ length: count }, (_, index) => {
    const words = 1 + ((index * 7 + seed) % 5);
    return Array.from({ length: words }, (_, word) => WORDS[(index + word * 3 + seed) % WORDS.length]).join("，");
  });
}

export function temporaryDirectory(prefix = "minimind-train-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeJsonLines(directory: string, name: string, records: readonly unknown[]): string {
  const file = join(directory, name);
  writeFileSync(file, `${records.map((record) => JSON.stringify(record)).join("\n")}\n`);
  return file;
}
