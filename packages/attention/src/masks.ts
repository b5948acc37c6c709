/**
 * Built-in strategies (causal, bidirectional, prefixLM, segments, packedDocuments, slidingWindow, padding), the
 * combinators and, or, not, the score mods alibi and softcap, and the helper that turns per-token chat roles
 * into a segment vector. Every built-in classifies blocks analytically in O(1) (O(documents in the block)
 * for `packedDocuments`), so a BlockMask never materializes T×T. Positions are absolute: with a KV cache, query i
 * of a chunk starting at s has position s + i. Not here: the kernel, the BlockMask and the KV cache.
 */
import {
  type AttentionStrategy,
  type BlockClassifier,
  type BlockKind,
  type ChunkBoundaries,
  composeScoreMods,
  defineScoreMod,
  type ScoreMod,
  type StrategyLike,
  toStrategy,
} from "./strategy.js";

/** Per-batch-row data: one row shared by every batch row, or one row per batch row. */
function rowFor<Row>(rows: readonly Row[], batch: number, where: string): Row {
  const row = rows.length === 1 ? rows[0] : rows[batch];
  if (row === undefined) {
    throw new RangeError(`[${where}] no entry for batch row ${batch}: got ${rows.length} rows; pass one per row`);
  }
  return row;
}

function cutsWhere(length: number, isCut: (position: number) => boolean): ChunkBoundaries {
  const cuts: number[] = [];
  for (let position = 1; position < length; position++) if (isCut(position)) cuts.push(position);
  return cuts.length === length - 1 ? "anywhere" : cuts;
}

/** Every query attends itself and earlier keys: kv ≤ q. */
export const causal: AttentionStrategy = {
  name: "causal",
  maskMod: (_batch, _head, query, key) => key <= query,
  classifyBlock: (_batch, _head, queryStart, queryEnd, keyStart, keyEnd) =>
    keyEnd - 1 <= queryStart ? "full" : keyStart > queryEnd - 1 ? "empty" : "partial",
  chunkBoundaries: () => "anywhere",
};

/** Every query attends every key. Not cache-consistent: a cached token would need later tokens. */
export const bidirectional: AttentionStrategy = {
  name: "bidirectional",
  maskMod: () => true,
  classifyBlock: () => "full",
  chunkBoundaries: () => "nowhere",
};

/**
 * Prefix-LM (UniLM, T5 prefix-LM): keys before the prefix end are visible to every query, the rest is
 * causal: attend ⇔ kv < prefixLength or kv ≤ q. One length for all batch rows, or one per row. A KV cache
 * must prefill the whole prefix as one chunk; after it, any chunking works.
 */
export function prefixLM(prefixLengths: number | readonly number[]): AttentionStrategy {
  const lengths = typeof prefixLengths === "number" ? [prefixLengths] : [...prefixLengths];
  for (const length of lengths) {
    if (!Number.isInteger(length) || length < 0) {
      throw new RangeError(`[prefixLM] prefix length ${length} must be a non-negative integer`);
    }
  }
  const prefixOf = (batch: number) => rowFor(lengths, batch, "prefixLM");
  return {
    name: `prefixLM(${lengths.join(",")})`,
    maskMod: (batch, _head, query, key) => key < prefixOf(batch) || key <= query,
    classifyBlock: (batch, _head, queryStart, queryEnd, keyStart, keyEnd) => {
      const prefix = prefixOf(batch);
      if (keyEnd <= prefix || keyEnd - 1 <= queryStart) return "full";
      if (keyStart >= prefix && keyStart > queryEnd - 1) return "empty";
      return "partial";
    },
    chunkBoundaries: (batch, length) => cutsWhere(length, (position) => position >= prefixOf(batch)),
  };
}

/**
 * A cumulative-sum view of a segment vector: position p has rank cumsum(ar)[p]; past the end of `ar` the
 * sequence continues causally (as if ar = 1), so decoding after a prompt needs no extension.
 */
class SegmentRanks {
  readonly ranks: Float64Array;
  constructor(ar: readonly number[]) {
    this.ranks = new Float64Array(ar.length);
    let sum = 0;
    ar.forEach((value, position) => {
      if (!Number.isInteger(value) || value < 0) {
        throw new RangeError(`[segments] ar[${position}] = ${value}; entries must be non-negative integers`);
      }
      sum += value;
      this.ranks[position] = sum;
    });
  }
  at(position: number): number {
    const length = this.ranks.length;
    if (position < length) return this.ranks[position] as number;
    return (length === 0 ? 0 : (this.ranks[length - 1] as number)) + (position - length + 1);
  }
}

