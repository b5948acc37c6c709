/**
 * Reads and checks Hugging Face `tokenizer.json` and `tokenizer_config.json` into plain typed
 * descriptions. Every refusal names the file and the field at fault and says what is supported. Only what
 * byte-level BPE tokenizers (GPT-2, Qwen-style ChatML models, MiniMind) use is accepted; other models,
 * normalizers and pre-tokenizers are refused rather than approximated.
 */

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  singleWord: boolean;
  leftStrip: boolean;
  rightStrip: boolean;
  normalized: boolean;
}

export type NormalizerForm = "NFC" | "NFD" | "NFKC" | "NFKD" | "Lowercase";

export interface PostProcessorTemplate {
  /** Token ids put before and after a single sequence when special tokens are added. */
  prefix: number[];
  suffix: number[];
}

export interface TokenizerDefinition {
  vocabulary: Map<string, number>;
  /** Merges as pairs of vocabulary strings, in rank order. */
  merges: Array<readonly [string, string]>;
  addedTokens: AddedToken[];
  normalizers: NormalizerForm[];
  /** ByteLevel pre-tokenizer options. */
  addPrefixSpace: boolean;
  useRegex: boolean;
  ignoreMerges: boolean;
  unknownToken: string | null;
  fuseUnknown: boolean;
  postProcessor: PostProcessorTemplate | null;
}

export interface TokenizerConfiguration {
  bosToken: string | null;
  eosToken: string | null;
  padToken: string | null;
  unknownToken: string | null;
  additionalSpecialTokens: string[];
  addBosToken: boolean;
  addEosToken: boolean;
  chatTemplate: string | null;
  modelMaxLength: number | null;
}

