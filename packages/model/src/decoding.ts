/**
 * The KV-cached decoding loop behind `generate` and `stream`: prefill the prompts into a `KeyValueCache` (a
 * fresh one, or the caller's for multi-turn reuse) under the chosen attention strategy, then one token per
 * step until `maxNewTokens`, an end-of-sequence id or a stop string. One loop serves both drivers: it never
 * reads back itself but asks its driver to (`dataSync` for `generate`, `await data()` for `stream`, the only
 * readback WebGPU has). How each token is picked lives in generation.ts.
 * Not here: the architecture (model.ts) or the cache and its rules (@minimind/attention).
 */
import { causal, type KeyValueCache, type StrategyLike } from "@minimind/attention";
import { keep, noGrad, scope, type Tensor } from "@minimind/tensor";
import { describeMaxPositions, type MiniMindConfig, maxPositions } from "./config.js";
import { describeValue } from "./describe-value.js";
import { checkLogits, type GenerationSettings, hitsStopString, seededUniform, selectToken } from "./generation.js";

/** What the loop needs of a model (structural, so this file does not import the model: no import cycle). */
export interface DecodingModel {
  readonly config: MiniMindConfig;
  training: boolean;
  forward(options: {
    readonly inputIds: readonly (readonly number[])[];
    readonly cache: KeyValueCache;
    readonly attention: StrategyLike;
    readonly logitsToKeep: number;
    readonly attentionMask?: readonly (readonly number[])[];
    readonly positionIds?: readonly (readonly number[])[];
  }): { readonly logits: Tensor };
  createCache(): KeyValueCache;
}

/** Checks the prompts against the settings and the context before any work is done. */
export function checkPrompts(
  config: MiniMindConfig,
  prompts: readonly (readonly number[])[],
  settings: GenerationSettings,
): void {
  if (!Array.isArray(prompts) || prompts.length === 0)
    throw new Error("[generate] prompts must be a non-empty number[][] (one row of token ids per sequence)");
  const vocabulary = config.vocab_size;
  prompts.forEach((row, index) => {
    if (!Array.isArray(row) || row.length === 0)
      throw new Error(`[generate] prompt row ${index} is empty; every row needs at least one token id`);
    const position = row.findIndex(
      (id) => !(typeof id === "number" && Number.isInteger(id) && id >= 0 && id < vocabulary),
    );
    if (position >= 0) {
      throw new Error(
        `[generate] prompt row ${index} holds ${describeValue(row[position])} at position ${position}; token ids are integers in [0, ${vocabulary})`,
      );
    }
  });
  const longest = Math.max(...prompts.map((row) => row.length));
  const cached = settings.cache?.length ?? 0;
  if (settings.cache !== undefined) {
    if (prompts.some((row) => row.length !== longest)) {
      throw new Error(
        "[generate] with a cache the prompts must have equal length (a left-padded batch cannot be continued turn after turn); pass one prompt per cache",
      );
    }
    if (cached > 0 && settings.cache.batch !== prompts.length) {
      throw new Error(
        `[generate] the cache holds batch ${settings.cache.batch}; got ${prompts.length} prompts — use one cache per conversation`,
      );
    }
  }
  // The finished rows (cache + prompt + new tokens) must fit the rotary context; refuse up front.
  const limit = maxPositions(config);
  const needed = cached + longest + settings.maxNewTokens;
  if (needed > limit) {
    const room = limit - cached - longest;
    const advice =
      room > 0
        ? `lower maxNewTokens to at most ${room} or shorten the prompt`
        : `shorten the prompt to at most ${limit - cached - 1} tokens`;
    const what = cached > 0 ? `the cache (${cached} tokens) + the longest prompt` : "the longest prompt";
    throw new Error(
      `[generate] ${what} (${longest} tokens) + maxNewTokens (${settings.maxNewTokens}) = ${needed} positions, more than the model's context: ${describeMaxPositions(config)}; ${advice}`,
    );
  }
}

/** Resolves on the next turn of the event loop (after pending timers and I/O), not just after microtasks. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === "function") setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}

/** What the loop asks of its driver: read these logits back (sent in with `next`), or hand these tokens out. */
type DecodeEvent = { read: Tensor } | { tokens: number[][] };

/** How long `decodeToEnd` computes at most before it yields to the event loop (timers, I/O, aborts). */
const YIELD_INTERVAL_MS = 4;

/**
 * Drives the loop to its end with synchronous readback (`dataSync`, fast on the CPU backend) and returns
 * each row's new ids. Every few milliseconds it yields to the event loop, so timers and I/O run during a long
 * generation and an AbortSignal (`AbortSignal.timeout(ms)`, Ctrl-C) stops it at the next step.
 */
