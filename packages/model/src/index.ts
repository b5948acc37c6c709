/**
 * @minimind/model — public API. Only what is exported here is public; everything else is private.
 * The model (`MiniMindForCausalLM`: forward, loss, gradients, KV cache via @minimind/attention's
 * `KeyValueCache`, adapters, generation — greedy or sampled, streamed, left-padded batches, any attention
 * strategy, multi-turn cache reuse), the configuration (upstream MiniMind field names) and state-dict checks.
 * Weight files (safetensors, sharding, half precision) are in `@minimind/model/safetensors`. Everything
 * except `fromPretrained` / `savePretrained` is browser-safe.
 */

export type { ChatSessionOptions, TurnStatistics } from "./chat-session.js";
export { ChatSession } from "./chat-session.js";
export type { MiniMindConfig, MiniMindConfigOptions, RopeScaling } from "./config.js";
export {
  countParameters,
  createMiniMindConfig,
  DEFAULT_ROPE_SCALING,
  defaultIntermediateSize,
  MINIMIND_CONFIG_LIMITS,
  maxPositions,
  miniMindConfigToJson,
  parameterShapes,
  parseMiniMindConfig,
  validateMiniMindConfig,
} from "./config.js";
export type { GenerateOptions } from "./generation.js";
export type { LinearAdapter } from "./layers.js";
export type { ForwardOptions, ForwardResult, MiniMindInitOptions } from "./model.js";
export { MiniMindForCausalLM } from "./model.js";
export type { FromPretrainedOptions, SavePretrainedOptions } from "./pretrained.js";
export type { WeightFormat } from "./quantized-projections.js";
export type { Qwen3ConfigOptions } from "./qwen3-config.js";
export { miniMindConfigToQwen3Json } from "./qwen3-config.js";
export { rotaryTables } from "./rotary.js";
export type { StateDict, StateDictReport } from "./state-dict.js";
export { assertStateDictMatchesConfig, checkStateDict, stateDictToFloat32 } from "./state-dict.js";
export type { PromptMask, TextGenerateOptions, TextModelFiles } from "./text-model.js";
export { TextModel } from "./text-model.js";
export type { TokenRows } from "./token-rows.js";
