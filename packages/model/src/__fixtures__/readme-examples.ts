/**
 * The harness of the README example tests (readme-examples.test.ts, gpujs-readme-example.test.ts): each example runs
 * as a fresh module instance in a fresh temporary working folder, where it writes the small random checkpoint it
 * loads, with what it prints captured.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, vi } from "vitest";
import { createMiniMindConfig } from "../index.js";

/** The config every example builds: hidden 64, 2 layers, otherwise MiniMind's defaults (6,400-token vocabulary). */
export const exampleConfig = createMiniMindConfig({ hidden_size: 64, num_hidden_layers: 2 });

/** Registers the hooks that give every test of the calling file a fresh temporary working folder. */
export function useExampleFolder(): void {
  let folder = "";
  let previous = "";
  beforeEach(() => {
    previous = process.cwd();
    folder = mkdtempSync(join(tmpdir(), "model-readme-"));
    process.chdir(folder);
  });
  afterEach(() => {
    process.chdir(previous);
    rmSync(folder, { recursive: true, force: true });
    vi.restoreAllMocks();
    vi.resetModules();
  });
}

const examples = {
  gpu: () => import("../../examples/gpu.js"),
  "load-options": () => import("../../examples/load-options.js"),
  "score-and-generate": () => import("../../examples/score-and-generate.js"),
  "text-model": () => import("../../examples/text-model.js"),
  "cache-reuse": () => import("../../examples/cache-reuse.js"),
  generate: () => import("../../examples/generate.js"),
  "inspect-checkpoint": () => import("../../examples/inspect-checkpoint.js"),
  "checkpoint-files": () => import("../../examples/checkpoint-files.js"),
};

/** Runs an example (a fresh module instance each time) and returns what it passed to console.log and stdout. */
export async function runExample(name: keyof typeof examples) {
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
  const written: string[] = [];
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  const printed = log.mock.calls;
  const warned = warn.mock.calls;
  try {
    vi.resetModules();
    await examples[name]();
  } finally {
    log.mockRestore();
    warn.mockRestore();
    write.mockRestore();
  }
  return { printed, warned, written };
}
