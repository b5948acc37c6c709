/**
 * Creation at absurd sizes (issue #18): `randn([1e6, 1e6])`, `uniform` and `arange(1e12)` end in a labelled
 * Error naming the op, the count and the dtype, as `ones` does through the heap, never a raw RangeError from
 * the typed-array constructor; `arange` refuses non-finite bounds. Not here: the values creation produces
 * (random.test.ts, ops.test.ts).
 */
import { describe, expect, it } from "vitest";
import { arange, ones, randn, uniform } from "./index.js";

/** The error `run` throws, checked to be a plain, labelled Error. */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect((error as Error).constructor).toBe(Error);
    return (error as Error).message;
  }
  throw new Error("expected a refusal");
}

describe("creating tensors too large for the host", () => {
  it("randn, uniform and arange name the op, the count and the dtype", () => {
    expect(refusal(() => randn([1e6, 1e6]))).toBe(
      "[randn] cannot allocate 1000000000000 float32 values on the host; free unused tensors or use a smaller shape",
    );
    expect(refusal(() => uniform([1e6, 1e6], { dtype: "float64" }))).toBe(
      "[uniform] cannot allocate 1000000000000 float64 values on the host; free unused tensors or use a smaller shape",
    );
    expect(refusal(() => arange(1e12))).toBe(
      "[arange] cannot allocate 1000000000000 float32 values on the host; free unused tensors or use a smaller shape",
    );
    expect(refusal(() => ones([1e6, 1e6]))).toMatch(/^\[[\w -]+\] cannot allocate 1000000000000 float32/);
  });

  it("arange refuses non-finite bounds and steps", () => {
    expect(refusal(() => arange(Number.POSITIVE_INFINITY))).toBe(
      "[arange] start 0, end Infinity and step 1 must be finite numbers",
    );
    expect(refusal(() => arange(0, 1, Number.NaN))).toBe("[arange] start 0, end 1 and step NaN must be finite numbers");
    expect(arange(3).toArray()).toEqual([0, 1, 2]);
  });
});
