import { describe, expect, it } from "vitest";
import * as api from "./index.js";

describe("@minimind/attention public API", () => {
  it("exports exactly the curated names", () => {
    expect(Object.keys(api).sort()).toEqual(["packageName"]);
    expect(api.packageName).toBe("@minimind/attention");
  });
});
