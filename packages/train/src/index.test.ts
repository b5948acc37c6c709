import { describe, expect, it } from "vitest";
import * as api from "./index.js";

describe("@minimind/train public API", () => {
  it("exports exactly the curated names", () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        "DataLoader",
        "IGNORE_LABEL",
        "JsonLinesError",
        "JsonLinesIndex",
        "PackedDataset",
        "PretrainDataset",
        "SFTDataset",
        "UPSTREAM_SYSTEM_PROMPTS",
        "batchAttention",
        "readJsonLines",
        "recordsFromArray",
        "recordsFromJsonLines",
      ].sort(),
    );
  });
});
