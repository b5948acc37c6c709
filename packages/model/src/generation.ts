/**
 * Token selection for `MiniMindForCausalLM.generate` / `stream`, on plain Float32Array logits rows: option
 * checking, the repetition penalty, temperature, top-k then top-p (nucleus) filtering, seeded sampling and
 * stop strings, in the order and with the semantics of Hugging Face transformers' logits processors.
 * Not here: the decoding loop and its KV cache (model.ts); no tensors, no tokenizer (stop strings take a
 * caller-supplied `decode`).
 */
import { KeyValueCache, type StrategyLike } from "@minimind/attention";
import { uniformValues } from "@minimind/tensor";
import { describeValue } from "./describe-value.js";

export interface GenerateOptions {
  /** How many tokens to append at most per row (default 32). */
  readonly maxNewTokens?: number;
  /** Sample from the filtered distribution (true) or take the most likely token (false, default). */
  readonly doSample?: boolean;
  /** Divides the logits before top-k / top-p when sampling (default 1; 0 means greedy). */
  readonly temperature?: number;
  /** Keep only the k most likely tokens, ties at the k-th included (default 0 = off). */
  readonly topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p, at least one (default 1 = off). */
  readonly topP?: number;
  /**
   * > 1 discourages tokens already in the row (prompt and generated so far): their positive logits are
   * divided by it, negative ones multiplied (default 1 = off). Applies to greedy decoding too.
   */
  readonly repetitionPenalty?: number;
  /** Stop a row at these ids, which are kept in its output (default the config's eos_token_id). */
  readonly eosTokenId?: number | readonly number[];
  /**
   * Seed for sampling: the same seed, prompt and options give the same tokens. Row r of a batch draws from
   * the stream of seed + r. Without it, the seed is drawn from @minimind/tensor's global generator
   * (`manualSeed`).
   */
  readonly seed?: number;
  /** Cancels between tokens: `generate` throws `signal.reason`, and so does the stream's next step. */
  readonly signal?: AbortSignal;
  /** Stop a row once its decoded new tokens contain one of these strings (needs `decode`); the tokens are kept. */
  readonly stopStrings?: readonly string[];
  /** Turns a row's generated ids into text, for `stopStrings` (e.g. a tokenizer's decode). */
  readonly decode?: (ids: readonly number[]) => string;
  /** The id fed into left padding of shorter prompts (masked out; default 0). */
  readonly padTokenId?: number;
  /**
   * The attention strategy (@minimind/attention) over absolute positions — cache included — for the prompt
   * and every generated token (default causal). Cache rules are enforced: a strategy that would make an
   * earlier token see a later one is refused, never silently computed wrong.
   */
  readonly attention?: StrategyLike;
  /**
   * Continue this cache (multi-turn reuse: the prompt is only the new tokens) and leave it holding the prompt
   * and every generated token but the last (`model.createCache()`). Default: a private cache, released.
   */
  readonly cache?: KeyValueCache;
}

const generateOptionNames: ReadonlySet<string> = new Set([
  "maxNewTokens",
  "doSample",
  "temperature",
  "topK",
  "topP",
  "repetitionPenalty",
  "eosTokenId",
  "seed",
  "signal",
  "stopStrings",
  "decode",
  "padTokenId",
  "attention",
  "cache",
] satisfies (keyof GenerateOptions)[]);

/** Checked generation settings, defaults filled in. */
export interface GenerationSettings {
  readonly maxNewTokens: number;
  /** False when greedy: `doSample` off, or temperature 0. */
  readonly sample: boolean;
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly repetitionPenalty: number;
  readonly eosTokenIds: ReadonlySet<number>;
  readonly seed: number;
  readonly signal: AbortSignal | undefined;
  readonly stopStrings: readonly string[];
  readonly decode: ((ids: readonly number[]) => string) | undefined;
  readonly padTokenId: number;
  readonly attention: StrategyLike | undefined;
  readonly cache: KeyValueCache | undefined;
}

function fail(message: string): never {
  throw new Error(`[generate] ${message}`);
}

/** A number option: absent gives `fallback`; anything else must be a number passing `accept`. */
function numberOption(
  options: GenerateOptions,
  name: keyof GenerateOptions,
  fallback: number,
  accept: (value: number) => boolean,
  expected: string,
): number {
  const value: unknown = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !accept(value)) fail(`${name} is ${describeValue(value)}; expected ${expected}`);
  return value;
}

/** The largest `stopStrings` list and the longest stop string accepted. */
const MAX_STOP_STRINGS = 1_024;
const MAX_STOP_STRING_LENGTH = 65_536;

/**
 * Validates the options against their schema — unknown keys and wrong types refused with the key named,
 * every number range-checked — and fills in the defaults.
 */