function fail(file: string, field: string, problem: string): never {
  throw new Error(`[tokenizer] ${file}: field "${field}" ${problem}`);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function record(file: string, field: string, value: unknown): Record<string, unknown> {
  if (!isRecord(value)) fail(file, field, `must be an object, got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? `the string ${JSON.stringify(value.slice(0, 40))}` : typeof value;
}

function optionalBoolean(file: string, field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "boolean") fail(file, field, `must be true or false, got ${describe(value)}`);
  return value;
}

const TOKENIZER_JSON = "tokenizer.json";

/** Checks a parsed `tokenizer.json`. */
export function readTokenizerJson(json: unknown): TokenizerDefinition {
  const file = TOKENIZER_JSON;
  const root = record(file, "(root)", json);
  const model = record(file, "model", root.model);
  const modelType = model.type ?? (model.merges !== undefined ? "BPE" : undefined);
  if (modelType !== "BPE") {
    fail(file, "model.type", `is ${describe(modelType)}; only "BPE" (byte-level BPE) models are supported`);
  }
  if (model.dropout !== undefined && model.dropout !== null && model.dropout !== 0) {
    fail(
      file,
      "model.dropout",
      "must be null: BPE dropout is a training-time randomisation this tokenizer does not do",
    );
  }
  for (const field of ["continuing_subword_prefix", "end_of_word_suffix"] as const) {
    if (model[field] !== undefined && model[field] !== null && model[field] !== "") {
      fail(file, `model.${field}`, "must be null: subword prefixes/suffixes are not supported with byte-level BPE");
    }
  }
  if (model.byte_fallback === true) {
    fail(file, "model.byte_fallback", "must be false: byte fallback is for non-byte-level BPE, which is not supported");
  }
  const vocabularyJson = record(file, "model.vocab", model.vocab);
  const vocabulary = new Map<string, number>();
  for (const [token, id] of Object.entries(vocabularyJson)) {
    if (!Number.isInteger(id) || (id as number) < 0) {
      fail(file, `model.vocab[${JSON.stringify(token)}]`, `must be a non-negative integer id, got ${describe(id)}`);
    }
    vocabulary.set(token, id as number);
  }
  if (!Array.isArray(model.merges)) fail(file, "model.merges", `must be an array, got ${describe(model.merges)}`);
  const merges = model.merges.map((merge: unknown, index: number): readonly [string, string] => {
    let pair: unknown[] | null = null;
    if (typeof merge === "string") {
      const space = merge.indexOf(" ", 1);
      if (space > 0) pair = [merge.slice(0, space), merge.slice(space + 1)];
    } else if (Array.isArray(merge) && merge.length === 2) {
      pair = merge;
    }
    if (pair === null || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      fail(file, `model.merges[${index}]`, `must be "left right" or ["left", "right"], got ${describe(merge)}`);
    }
    for (const part of pair as string[]) {
      if (!vocabulary.has(part)) {
        fail(file, `model.merges[${index}]`, `uses ${JSON.stringify(part)}, which is not in model.vocab`);
      }
    }
    return [pair[0] as string, pair[1] as string];
  });

  const addedTokens: AddedToken[] = [];
  const addedJson = root.added_tokens ?? [];
  if (!Array.isArray(addedJson)) fail(file, "added_tokens", `must be an array, got ${describe(addedJson)}`);
  addedJson.forEach((entry: unknown, index: number) => {
    const field = `added_tokens[${index}]`;
    const token = record(file, field, entry);
    if (!Number.isInteger(token.id) || (token.id as number) < 0) {
      fail(file, `${field}.id`, `must be a non-negative integer, got ${describe(token.id)}`);
    }
    if (typeof token.content !== "string" || token.content === "") {
      fail(file, `${field}.content`, `must be a non-empty string, got ${describe(token.content)}`);
    }
    addedTokens.push({
      id: token.id as number,
      content: token.content,
      special: optionalBoolean(file, `${field}.special`, token.special, false),
      singleWord: optionalBoolean(file, `${field}.single_word`, token.single_word, false),
      leftStrip: optionalBoolean(file, `${field}.lstrip`, token.lstrip, false),
      rightStrip: optionalBoolean(file, `${field}.rstrip`, token.rstrip, false),
      normalized: optionalBoolean(file, `${field}.normalized`, token.normalized, !token.special),
    });
  });

  const { addPrefixSpace, useRegex } = readPreTokenizer(root.pre_tokenizer);
  const unknownToken = model.unk_token ?? null;
  if (unknownToken !== null && (typeof unknownToken !== "string" || !vocabulary.has(unknownToken))) {
    fail(file, "model.unk_token", `must be null or a token of model.vocab, got ${describe(unknownToken)}`);
  }
  return {
    vocabulary,
    merges,
    addedTokens,
    normalizers: readNormalizer(root.normalizer, "normalizer"),
    addPrefixSpace,
    useRegex,
    ignoreMerges: optionalBoolean(file, "model.ignore_merges", model.ignore_merges, false),
    unknownToken: unknownToken as string | null,
    fuseUnknown: optionalBoolean(file, "model.fuse_unk", model.fuse_unk, false),
    postProcessor: readPostProcessor(root.post_processor, "post_processor", vocabulary, addedTokens),
  };
}

function readNormalizer(json: unknown, field: string): NormalizerForm[] {
  if (json === undefined || json === null) return [];
  const normalizer = record(TOKENIZER_JSON, field, json);
  const type = normalizer.type;
  if (type === "Sequence") {
    if (!Array.isArray(normalizer.normalizers)) {
      fail(TOKENIZER_JSON, `${field}.normalizers`, "must be an array");
    }
    return normalizer.normalizers.flatMap((inner: unknown, index: number) =>
      readNormalizer(inner, `${field}.normalizers[${index}]`),
    );
  }
  if (type === "NFC" || type === "NFD" || type === "NFKC" || type === "NFKD" || type === "Lowercase") return [type];
  return fail(
    TOKENIZER_JSON,
    `${field}.type`,
    `is ${describe(type)}; supported normalizers are null, NFC, NFD, NFKC, NFKD, Lowercase and Sequence of them`,
  );
}

function readPreTokenizer(json: unknown): { addPrefixSpace: boolean; useRegex: boolean } {
  const field = "pre_tokenizer";
  const preTokenizer = record(TOKENIZER_JSON, field, json);
  let byteLevel = preTokenizer;
  let byteLevelField = field;
  if (preTokenizer.type === "Sequence" && Array.isArray(preTokenizer.pretokenizers)) {
    if (preTokenizer.pretokenizers.length !== 1) {
      fail(TOKENIZER_JSON, `${field}.pretokenizers`, "must hold exactly one ByteLevel pre-tokenizer");
    }
    byteLevelField = `${field}.pretokenizers[0]`;
    byteLevel = record(TOKENIZER_JSON, byteLevelField, preTokenizer.pretokenizers[0]);
  }
  if (byteLevel.type !== "ByteLevel") {
    fail(
      TOKENIZER_JSON,
      `${byteLevelField}.type`,
      `is ${describe(byteLevel.type)}; only the "ByteLevel" pre-tokenizer (GPT-2 split pattern) is supported`,
    );
  }
  return {
    addPrefixSpace: optionalBoolean(
      TOKENIZER_JSON,
      `${byteLevelField}.add_prefix_space`,
      byteLevel.add_prefix_space,
      true,
    ),
    useRegex: optionalBoolean(TOKENIZER_JSON, `${byteLevelField}.use_regex`, byteLevel.use_regex, true),
  };
}

function readPostProcessor(
  json: unknown,
  field: string,
  vocabulary: Map<string, number>,
  addedTokens: AddedToken[],
): PostProcessorTemplate | null {
  if (json === undefined || json === null) return null;
  const processor = record(TOKENIZER_JSON, field, json);
  if (processor.type === "ByteLevel") return null; // only adjusts offsets
  if (processor.type === "Sequence" && Array.isArray(processor.processors)) {
    const parts = processor.processors
      .map((inner: unknown, index: number) =>
        readPostProcessor(inner, `${field}.processors[${index}]`, vocabulary, addedTokens),
      )
      .filter((part): part is PostProcessorTemplate => part !== null);
    if (parts.length > 1) fail(TOKENIZER_JSON, `${field}.processors`, "may hold at most one TemplateProcessing");
    return parts[0] ?? null;
  }
  if (processor.type !== "TemplateProcessing") {
    fail(
      TOKENIZER_JSON,
      `${field}.type`,
      `is ${describe(processor.type)}; supported post-processors are null, ByteLevel, TemplateProcessing and Sequence`,
    );
  }
  if (!Array.isArray(processor.single)) fail(TOKENIZER_JSON, `${field}.single`, "must be an array");
  const idOf = (token: string, where: string): number => {
    const added = addedTokens.find((candidate) => candidate.content === token);
    const id = added?.id ?? vocabulary.get(token);
    if (id === undefined) fail(TOKENIZER_JSON, where, `names ${JSON.stringify(token)}, which is not a known token`);
    return id;
  };
  const prefix: number[] = [];
  const suffix: number[] = [];
  let seenSequence = false;
  processor.single.forEach((piece: unknown, index: number) => {
    const where = `${field}.single[${index}]`;
    const entry = record(TOKENIZER_JSON, where, piece);
    if (isRecord(entry.Sequence)) {
      seenSequence = true;
    } else if (isRecord(entry.SpecialToken) && typeof entry.SpecialToken.id === "string") {
      (seenSequence ? suffix : prefix).push(idOf(entry.SpecialToken.id, `${where}.SpecialToken.id`));
    } else {
      fail(TOKENIZER_JSON, where, "must be {Sequence: …} or {SpecialToken: {id: …}}");
    }
  });
  return { prefix, suffix };
}

const TOKENIZER_CONFIG_JSON = "tokenizer_config.json";

function tokenString(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value;
  if (isRecord(value) && typeof value.content === "string") return value.content;
  return fail(TOKENIZER_CONFIG_JSON, field, `must be a token string or {content: …}, got ${describe(value)}`);
}

/** Checks a parsed `tokenizer_config.json` (every field optional). */
export function readTokenizerConfig(json: unknown): TokenizerConfiguration {
  const file = TOKENIZER_CONFIG_JSON;
  const root = record(file, "(root)", json ?? {});
  const additional = root.additional_special_tokens ?? [];
  if (!Array.isArray(additional)) fail(file, "additional_special_tokens", "must be an array of token strings");
  let chatTemplate: string | null = null;
  if (typeof root.chat_template === "string") {
    chatTemplate = root.chat_template;
  } else if (Array.isArray(root.chat_template)) {
    const named = root.chat_template.find((entry: unknown) => isRecord(entry) && entry.name === "default");
    if (!isRecord(named) || typeof named.template !== "string") {
      fail(file, "chat_template", 'is a list without a {name: "default", template: …} entry');
    }
    chatTemplate = named.template;
  } else if (root.chat_template !== undefined && root.chat_template !== null) {
    fail(file, "chat_template", `must be a string, got ${describe(root.chat_template)}`);
  }
  const maxLength = root.model_max_length;
  return {
    bosToken: tokenString("bos_token", root.bos_token),
    eosToken: tokenString("eos_token", root.eos_token),
    padToken: tokenString("pad_token", root.pad_token),
    unknownToken: tokenString("unk_token", root.unk_token),
    additionalSpecialTokens: additional.map(
      (token: unknown, index: number) => tokenString(`additional_special_tokens[${index}]`, token) as string,
    ),
    addBosToken: optionalBoolean(file, "add_bos_token", root.add_bos_token, false),
    addEosToken: optionalBoolean(file, "add_eos_token", root.add_eos_token, false),
    chatTemplate,
    modelMaxLength: typeof maxLength === "number" && Number.isFinite(maxLength) ? maxLength : null,
  };
}
