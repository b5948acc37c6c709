import { describe, expect, it } from "vitest";
import { sparkline } from "./sparkline.js";

describe("sparkline", () => {
  it("maps the range onto eight levels, lowest to highest", () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8)).toBe("▁▂▃▄▅▆▇█");
    expect(sparkline([7, 0], 8)).toBe("█▁");
  });

  it("shows only the last `width` values", () => {
    expect(sparkline([100, 0, 1], 2)).toBe("▁█");
  });

  it("draws a flat series mid-height and non-finite values as spaces", () => {
    expect(sparkline([2, 2, 2], 3)).toBe("▄▄▄");
    expect(sparkline([1, Number.NaN, 2], 3)).toBe("▁ █");
    expect(sparkline([Number.NaN], 3)).toBe(" ");
    expect(sparkline([1, 2], 0)).toBe("");
  });
});
