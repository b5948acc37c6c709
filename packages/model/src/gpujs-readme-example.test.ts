/**
 * The model README's gpu.ts example on gpu.js headless-gl (required in CI), against the CPU backend's next token.
 * Apart from the other README examples (readme-examples.test.ts) because, like every gpujs*.test.ts, it needs the
 * `gl` addon built for the Node that installed it: the Node 24 pass (scripts/test-node24.mjs) leaves it out.
 */
import { noGrad, scope, setBackend } from "@minimind/tensor";
import { type GpuJsConstructor, unavailableReason } from "@minimind/tensor/gpujs";
import * as gpujsModule from "gpu.js";
import { describe, expect, it } from "vitest";
import { exampleConfig, runExample, useExampleFolder } from "./__fixtures__/readme-examples.js";
import { MiniMindForCausalLM } from "./index.js";

useExampleFolder();

describe("README example gpu.ts", () => {
  const GPU = (gpujsModule as unknown as { GPU: GpuJsConstructor }).GPU;
  const headlessgl = unavailableReason(GPU, "headlessgl");
  if (headlessgl && process.env.CI) throw new Error(`CI requires gpujs mode "headlessgl": ${headlessgl}`);

  it.skipIf(Boolean(headlessgl))("gpu.ts: the model on gpu.js headless-gl, the CPU backend's next token", async () => {
    try {
      const { printed } = await runExample("gpu");
      expect(printed[0]).toEqual(["headlessgl", ["headlessgl"]]);
      const [label, next, , logit] = printed[1] as [string, number, string, number];
      expect(label).toBe("next token");
      setBackend("cpu");
      const model = new MiniMindForCausalLM(exampleConfig, { seed: 0 }).eval();
      const cpu = scope(() =>
        noGrad(() => model.forward({ inputIds: [[1, 320, 275, 2401, 5]], logitsToKeep: 1 }).logits.dataSync()),
      );
      model.dispose();
      const best = Math.max(...cpu);
      expect(next).toBe(cpu.indexOf(best));
      expect(Math.abs(logit - best)).toBeLessThanOrEqual(1e-4);
    } finally {
      setBackend("cpu");
    }
  });
  if (headlessgl) console.warn(`[readme examples] gpu.ts not run here: ${headlessgl}`);
});
