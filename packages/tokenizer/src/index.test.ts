import { describe, expect, it } from "vitest";
import * as api from "./index.js";

describe("@minimind/tokenizer public API", () => {
  it("exports exactly the curated names", () => {
    expect(Object.keys(api).sort()).toEqual(["BpeTrainer", "IGNORE_INDEX", "Tokenizer", "saveTrainedTokenizer"]);
    expect(api.IGNORE_INDEX).toBe(-100);
    expect(typeof api.Tokenizer.minimind).toBe("function");
  });
});