/**
 * big_vision's `make_attn_mask`: attend(q, kv) ⇔ cumsum(ar)[kv] ≤ cumsum(ar)[q]. `ar` = all ones is causal;
 * [0, 0, 0, 1, 1] is a bidirectional prefix of three tokens; a 1 starting each turn and 0 inside it makes
 * every turn bidirectional within itself and causal to what came before. One vector shared by every batch
 * row, or one per row. Positions past the end of a vector continue causally. A KV cache may cut wherever a
 * new segment starts (cumsum rises).
 */
export function segments(ar: readonly number[] | readonly (readonly number[])[]): AttentionStrategy {
  const rows = (ar.length > 0 && Array.isArray(ar[0]) ? ar : [ar]) as readonly (readonly number[])[];
  const ranks = rows.map((row) => new SegmentRanks(row));
  const ranksOf = (batch: number) => rowFor(ranks, batch, "segments");
  return {
    name: "segments",
    maskMod: (batch, _head, query, key) => {
      const rank = ranksOf(batch);
      return rank.at(key) <= rank.at(query);
    },
    classifyBlock: (batch, _head, queryStart, queryEnd, keyStart, keyEnd) => {
      const rank = ranksOf(batch);
      if (rank.at(keyEnd - 1) <= rank.at(queryStart)) return "full";
      if (rank.at(keyStart) > rank.at(queryEnd - 1)) return "empty";
      return "partial";
    },
    chunkBoundaries: (batch, length) => {
      const rank = ranksOf(batch);
      return cutsWhere(length, (position) => rank.at(position) > rank.at(position - 1));
    },
  };
}

/** A run of same-role tokens, e.g. one chat turn. */
export interface RoleRun {
  role: string;
  length: number;
}

export interface SegmentVectorOptions {
  /** Roles whose turns see themselves bidirectionally; default system, user, tool. Others are causal. */
  bidirectionalRoles?: readonly string[];
  /**
   * Per-token turn indices (the tokenizer's `ChatSegments.segments`), to split two adjacent turns of the
   * same role; without it a change of role starts a new turn. Only with a per-token role array.
   */
  turns?: readonly number[];
}

/**
 * Builds the `ar` vector for `segments` from per-token chat roles (the tokenizer's `ChatSegments.roles`) or
 * a run-length list (each run is one turn): each token of a bidirectional-role turn shares one segment
 * (1 at the turn's first token, 0 after), every other token (assistant, template markup) gets its own (1).
 */
export function segmentVectorFromRoles(
  roles: readonly string[] | readonly RoleRun[],
  options: SegmentVectorOptions = {},
): number[] {
  const bidirectionalRoles = new Set(options.bidirectionalRoles ?? ["system", "user", "tool"]);
  const tokenRoles: string[] = [];
  const turnStarts: boolean[] = [];
  for (const [index, entry] of roles.entries()) {
    if (typeof entry === "string") {
      const turn = options.turns?.[index];
      const newTurn =
        index === 0 ||
        entry !== tokenRoles[index - 1] ||
        (options.turns !== undefined && turn !== options.turns[index - 1]);
      tokenRoles.push(entry);
      turnStarts.push(newTurn);
    } else {
      if (!Number.isInteger(entry.length) || entry.length < 0) {
        throw new RangeError(`[segmentVectorFromRoles] run ${index} has length ${entry.length}; use an integer ≥ 0`);
      }
      for (let offset = 0; offset < entry.length; offset++) {
        tokenRoles.push(entry.role);
        turnStarts.push(offset === 0);
      }
    }
  }
  if (options.turns !== undefined && options.turns.length !== tokenRoles.length) {
    throw new RangeError(
      `[segmentVectorFromRoles] turns has ${options.turns.length} entries for ${tokenRoles.length} tokens`,
    );
  }
  return tokenRoles.map((role, index) => (!bidirectionalRoles.has(role) || turnStarts[index] ? 1 : 0));
}

