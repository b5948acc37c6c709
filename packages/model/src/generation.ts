/**
 * Token selection for `MiniMindForCausalLM.generate` / `stream`, on plain Float32Array logits rows: option
 * checking, the repetition penalty, temperature, top-k then top-p (nucleus) filtering, seeded sampling and
 * stop strings, in the order and with the semantics of Hugging Face transformers' logits processors.
 * Not here: the decoding loop and its KV cache (model.ts); no tensors, no tokenizer (stop strings take a
 * caller-supplied `decode`).
 */
import type { KeyValueCache, StrategyLike } from "@minimind/attention";
import { uniformValues } from "@minimind/tensor";

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

/** Validates the options (naming the field and what is allowed) and fills in the defaults. */
export function resolveGenerationSettings(
  options: GenerateOptions,
  defaultEos: number | readonly number[],
  vocabularySize: number,
): GenerationSettings {
  if (typeof options !== "object" || options === null) fail("options must be an object");
  for (const name of Object.keys(options)) {
    if (!generateOptionNames.has(name))
      fail(`unknown option "${name}"; expected one of ${[...generateOptionNames].join(", ")}`);
  }
  if (options.doSample !== undefined && typeof options.doSample !== "boolean")
    fail(`doSample is ${JSON.stringify(options.doSample)}; expected true or false`);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal))
    fail("signal must be an AbortSignal (e.g. AbortSignal.timeout(ms) or an AbortController's signal)");
  const maxNewTokens = options.maxNewTokens ?? 32;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0)
    fail(`maxNewTokens is ${maxNewTokens}; expected a non-negative integer`);
  const temperature = options.temperature ?? 1;
  if (!(Number.isFinite(temperature) && temperature >= 0))
    fail(`temperature is ${temperature}; expected a finite number ≥ 0 (0 = greedy)`);
  const topK = options.topK ?? 0;
  if (!Number.isInteger(topK) || topK < 0) fail(`topK is ${topK}; expected a non-negative integer (0 = off)`);
  const topP = options.topP ?? 1;
  if (!(topP > 0 && topP <= 1)) fail(`topP is ${topP}; expected a number in (0, 1] (1 = off)`);
  const repetitionPenalty = options.repetitionPenalty ?? 1;
  if (!(Number.isFinite(repetitionPenalty) && repetitionPenalty > 0))
    fail(`repetitionPenalty is ${repetitionPenalty}; expected a finite number > 0 (1 = off)`);
  const eosTokenIds = new Set([options.eosTokenId ?? defaultEos].flat() as number[]);
  for (const id of eosTokenIds) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabularySize)
      fail(`eosTokenId ${id} is not a token id in [0, ${vocabularySize})`);
  }
  const stopStrings = options.stopStrings ?? [];
  if (stopStrings.length > 0 && options.decode === undefined)
    fail("stopStrings need a `decode: (ids) => string` option (for example a tokenizer's decode)");
  if (stopStrings.some((text) => typeof text !== "string" || text.length === 0))
    fail("stopStrings must be non-empty strings");
  const padTokenId = options.padTokenId ?? 0;
  if (!Number.isInteger(padTokenId) || padTokenId < 0 || padTokenId >= vocabularySize)
    fail(`padTokenId is ${padTokenId}; expected an id in [0, ${vocabularySize})`);
  let seed = options.seed;
  if (seed === undefined) {
    // From the global generator (`manualSeed` makes it reproducible), drawn on the host: no device round trip.
    seed = Math.floor((uniformValues(1, { dtype: "float64" })[0] as number) * 2 ** 32);
  } else if (!Number.isInteger(seed)) {
    fail(`seed is ${seed}; expected an integer`);
  }
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
    stopStrings,
    decode: options.decode,
    padTokenId,
    attention: options.attention,
    cache: options.cache,
  };
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
  const scaled = new Float64Array(size);
  for (let index = 0; index < size; index++) scaled[index] = (logits[index] as number) / settings.temperature;
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
