/**
 * @minimind/tokenizer — public API. Only what is exported here is public; everything else is private.
 */
export type { ChatMessage, ChatTemplateOptions } from "./chat-template.js";
export type { ChatSegments, SegmentRole } from "./sft.js";
export { IGNORE_INDEX } from "./sft.js";
export type { DecodeOptions, EncodedChat, EncodeOptions, TokenStreamDecoder } from "./tokenizer.js";
export { Tokenizer } from "./tokenizer.js";
export type { AddedToken, TokenizerConfiguration } from "./tokenizer-json.js";
export type { BpeTrainerOptions, TrainedTokenizer } from "./trainer.js";
export { BpeTrainer, saveTrainedTokenizer } from "./trainer.js";
