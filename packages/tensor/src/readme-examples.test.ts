/**
 * The README's examples (examples/*.ts) run to the end and print what their comments say. The README's code
 * blocks equal these files (scripts/check-readme-examples.mjs) and `typecheck` compiles them as a strict user
 * project would (examples/tsconfig.json), so the README cannot drift. They import `@minimind/tensor` by name: the
 * built package, as a user gets it.
 */
import { afterEach, describe, expect, it, vi } from "vitest";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("README examples", () => {
  it("training-step.ts: ten AdamW steps, the loss going down", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    await import("../examples/training-step.js");
    expect(log.mock.calls.map((call) => call[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const losses = log.mock.calls.map((call) => call[1] as number);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[9]).toBeLessThan(losses[0] as number);
  });

  it("custom-op.ts: a custom square op and its gradient", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    await import("../examples/custom-op.js");
    expect(log.mock.calls).toEqual([[14, [2, 4, 6]]]);
  });
});
