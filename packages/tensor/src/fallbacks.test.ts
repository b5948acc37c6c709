/**
 * The compositions from primitives against the fused kernels: the conformance cases (forward and backward of
 * every op) run on the CPU backend restricted to its primitive kernels — so every fused kernel runs its
 * composition from ops/composed.ts — against the CPU backend with its fused kernels, at each case's tolerance.
 * The oracle's kernel counts show that the cases reach every fused kernel, hence compare every composition.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, registerBackend } from "./backend.js";
import { primitivesOnly } from "./backends/primitives-only.js";
import { conformanceCases } from "./conformance/cases.js";
import { countKernelCalls, describeFailure, runConformance } from "./conformance/run.js";
import { fusedKernelNames, primitiveKernelNames } from "./internals.js";
import "./index.js";

describe("compositions from primitives agree with the fused kernels", () => {
  const backend = primitivesOnly(getBackend("cpu"), "cpu-primitives");
  registerBackend("cpu-primitives", () => backend);
  const oracle = countKernelCalls(getBackend("cpu"));
  const candidate = countKernelCalls(backend);
  afterAll(() => {
    oracle.restore();
    candidate.restore();
  });

  it("the restricted backend has the primitive kernels only, and no host memory", () => {
    expect(Object.keys(backend.kernels).sort()).toEqual([...primitiveKernelNames].sort());
    expect(backend.hostView).toBeUndefined();
  });

  it.each(conformanceCases.map((testCase) => testCase.name))("%s", async (name) => {
    const [result] = await runConformance("cpu-primitives", name);
    expect(result, `no case named ${name}`).toBeDefined();
    if (!result.ok) throw new Error(describeFailure(result));
    expect(result.worstError).toBeLessThanOrEqual(result.tolerance);
  });

  it("the cases reached every fused kernel on the oracle, so every composition was compared", () => {
    expect(fusedKernelNames.filter((name) => !oracle.counts.get(name))).toEqual([]);
    expect(primitiveKernelNames.filter((name) => !candidate.counts.get(name))).toEqual([]);
  });
});
