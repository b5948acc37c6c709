/**
 * @minimind/model/safetensors — weight files: the strict safetensors reader/writer, sharded checkpoints,
 * half-precision conversion and the Node file helpers. Only what is exported here is public. Users who load
 * and save whole models need only the main entry (`MiniMindForCausalLM.fromPretrained` / `savePretrained`).
 */
export { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from "./half-precision.js";
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
