import { describe, expect, it } from "vitest";
import * as api from "./index.js";

describe("@minimind/model public API", () => {
  it("exports exactly the curated names", () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        "DEFAULT_MAX_SHARD_BYTES",
        "DEFAULT_ROPE_SCALING",
        "MAX_SAFETENSORS_HEADER_BYTES",
        "MiniMindForCausalLM",
        "SAFETENSORS_INDEX_NAME",
        "SAFETENSORS_WEIGHTS_NAME",
        "assertStateDictMatchesConfig",
        "bfloat16ToFloat32",
        "checkStateDict",
        "countParameters",
        "createMiniMindConfig",
        "defaultIntermediateSize",
        "dtypeByteSize",
        "float16ToFloat32",
        "float32ToBfloat16",
        "float32ToFloat16",
        "joinSafetensorsShards",
        "maxPositions",
        "miniMindConfigToJson",
        "parameterShapes",
        "parseMiniMindConfig",
        "parseSafetensorsIndex",
        "readMiniMindConfigFile",
        "readSafetensors",
        "readSafetensorsCheckpoint",
        "readSafetensorsFile",
        "readSafetensorsHeader",
        "rotaryTables",
        "safetensorsIndexToJson",
        "shardSafetensors",
        "stateDictToFloat32",
        "tensorFromFloat32",
        "tensorToFloat32",
        "validateMiniMindConfig",
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
