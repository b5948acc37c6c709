/**
 * Runs the conformance cases on a candidate backend and on the CPU oracle and measures the disagreement.
 * Shared by the Node test (`conformance.test.ts`) and the browser entry (`browser-entry.ts`).
 */
import { type Backend, getBackend, type KernelName, kernelNames, setBackend } from "../backend.js";
import { scope } from "../memory.js";
import type { Tensor } from "../tensor.js";
import { type ConformanceCase, conformanceCases } from "./cases.js";

export interface OutputComparison {
  output: string;
  /** max |candidate − cpu| / max |cpu| (max |candidate − cpu| when the reference is all zeros). */
  error: number;
  shape: number[];
  /** The first element that differs most, for the failure message. */
  worst: { index: number; candidate: number; reference: number };
}

export interface CaseResult {
  name: string;
  tolerance: number;
  ok: boolean;
  worstError: number;
  outputs: OutputComparison[];
  /** An exception thrown on either backend (the case fails). */
  error?: string;
}

async function evaluate(
  testCase: ConformanceCase,
  backend: string,
): Promise<Map<string, { data: Float64Array; shape: number[] }>> {
  const previous = getBackend().name;
  setBackend(backend);
  try {
    const tensors = scope(() => {
      const outputs = testCase.build();
      return Object.entries(outputs).map(([name, tensor]) => [name, tensor.detach()] as [string, Tensor]);
    });
    const results = new Map<string, { data: Float64Array; shape: number[] }>();
    for (const [name, tensor] of tensors) {
      results.set(name, { data: Float64Array.from(await tensor.data(), Number), shape: [...tensor.shape] });
      tensor.dispose();
    }
    return results;
  } finally {
    setBackend(previous);
  }
}

export function compareOutputs(
  reference: Map<string, { data: Float64Array; shape: number[] }>,
  candidate: Map<string, { data: Float64Array; shape: number[] }>,
): OutputComparison[] {
  const comparisons: OutputComparison[] = [];
  for (const [output, expected] of reference) {
    const actual = candidate.get(output);
    if (!actual || actual.data.length !== expected.data.length) {
      comparisons.push({
        output,
        error: Number.POSITIVE_INFINITY,
        shape: expected.shape,
        worst: { index: -1, candidate: Number.NaN, reference: Number.NaN },
      });
      continue;
    }
    let magnitude = 0;
    for (const value of expected.data) magnitude = Math.max(magnitude, Math.abs(value));
    let worstDifference = 0;
    let worst = { index: 0, candidate: actual.data[0] ?? 0, reference: expected.data[0] ?? 0 };
    for (let index = 0; index < expected.data.length; index++) {
      const difference = Math.abs(actual.data[index] - expected.data[index]);
      // NaN where the reference is finite counts as an infinite error.
      const measured =
        Number.isNaN(difference) && !Number.isNaN(expected.data[index]) ? Number.POSITIVE_INFINITY : difference;
      if (measured > worstDifference) {
        worstDifference = measured;
        worst = { index, candidate: actual.data[index], reference: expected.data[index] };
      }
    }
    comparisons.push({
      output,
      error: magnitude > 0 ? worstDifference / magnitude : worstDifference,
      shape: expected.shape,
      worst,
    });
  }
  return comparisons;
}

/**
 * Run every case (or those whose name includes `filter`) on `backend` (already registered and configured)
 * against "cpu".
 */
export async function runConformance(backend: string, filter?: string): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const testCase of conformanceCases) {
    if (filter && !testCase.name.includes(filter)) continue;
    try {
      const reference = await evaluate(testCase, "cpu");
      const candidate = await evaluate(testCase, backend);
      const outputs = compareOutputs(reference, candidate);
      const worstError = Math.max(0, ...outputs.map((output) => output.error));
      results.push({
        name: testCase.name,
        tolerance: testCase.tolerance,
        ok: worstError <= testCase.tolerance,
        worstError,
        outputs,
      });
    } catch (error) {
      results.push({
        name: testCase.name,
        tolerance: testCase.tolerance,
        ok: false,
        worstError: Number.POSITIVE_INFINITY,
        outputs: [],
        error: error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error),
      });
    }
  }
  return results;
}

/** Wrap a backend's kernels to count calls per kernel (for coverage); returns the counts and an undo. */
export function countKernelCalls(backend: Backend): { counts: Map<KernelName, number>; restore(): void } {
  const counts = new Map<KernelName, number>();
  const kernels = backend.kernels as unknown as Record<string, unknown>;
  const originals = new Map<string, unknown>();
  for (const [name, implementation] of Object.entries(kernels)) {
    if (typeof implementation !== "function") continue;
    originals.set(name, implementation);
    kernels[name] = (...args: unknown[]) => {
      counts.set(name as KernelName, (counts.get(name as KernelName) ?? 0) + 1);
      return (implementation as (...inner: unknown[]) => unknown)(...args);
    };
  }
  return {
    counts,
    restore() {
      for (const [name, implementation] of originals) kernels[name] = implementation;
    },
  };
}

/** Every kernel name of the interface, for coverage checks. */
export { kernelNames };

/** A one-line summary of a failed case for test messages. */
export function describeFailure(result: CaseResult): string {
  if (result.error) return `${result.name}: threw ${result.error}`;
  const bad = result.outputs
    .filter((output) => !(output.error <= result.tolerance))
    .map(
      (output) =>
        `${output.output} [${output.shape.join("×")}] error ${output.error.toExponential(2)} at element ${output.worst.index} (got ${output.worst.candidate}, cpu ${output.worst.reference})`,
    );
  return `${result.name} (tolerance ${result.tolerance}): ${bad.join("; ")}`;
}