/** Documents as contiguous runs of equal ids in one batch row. */
class DocumentRuns {
  readonly starts: number[] = [];
  readonly runOfPosition: Int32Array;
  constructor(ids: readonly number[], batch: number) {
    this.runOfPosition = new Int32Array(ids.length);
    const seen = new Set<number>();
    ids.forEach((id, position) => {
      if (position === 0 || id !== ids[position - 1]) {
        if (seen.has(id)) {
          throw new RangeError(
            `[packedDocuments] batch row ${batch}: document id ${id} reappears at position ${position} after another document; documents must be contiguous runs`,
          );
        }
        seen.add(id);
        this.starts.push(position);
      }
      this.runOfPosition[position] = this.starts.length - 1;
    });
  }
  /** The run holding a position; positions past the end belong to the last document. */
  run(position: number): number {
    const length = this.runOfPosition.length;
    if (length === 0) return 0;
    return this.runOfPosition[Math.min(position, length - 1)] as number;
  }
  start(run: number): number {
    return this.starts[run] ?? 0;
  }
  end(run: number, length: number): number {
    return this.starts[run + 1] ?? length;
  }
}

/**
 * Sequence packing: no attention across documents; `inner` applies within each document in
 * document-local positions (position minus the document's start). `docIds` gives each token's document;
 * documents must be contiguous runs. Positions past the end belong to the last document.
 */
export function packedDocuments(
  docIds: readonly number[] | readonly (readonly number[])[],
  inner: StrategyLike = causal,
): AttentionStrategy {
  const rows = (docIds.length > 0 && Array.isArray(docIds[0]) ? docIds : [docIds]) as readonly (readonly number[])[];
  const runs = rows.map((row, batch) => new DocumentRuns(row, batch));
  const runsOf = (batch: number) => rowFor(runs, batch, "packedDocuments");
  const innerStrategy = toStrategy(inner, "inner");
  const innerMask = innerStrategy.maskMod;
  const innerClassify = innerStrategy.classifyBlock;
  return {
    name: `packedDocuments(${innerStrategy.name})`,
    ...(innerStrategy.scoreMod ? { scoreMod: innerStrategy.scoreMod } : {}),
    perHead: innerStrategy.perHead ?? false,
    maskMod: (batch, head, query, key) => {
      const documents = runsOf(batch);
      const run = documents.run(query);
      if (documents.run(key) !== run) return false;
      const start = documents.start(run);
      return innerMask(batch, head, query - start, key - start);
    },
    classifyBlock: (batch, head, queryStart, queryEnd, keyStart, keyEnd) => {
      const documents = runsOf(batch);
      const first = Math.max(documents.run(queryStart), documents.run(keyStart));
      const last = Math.min(documents.run(queryEnd - 1), documents.run(keyEnd - 1));
      if (first > last) return "empty";
      const single =
        first === last &&
        documents.run(queryStart) === first &&
        documents.run(queryEnd - 1) === first &&
        documents.run(keyStart) === first &&
        documents.run(keyEnd - 1) === first;
      if (!innerClassify) return "partial";
      let anyAttends = false;
      for (let run = first; run <= last; run++) {
        const start = documents.start(run);
        const end = documents.end(run, Number.POSITIVE_INFINITY);
        const kind = innerClassify(
          batch,
          head,
          Math.max(queryStart, start) - start,
          Math.min(queryEnd, end) - start,
          Math.max(keyStart, start) - start,
          Math.min(keyEnd, end) - start,
        );
        if (single) return kind;
        if (kind !== "empty") anyAttends = true;
      }
      return anyAttends ? "partial" : "empty";
    },
    chunkBoundaries: (batch, length) => {
      const documents = runsOf(batch);
      const cuts = new Set<number>();
      let anywhere = true;
      const runCount = Math.max(documents.starts.length, 1);
      for (let run = 0; run < runCount; run++) {
        const start = documents.start(run);
        if (start >= length) break;
        const end = Math.min(documents.end(run, length), length);
        if (start > 0) cuts.add(start);
        const local = innerStrategy.chunkBoundaries(batch, end - start);
        if (local === "anywhere") {
          for (let position = start + 1; position < end; position++) cuts.add(position);
        } else {
          if (end - start > 1) anywhere = false;
          if (local !== "nowhere") for (const position of local) cuts.add(start + position);
        }
      }
      if (anywhere) return "anywhere";
      return [...cuts].filter((position) => position > 0 && position < length).sort((a, b) => a - b);
    },
  };
}

