import { describe, expect, it } from "vitest";
import * as api from "./index.js";

describe("@minimind/attention public API", () => {
  it("exports exactly the curated names", () => {
    expect(Object.keys(api).sort()).toEqual([
      "BlockMask",
      "KeyValueCache",
      "alibi",
      "alibiSlopes",
      "and",
      "attentionBackward",
      "attentionForward",
      "bidirectional",
      "causal",
      "composeScoreMods",
      "createBlockMask",
      "defineScoreMod",
      "not",
      "or",
      "packedDocuments",
      "padding",
      "planChunks",
      "prefixLM",
      "scaledDotProductAttention",
      "scaledDotProductAttentionComposed",
      "segmentVectorFromRoles",
      "segments",
      "selectAttentionKernel",
      "slidingWindow",
      "softcap",
      "toStrategy",
      "withScoreMod",
    ]);
  });
});