export function resolveGenerationSettings(
  options: GenerateOptions,
  defaultEos: number | readonly number[],
  vocabularySize: number,
): GenerationSettings {
  if (typeof options !== "object" || options === null || Array.isArray(options)) fail("options must be an object");
  for (const name of Object.keys(options)) {
    if (!generateOptionNames.has(name))
      fail(`unknown option "${name}"; expected one of ${[...generateOptionNames].join(", ")}`);
  }
  if (options.doSample !== undefined && typeof options.doSample !== "boolean")
    fail(`doSample is ${describeValue(options.doSample)}; expected true or false`);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal))
    fail("signal must be an AbortSignal (e.g. AbortSignal.timeout(ms) or an AbortController's signal)");
  const maxNewTokens = numberOption(
    options,
    "maxNewTokens",
    32,
    (value) => Number.isSafeInteger(value) && value >= 0,
    "a non-negative integer",
  );
  const temperature = numberOption(
    options,
    "temperature",
    1,
    (value) => Number.isFinite(value) && value >= 0,
    "a finite number ≥ 0 (0 = greedy)",
  );
  const topK = numberOption(
    options,
    "topK",
    0,
    (value) => Number.isSafeInteger(value) && value >= 0,
    "a non-negative integer (0 = off)",
  );
  const topP = numberOption(options, "topP", 1, (value) => value > 0 && value <= 1, "a number in (0, 1] (1 = off)");
  const repetitionPenalty = numberOption(
    options,
    "repetitionPenalty",
    1,
    (value) => Number.isFinite(value) && value > 0,
    "a finite number > 0 (1 = off)",
  );
  const eos: unknown = options.eosTokenId ?? defaultEos;
  const eosList: unknown[] = Array.isArray(eos) ? eos : [eos];
  for (const id of eosList) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= vocabularySize)
      fail(`eosTokenId ${describeValue(id)} is not a token id in [0, ${vocabularySize})`);
  }
  const eosTokenIds = new Set(eosList as number[]);
  const stopStrings: unknown = options.stopStrings ?? [];
  if (
    !Array.isArray(stopStrings) ||
    stopStrings.length > MAX_STOP_STRINGS ||
    stopStrings.some((text) => typeof text !== "string" || text.length === 0 || text.length > MAX_STOP_STRING_LENGTH)
  )
    fail(
      `stopStrings is ${describeValue(stopStrings)}; expected an array of at most ${MAX_STOP_STRINGS} non-empty strings of at most ${MAX_STOP_STRING_LENGTH} characters`,
    );
  if (options.decode !== undefined && typeof options.decode !== "function")
    fail(`decode is ${describeValue(options.decode)}; expected a function (ids) => string`);
  if (stopStrings.length > 0 && options.decode === undefined)
    fail("stopStrings need a `decode: (ids) => string` option (for example a tokenizer's decode)");
  const padTokenId = numberOption(
    options,
    "padTokenId",
    0,
    (value) => Number.isInteger(value) && value >= 0 && value < vocabularySize,
    `an id in [0, ${vocabularySize})`,
  );
  if (options.cache !== undefined && !(options.cache instanceof KeyValueCache))
    fail("cache must be a KeyValueCache (model.createCache())");
  const attention: unknown = options.attention;
  if (
    attention !== undefined &&
    (typeof attention !== "object" || attention === null) &&
    typeof attention !== "function"
  )
    fail(`attention is ${describeValue(attention)}; expected an attention strategy (@minimind/attention)`);
  const seed =
    options.seed === undefined
      ? // From the global generator (`manualSeed` makes it reproducible), drawn on the host: no device round trip.
        Math.floor((uniformValues(1, { dtype: "float64" })[0] as number) * 2 ** 32)
      : numberOption(options, "seed", 0, Number.isSafeInteger, "an integer");
  return {
    maxNewTokens,
    sample: (options.doSample ?? false) && temperature > 0,
    temperature,
    topK,
    topP,
    repetitionPenalty,
    eosTokenIds,
    seed,
    signal: options.signal,
    stopStrings: stopStrings as string[],
    decode: options.decode,
    padTokenId,
    attention: options.attention,
    cache: options.cache,
  };
}

/**
 * Refuses a logits row that cannot choose a token: NaN or +Infinity anywhere, or no finite value at all
 * (−Infinity alone marks a banned token and is fine). Without this a NaN row would make greedy decoding
 * emit token 0 and sampling emit garbage.
 */
export function checkLogits(logits: Float32Array, row: number, step: number): void {
  let finite = false;
  for (let index = 0; index < logits.length; index++) {
    const value = logits[index] as number;
    if (Number.isNaN(value) || value === Number.POSITIVE_INFINITY) {
      fail(
        `row ${row}, step ${step}: the logits hold ${value} at token id ${index}; the model's weights or activations are not finite (fromPretrained's checkFinite finds non-finite weights)`,
      );
    }
    if (value !== Number.NEGATIVE_INFINITY) finite = true;
  }
  if (!finite) fail(`row ${row}, step ${step}: every logit is -Infinity; no token can be chosen`);
}