/** Sliding window: 0 ≤ q − kv < window, i.e. each query sees `window` keys counting itself (causal). */
export function slidingWindow(window: number): AttentionStrategy {
  if (!Number.isInteger(window) || window < 1) {
    throw new RangeError(`[slidingWindow] window ${window} must be an integer ≥ 1 (it counts the query itself)`);
  }
  return {
    name: `slidingWindow(${window})`,
    maskMod: (_batch, _head, query, key) => key <= query && query - key < window,
    classifyBlock: (_batch, _head, queryStart, queryEnd, keyStart, keyEnd) => {
      if (keyStart > queryEnd - 1 || queryStart - (keyEnd - 1) >= window) return "empty";
      if (keyEnd - 1 <= queryStart && queryEnd - 1 - keyStart < window) return "full";
      return "partial";
    },
    chunkBoundaries: () => "anywhere",
  };
}

/**
 * Key padding: keys whose entry in `keyMask` is false (or 0) are invisible to every query; keys past the
 * end of the mask are visible. On its own it is bidirectional over the visible keys; combine it, e.g.
 * `and(causal, padding(mask))`.
 */
export function padding(
  keyMask: readonly (boolean | number)[] | readonly (readonly (boolean | number)[])[] | Uint8Array,
): AttentionStrategy {
  const rows = (
    keyMask instanceof Uint8Array ? [keyMask] : keyMask.length > 0 && Array.isArray(keyMask[0]) ? keyMask : [keyMask]
  ) as readonly ArrayLike<boolean | number>[];
  // visibleBefore[p] = number of visible keys in [0, p)
  const counts = rows.map((row) => {
    const visibleBefore = new Int32Array(row.length + 1);
    for (let position = 0; position < row.length; position++) {
      visibleBefore[position + 1] = (visibleBefore[position] as number) + (row[position] ? 1 : 0);
    }
    return visibleBefore;
  });
  const visibleIn = (batch: number, start: number, end: number): number => {
    const visibleBefore = rowFor(counts, batch, "padding");
    const length = visibleBefore.length - 1;
    const clamp = (position: number) =>
      position <= length
        ? (visibleBefore[position] as number)
        : (visibleBefore[length] as number) + (position - length);
    return clamp(end) - clamp(start);
  };
  return {
    name: "padding",
    maskMod: (batch, _head, _query, key) => visibleIn(batch, key, key + 1) === 1,
    classifyBlock: (batch, _head, _queryStart, _queryEnd, keyStart, keyEnd) => {
      const visible = visibleIn(batch, keyStart, keyEnd);
      return visible === 0 ? "empty" : visible === keyEnd - keyStart ? "full" : "partial";
    },
    chunkBoundaries: () => "nowhere",
  };
}

function combineBoundaries(
  parts: readonly ChunkBoundaries[],
  length: number,
  mode: "either" | "both",
): ChunkBoundaries {
  // A cut is consistent for and(a, b) when it is for a or for b; for or(a, b) only when it is for both.
  const allows = (boundaries: ChunkBoundaries, position: number) =>
    boundaries === "anywhere" || (boundaries !== "nowhere" && boundaries.includes(position));
  const test =
    mode === "either"
      ? (position: number) => parts.some((part) => allows(part, position))
      : (position: number) => parts.every((part) => allows(part, position));
  if (mode === "either" ? parts.includes("anywhere") : parts.every((part) => part === "anywhere")) return "anywhere";
  if (mode === "both" && parts.includes("nowhere")) return "nowhere";
  const cuts: number[] = [];
  for (let position = 1; position < length; position++) if (test(position)) cuts.push(position);
  return cuts.length === 0 && length > 1 ? "nowhere" : cuts;
}

function combineScoreMods(strategies: readonly AttentionStrategy[]): { scoreMod?: ScoreMod } {
  const mods = strategies.flatMap((strategy) => (strategy.scoreMod ? [strategy.scoreMod] : []));
  if (mods.length === 0) return {};
  return { scoreMod: mods.reduce((first, second) => composeScoreMods(first, second)) };
}

