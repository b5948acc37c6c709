import { describe, expect, it } from "vitest";
import * as api from "./index.js";

describe("@minimind/train public API", () => {
  it("exports exactly the curated names", () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        "AdamW",
        "CheckpointError",
        "DataLoader",
        "IGNORE_LABEL",
        "JsonLinesError",
        "JsonLinesIndex",
        "LORA_ADAPTER_FILE",
        "LoraAdapters",
        "MASK_EXPERIMENT_ARMS",
        "PackedDataset",
        "PretrainDataset",
        "SFTDataset",
        "STAGE_DEFAULTS",
        "TRAINER_STATE_NAME",
        "UPSTREAM_SYSTEM_PROMPTS",
        "accumulateGradients",
        "armAttention",
        "checkDisjoint",
        "maskExperimentChatTable",
        "maskExperimentTable",
        "maskStrategy",
        "runMaskExperiment",
        "servingMaskOf",
        "summarizeMaskExperiment",
        "tInterval",
        "trainingMaskOf",
        "batchAttention",
        "clipGradientNorm",
        "evaluate",
        "latestCheckpoint",
        "learningRateAt",
        "listCheckpoints",
        "lora",
        "pretrain",
        "readCheckpoint",
        "readJsonLines",
        "recordsFromArray",
        "recordsFromJsonLines",
        "sft",
        "train",
        "writeCheckpoint",
      ].sort(),
    );
  });
});