/**
 * transformers' RepetitionPenaltyLogitsProcessor, in place: for each distinct id in `previous`, a logit
 * x becomes x / penalty when x > 0 and x · penalty otherwise.
 */
export function applyRepetitionPenalty(logits: Float32Array, previous: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(previous)) {
    const value = logits[id] as number;
    logits[id] = value > 0 ? value / penalty : value * penalty;
  }
}

/**
 * The sampling distribution over the vocabulary: softmax(logits / temperature) restricted to the top-k
 * tokens (every token tied with the k-th kept), then to the nucleus — tokens in descending order while the
 * probability mass before them is below topP, so at least one — renormalised. Excluded tokens get 0.
 */
export function samplingDistribution(
  logits: Float32Array,
  settings: Pick<GenerationSettings, "temperature" | "topK" | "topP">,
): Float64Array {
  const size = logits.length;
  // Shifted by the largest logit before dividing: the largest becomes exactly 0 and the rest ≤ 0, so a tiny
  // temperature sends them to −Infinity (probability 0) instead of overflowing to ±Infinity and NaN.
  let largestLogit = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < size; index++) largestLogit = Math.max(largestLogit, logits[index] as number);
  const scaled = new Float64Array(size);
  for (let index = 0; index < size; index++)
    scaled[index] = ((logits[index] as number) - largestLogit) / settings.temperature;
  const order = Array.from({ length: size }, (_, index) => index).sort(
    (first, second) => (scaled[second] as number) - (scaled[first] as number) || first - second,
  );
  // Top-k: a cut-off value; ties with the k-th are kept, as transformers' `scores < kth` removes only smaller.
  let candidates = size;
  if (settings.topK > 0 && settings.topK < size) {
    const threshold = scaled[order[settings.topK - 1] as number] as number;
    candidates = settings.topK;
    while (candidates < size && scaled[order[candidates] as number] === threshold) candidates++;
  }
  const largest = scaled[order[0] as number] as number;
  const probabilities = new Float64Array(size);
  let total = 0;
  for (let rank = 0; rank < candidates; rank++) {
    const index = order[rank] as number;
    const weight = Math.exp((scaled[index] as number) - largest);
    probabilities[index] = weight;
    total += weight;
  }
  // Top-p over the top-k distribution.
  let kept = candidates;
  if (settings.topP < 1) {
    let before = 0;
    kept = 0;
    while (kept < candidates && (kept === 0 || before < settings.topP)) {
      before += (probabilities[order[kept] as number] as number) / total;
      kept++;
    }
    total = 0;
    for (let rank = 0; rank < kept; rank++) total += probabilities[order[rank] as number] as number;
  }
  const distribution = new Float64Array(size);
  for (let rank = 0; rank < kept; rank++) {
    const index = order[rank] as number;
    distribution[index] = (probabilities[index] as number) / total;
  }
  return distribution;
}

/** Index of the largest logit (the first one on ties), as argmax does. */
export function greedyToken(logits: Float32Array): number {
  let best = 0;
  for (let index = 1; index < logits.length; index++)
    if ((logits[index] as number) > (logits[best] as number)) best = index;
  return best;
}

/** Inverse-CDF draw from a distribution summing to 1, never landing on a zero entry. */
export function drawToken(distribution: Float64Array, uniformDraw: number): number {
  let cumulative = 0;
  let last = -1;
  for (let index = 0; index < distribution.length; index++) {
    const probability = distribution[index] as number;
    if (probability === 0) continue;
    cumulative += probability;
    last = index;
    if (uniformDraw < cumulative) return index;
  }
  return last; // rounding left the total a hair under the draw
}

/** A seeded uniform generator on [0, 1): splitmix32 (32-bit integer arithmetic, same in every engine). */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 16), 0x85ebca6b);
    mixed = Math.imul(mixed ^ (mixed >>> 13), 0xc2b2ae35);
    mixed ^= mixed >>> 16;
    return (mixed >>> 0) / 2 ** 32;
  };
}

/** Picks the next token of one row from its logits (modified in place by the repetition penalty). */
export function selectToken(
  logits: Float32Array,
  previous: readonly number[],
  settings: GenerationSettings,
  random: () => number,
): number {
  applyRepetitionPenalty(logits, previous, settings.repetitionPenalty);
  if (!settings.sample) return greedyToken(logits);
  return drawToken(samplingDistribution(logits, settings), random());
}

/** Whether the decoded new tokens of a row contain a stop string. */
export function hitsStopString(generated: readonly number[], settings: GenerationSettings): boolean {
  if (settings.stopStrings.length === 0 || settings.decode === undefined) return false;
  const text = settings.decode(generated);
  return settings.stopStrings.some((stop) => text.includes(stop));
}
