import { describe, expect, it } from "vitest";
import { learningRateAt, STAGE_DEFAULTS } from "./schedule.js";

describe("learningRateAt", () => {
  it("follows upstream's cosine from lr to lr/10", () => {
    // lr·(0.1 + 0.45·(1 + cos(π·t/T))): t = 0 → lr, t = T/2 → 0.55·lr, t = T → 0.1·lr.
    expect(learningRateAt(0, 100, { learningRate: 1 })).toBeCloseTo(1, 12);
    expect(learningRateAt(50, 100, { learningRate: 1 })).toBeCloseTo(0.55, 12);
    expect(learningRateAt(100, 100, { learningRate: 1 })).toBeCloseTo(0.1, 12);
    expect(learningRateAt(25, 100, { learningRate: 2e-3 })).toBeCloseTo(2e-3 * (0.1 + 0.45 * (1 + Math.SQRT1_2)), 15);
  });

  it("warms up linearly, then runs the cosine over the remaining steps", () => {
    const options = { learningRate: 1, warmupSteps: 4 };
    expect([0, 1, 2, 3].map((step) => learningRateAt(step, 104, options))).toEqual([0.25, 0.5, 0.75, 1]);
    expect(learningRateAt(4, 104, options)).toBeCloseTo(1, 12);
    expect(learningRateAt(54, 104, options)).toBeCloseTo(0.55, 12);
    expect(() => learningRateAt(0, 10, { learningRate: 1, warmupSteps: 1.5 })).toThrow("warmupSteps is 1.5");
  });

  it("carries upstream's stage defaults", () => {
    expect(STAGE_DEFAULTS.pretrain.learningRate).toBe(5e-4);
    expect(STAGE_DEFAULTS.sft.learningRate).toBe(1e-5);
    expect(STAGE_DEFAULTS.lora.learningRate).toBe(1e-4);
    expect(STAGE_DEFAULTS.pretrain.accumulationSteps).toBe(8);
  });
});