/** Attend only where every strategy attends. Score mods, if any, are applied in order. */
export function and(...strategies: StrategyLike[]): AttentionStrategy {
  const parts = strategies.map((strategy) => toStrategy(strategy));
  const classifiers = parts.map((part) => part.classifyBlock);
  const classifyBlock: BlockClassifier = (...block) => {
    let allFull = true;
    for (const classify of classifiers) {
      const kind: BlockKind = classify ? classify(...block) : "partial";
      if (kind === "empty") return "empty";
      if (kind !== "full") allFull = false;
    }
    return allFull ? "full" : "partial";
  };
  return {
    name: `and(${parts.map((part) => part.name).join(", ")})`,
    maskMod: (batch, head, query, key) => parts.every((part) => part.maskMod(batch, head, query, key)),
    classifyBlock,
    perHead: parts.some((part) => part.perHead === true),
    ...combineScoreMods(parts),
    chunkBoundaries: (batch, length) =>
      combineBoundaries(
        parts.map((part) => part.chunkBoundaries(batch, length)),
        length,
        "either",
      ),
  };
}

/** Attend where any strategy attends. Score mods, if any, are applied in order. */
export function or(...strategies: StrategyLike[]): AttentionStrategy {
  const parts = strategies.map((strategy) => toStrategy(strategy));
  const classifiers = parts.map((part) => part.classifyBlock);
  const classifyBlock: BlockClassifier = (...block) => {
    let allEmpty = true;
    for (const classify of classifiers) {
      const kind: BlockKind = classify ? classify(...block) : "partial";
      if (kind === "full") return "full";
      if (kind !== "empty") allEmpty = false;
    }
    return allEmpty ? "empty" : "partial";
  };
  return {
    name: `or(${parts.map((part) => part.name).join(", ")})`,
    maskMod: (batch, head, query, key) => parts.some((part) => part.maskMod(batch, head, query, key)),
    classifyBlock,
    perHead: parts.some((part) => part.perHead === true),
    ...combineScoreMods(parts),
    chunkBoundaries: (batch, length) =>
      combineBoundaries(
        parts.map((part) => part.chunkBoundaries(batch, length)),
        length,
        "both",
      ),
  };
}

/** Attend exactly where `strategy` does not. Makes no cache promise. */
export function not(strategy: StrategyLike): AttentionStrategy {
  const part = toStrategy(strategy);
  const classify = part.classifyBlock;
  return {
    name: `not(${part.name})`,
    maskMod: (batch, head, query, key) => !part.maskMod(batch, head, query, key),
    ...(classify
      ? {
          classifyBlock: (...block: Parameters<BlockClassifier>): BlockKind => {
            const kind = classify(...block);
            return kind === "full" ? "empty" : kind === "empty" ? "full" : "partial";
          },
        }
      : {}),
    perHead: part.perHead === true,
    chunkBoundaries: () => "nowhere",
  };
}

/** A strategy with a score mod attached (replacing any it had). */
export function withScoreMod(strategy: StrategyLike, scoreMod: ScoreMod): AttentionStrategy {
  const base = toStrategy(strategy);
  return { ...base, name: `${base.name}+scoreMod`, scoreMod };
}

/** ALiBi slopes for `heads` heads: 2^(−8(h+1)/n), with n the next power of two handled as in the paper. */
export function alibiSlopes(heads: number): number[] {
  if (!Number.isInteger(heads) || heads < 1) throw new RangeError(`[alibi] heads ${heads} must be an integer ≥ 1`);
  const slopesFor = (count: number) => Array.from({ length: count }, (_, head) => 2 ** ((-8 * (head + 1)) / count));
  const power = 2 ** Math.floor(Math.log2(heads));
  if (power === heads) return slopesFor(heads);
  const extra = slopesFor(2 * power).filter((_, index) => index % 2 === 0);
  return [...slopesFor(power), ...extra.slice(0, heads - power)];
}

/** ALiBi (Press et al.): adds slope[h] · (kv − q) to the score — a linear penalty on distance. */
export function alibi(heads: number): ScoreMod {
  const slopes = alibiSlopes(heads);
  return defineScoreMod(
    (score, _batch, head, query, key) => {
      const slope = slopes[head];
      if (slope === undefined) throw new RangeError(`[alibi] head ${head} out of range for ${heads} heads`);
      return score + slope * (key - query);
    },
    () => 1,
  );
}

/** Soft capping (Gemma 2): cap · tanh(score / cap). */
export function softcap(cap: number): ScoreMod {
  if (!(cap > 0)) throw new RangeError(`[softcap] cap ${cap} must be > 0`);
  return defineScoreMod(
    (score) => cap * Math.tanh(score / cap),
    (score) => {
      const t = Math.tanh(score / cap);
      return 1 - t * t;
    },
  );
}
