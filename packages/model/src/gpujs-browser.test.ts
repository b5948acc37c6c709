/**
 * The PyTorch parity cases on the gpujs backend inside headless Chromium: `webgl2` and `webgpu` (MoE routing
 * there takes the path without readback), with the CPU backend's tolerances — logits and decode logits within
 * 1e-4, loss and aux loss within 1e-5, every parameter gradient within 1e-4 of that tensor's max magnitude.
 * Skips visibly where Chromium is missing, except under CI, which installs it.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromiumSkipReason, runInChromium } from "@minimind/chromium-harness";
import { describe, expect, it } from "vitest";
import type { BrowserCase, BrowserParity } from "../test-support/parity.browser.js";
import { configOf, fixtureCases, fixtures, readTensors } from "./__fixtures__/parity.js";
import { MiniMindForCausalLM } from "./model.js";

const skipReason = chromiumSkipReason("gpujs browser parity");

const entry = fileURLToPath(new URL("../test-support/parity.browser.ts", import.meta.url));
const bytes = (name: string, file: string) => new Uint8Array(readFileSync(new URL(`${name}/${file}`, fixtures)));

// Greedy generation of moe-tiny (MoE routing + KV cache + left padding), computed here on the CPU backend.
const generation = {
  name: "moe-tiny",
  prompts: [
    [5, 17, 42, 7, 99],
    [3, 8],
  ],
  maxNewTokens: 6,
};
const expectedTokens = await (async () => {
  const model = MiniMindForCausalLM.fromStateDict(
    configOf(generation.name),
    readTensors(generation.name, "model.safetensors"),
    generation.name,
  );
  try {
    return await model.generate(generation.prompts, { maxNewTokens: generation.maxNewTokens, doSample: false });
  } finally {
    model.dispose();
  }
})();

describe.each(["webgl2", "webgpu"])("gpujs mode %s in Chromium", (mode) => {
  let run: Promise<BrowserParity> | null = null;
  const outcome = () => {
    run ??= runInChromium({
      entry,
      timeoutMs: 300_000,
      args: {
        mode,
        generation,
        cases: fixtureCases.map(
          (name): BrowserCase => ({
            name,
            config: JSON.parse(readFileSync(new URL(`${name}/config.json`, fixtures), "utf8")),
            model: bytes(name, "model.safetensors"),
            io: bytes(name, "io.safetensors"),
          }),
        ),
      },
    }).then((result) => result.result as BrowserParity);
    return run;
  };

  it.skipIf(Boolean(skipReason))(
    `runs on the mode it asked for${skipReason ? ` (skipped: ${skipReason})` : ""}`,
    async () => {
      const result = await outcome();
      expect(result.actual).toBe(mode);
      expect(result.kernelModes).toEqual([mode]);
    },
  );

  it.skipIf(Boolean(skipReason))("greedy stream() (async readback) gives the CPU backend's tokens", async () => {
    const { streamed } = await outcome();
    expect(streamed).toEqual(expectedTokens);
    expect(streamed.flat().length).toBe(generation.prompts.length * generation.maxNewTokens);
  });

  it.skipIf(Boolean(skipReason)).each(fixtureCases)("parity with PyTorch: %s", async (name) => {
    const found = (await outcome()).results.find((result) => result.name === name);
    expect(found, `case ${name} did not run`).toBeDefined();
    if (!found) return;
    console.log(
      `[gpujs ${mode} (chromium) ${name}] max |Δlogits| ${found.logits.toExponential(2)}, |Δloss| ${found.loss.toExponential(2)}, |ΔauxLoss| ${found.auxLoss.toExponential(2)}, worst relative gradient error ${found.worstGradient.toExponential(2)} (${found.worstGradientName})${found.decode === null ? "" : `, decode ${found.decode.toExponential(2)}`}`,
    );
    expect(found.logits).toBeLessThanOrEqual(1e-4);
    expect(found.loss).toBeLessThanOrEqual(1e-5);
    expect(found.auxLoss).toBeLessThanOrEqual(1e-5);
    expect(found.worstGradient, `gradient of ${found.worstGradientName}`).toBeLessThanOrEqual(1e-4);
    if (found.decode !== null) expect(found.decode).toBeLessThanOrEqual(1e-4);
  });
});
