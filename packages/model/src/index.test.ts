import { describe, expect, it } from "vitest";
import * as api from "./index.js";
import * as weightFiles from "./safetensors-entry.js";

describe("@minimind/model public API", () => {
  it("exports exactly the curated names", () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        "ChatSession",
        "DEFAULT_ROPE_SCALING",
        "MINIMIND_CONFIG_LIMITS",
        "MiniMindForCausalLM",
        "TextModel",
        "assertStateDictMatchesConfig",
        "checkStateDict",
        "countParameters",
        "createMiniMindConfig",
        "defaultIntermediateSize",
        "maxPositions",
        "miniMindConfigToJson",
        "miniMindConfigToQwen3Json",
        "parameterShapes",
        "parseMiniMindConfig",
        "rotaryTables",
        "stateDictToFloat32",
        "validateMiniMindConfig",
      ].sort(),
    );
  });

  it("keeps weight files in the @minimind/model/safetensors entry", () => {
    expect(Object.keys(weightFiles).sort()).toEqual(
      [
        "DEFAULT_MAX_SHARD_BYTES",
        "MAX_SAFETENSORS_HEADER_BYTES",
        "SAFETENSORS_INDEX_NAME",
        "SAFETENSORS_WEIGHTS_NAME",
        "bfloat16ToFloat32",
        "dtypeByteSize",
        "float16ToFloat32",
        "float32ToBfloat16",
        "float32ToFloat16",
        "joinSafetensorsShards",
        "parseSafetensorsIndex",
        "readMiniMindConfigFile",
        "readSafetensors",
        "readSafetensorsCheckpoint",
        "readSafetensorsFile",
        "readSafetensorsHeader",
        "safetensorsIndexToJson",
        "shardSafetensors",
        "tensorFromFloat32",
        "tensorToFloat32",
        "writeMiniMindConfigFile",
        "writeSafetensors",
        "writeSafetensorsCheckpoint",
        "writeSafetensorsFile",
      ].sort(),
    );
  });

  it("gives the upstream default parameter count", () => {
    expect(api.countParameters(api.createMiniMindConfig())).toBe(63_912_192);
  });
});
