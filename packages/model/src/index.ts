/**
 * @minimind/model — public API. Only what is exported here is public; everything else is private.
 * The model (`MiniMindForCausalLM`: forward, loss, gradients, KV cache, generation — greedy or sampled,
 * streamed, left-padded batches), the configuration (upstream MiniMind field names), the strict safetensors
 * reader/writer, sharded checkpoints, state-dict checks, and Node file helpers. Everything except
 * `fromPretrained` / `savePretrained` and the `*File` / `*Checkpoint` functions is browser-safe.
 */
export type { MiniMindConfig, MiniMindConfigOptions, RopeScaling } from "./config.js";
export {
  countParameters,
  createMiniMindConfig,
  DEFAULT_ROPE_SCALING,
  defaultIntermediateSize,
  maxPositions,
  miniMindConfigToJson,
  parameterShapes,
  parseMiniMindConfig,
  validateMiniMindConfig,
} from "./config.js";
export type { GenerateOptions } from "./generation.js";
export { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from "./half-precision.js";
export type {
  ForwardOptions,
  ForwardResult,
  FromPretrainedOptions,
  LayerKeyValues,
  MiniMindInitOptions,
  TokenRows,
} from "./model.js";
export { MiniMindForCausalLM, rotaryTables } from "./model.js";
export type {
  ReadSafetensorsOptions,
  SafetensorsContents,
  SafetensorsDataByDtype,
  SafetensorsDtype,
  SafetensorsHeader,
  SafetensorsHeaderEntry,
  SafetensorsTensor,
  WritableSafetensorsDtype,
  WriteSafetensorsOptions,
} from "./safetensors.js";
export {
  dtypeByteSize,
  MAX_SAFETENSORS_HEADER_BYTES,
  readSafetensors,
  readSafetensorsHeader,
  tensorFromFloat32,
  tensorToFloat32,
  writeSafetensors,
} from "./safetensors.js";
export {
  readMiniMindConfigFile,
  readSafetensorsCheckpoint,
  readSafetensorsFile,
  writeMiniMindConfigFile,
  writeSafetensorsCheckpoint,
  writeSafetensorsFile,
} from "./safetensors-files.js";
export type { SafetensorsIndex, ShardedSafetensors, ShardSafetensorsOptions } from "./sharded-safetensors.js";
export {
  DEFAULT_MAX_SHARD_BYTES,
  joinSafetensorsShards,
  parseSafetensorsIndex,
  SAFETENSORS_INDEX_NAME,
  SAFETENSORS_WEIGHTS_NAME,
  safetensorsIndexToJson,
  shardSafetensors,
} from "./sharded-safetensors.js";
export type { StateDict, StateDictReport } from "./state-dict.js";
export { assertStateDictMatchesConfig, checkStateDict, stateDictToFloat32 } from "./state-dict.js";