export async function decodeToEnd(
  events: Generator<DecodeEvent, void, Float32Array | undefined>,
  rows: number,
): Promise<number[][]> {
  const generated: number[][] = Array.from({ length: rows }, () => []);
  let lastYield = performance.now();
  for (const step of readSynchronously(events)) {
    step.forEach((tokens, row) => {
      (generated[row] as number[]).push(...tokens);
    });
    if (performance.now() - lastYield >= YIELD_INTERVAL_MS) {
      await nextTurn();
      lastYield = performance.now();
    }
  }
  return generated;
}

export function* readSynchronously(
  events: Generator<DecodeEvent, void, Float32Array | undefined>,
): Generator<number[][]> {
  try {
    let input: Float32Array | undefined;
    for (;;) {
      const event = events.next(input);
      if (event.done) return;
      input = undefined;
      if ("read" in event.value) input = Float32Array.from(event.value.read.dataSync() as Float32Array);
      else yield event.value.tokens;
    }
  } finally {
    events.return(undefined);
  }
}

export async function* readAsynchronously(
  events: Generator<DecodeEvent, void, Float32Array | undefined>,
): AsyncGenerator<number[][], void> {
  try {
    let input: Float32Array | undefined;
    for (;;) {
      const event = events.next(input);
      if (event.done) return;
      input = undefined;
      if ("read" in event.value) input = Float32Array.from((await event.value.read.data()) as Float32Array);
      else {
        yield event.value.tokens;
        await nextTurn();
      }
    }
  } finally {
    events.return(undefined);
  }
}

/**
 * The decoding loop: per step, asks for the last logits to be read back, then yields each row's new ids.
 * A cache it created is released at the end; the caller's cache is left holding the prompt and every
 * generated token but the last (feed `history.slice(cache.length)` next turn).
 */
export function* decodeSteps(
  model: DecodingModel,
  prompts: readonly (readonly number[])[],
  settings: GenerationSettings,
): Generator<DecodeEvent, void, Float32Array | undefined> {
  const vocab = model.config.vocab_size;
  const strategy: StrategyLike = settings.attention ?? causal;
  const longest = Math.max(...prompts.map((row) => row.length));
  const paddings = prompts.map((row) => longest - row.length);
  const padded = paddings.some((count) => count > 0);
  const history = prompts.map((row) => [...row]); // prompt + generated, for the repetition penalty
  const generated: number[][] = prompts.map(() => []);
  const finished = prompts.map(() => false);
  const randoms = prompts.map((_, row) => seededUniform(settings.seed + row));
  let next = prompts.map((row, index) => [
    ...new Array<number>(paddings[index] as number).fill(settings.padTokenId),
    ...row,
  ]);
  const cache = settings.cache ?? model.createCache();
  const wasTraining = model.training;
  model.training = false;
  try {
    for (let step = 0; step < settings.maxNewTokens && !finished.every(Boolean); step++) {
      settings.signal?.throwIfAborted();
      const length = (next[0] as number[]).length;
      const pastLength = cache.length;
      // Left padding (a fresh cache only): pads are masked as keys, each row's positions count its real tokens.
      const paddingInputs = padded
        ? {
            attentionMask: paddings.map((count) =>
              Array.from({ length: pastLength + length }, (_, index) => (index < count ? 0 : 1)),
            ),
            positionIds: paddings.map((count) =>
              Array.from({ length }, (_, index) => Math.max(pastLength + index - count, 0)),
            ),
          }
        : {};
      const logits = noGrad(() =>
        scope(() => {
          const result = model.forward({
            inputIds: next,
            cache,
            attention: strategy,
            logitsToKeep: 1,
            ...paddingInputs,
          });
          return keep(result.logits); // [B, 1, vocab]
        }),
      );
      let values: Float32Array | undefined;
      try {
        values = yield { read: logits };
      } finally {
        logits.dispose();
      }
      if (!values) throw new Error("[generate] internal: the decoding driver sent no logits");
      const logitsValues = values;
      const tokens = prompts.map((_, row): number[] => {
        if (finished[row]) return [];
        const rowLogits = logitsValues.subarray(row * vocab, (row + 1) * vocab);
        checkLogits(rowLogits, row, step);
        const token = selectToken(rowLogits, history[row] as number[], settings, randoms[row] as () => number);
        (history[row] as number[]).push(token);
        (generated[row] as number[]).push(token);
        if (settings.eosTokenIds.has(token) || hitsStopString(generated[row] as number[], settings))
          finished[row] = true;
        return [token];
      });
      next = tokens.map((row) => (row.length > 0 ? row : [settings.padTokenId]));
      yield { tokens };
    }
  } finally {
    if (settings.cache === undefined) cache.dispose();
    model.training = wasTraining;
  }
}
