/**
 * BlockMask: a strategy compiled for one attention call into, per (batch row, head group, query block), the
 * lists of full kv blocks (attended without evaluating the mask) and partial kv blocks (mask evaluated per
 * pair); empty blocks appear in neither list and are skipped. Built-ins classify each block in O(1), so the
 * build is O(blocks) and never materializes T×T; strategies without a classifier fall back to evaluating
 * the mask inside each block. Also `toDense()` and text/SVG renders for debugging and pictures.
 * Not here: the attention arithmetic (see `kernel.ts`).
 */
import { type AttentionStrategy, type BlockKind, type StrategyLike, toStrategy } from "./strategy.js";

export interface BlockMaskOptions {
  /** Batch rows. Default 1. */
  batch?: number;
  /** Query heads. Default 1. A strategy that is not per-head shares one head group among all heads. */
  heads?: number;
  queryLength: number;
  /** Default queryLength. */
  keyLength?: number;
  /**
   * Absolute position of query 0. Default keyLength − queryLength (bottom-right alignment: the queries are
   * the last tokens, as when decoding after a KV cache of keyLength − queryLength tokens).
   */
  queryOffset?: number;
  /** Query and key block size. Default 64. */
  blockSize?: number;
  /** false: mark every block partial (evaluate the mask everywhere) — the dense way, for comparisons. */
  analyze?: boolean;
}

const KIND_CODE = { empty: 0, full: 1, partial: 2 } as const;

function assertCount(value: number, name: string, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum) {
    throw new RangeError(`[BlockMask] ${name} = ${value} must be an integer ≥ ${minimum}`);
  }
}

export class BlockMask {
  readonly strategy: AttentionStrategy;
  readonly batch: number;
  readonly heads: number;
  /** 1 when the strategy does not depend on the head, else `heads`. */
  readonly headGroups: number;
  readonly queryLength: number;
  readonly keyLength: number;
  readonly queryOffset: number;
  readonly blockSize: number;
  readonly queryBlocks: number;
  readonly keyBlocks: number;
  /** One code per (batch, head group, query block, key block): 0 empty, 1 full, 2 partial. */
  private readonly kinds: Uint8Array;
  private readonly fullOffsets: Int32Array;
  private readonly fullIndices: Int32Array;
  private readonly partialOffsets: Int32Array;
  private readonly partialIndices: Int32Array;

  constructor(strategyLike: StrategyLike, options: BlockMaskOptions) {
    const strategy = toStrategy(strategyLike);
    this.strategy = strategy;
    this.batch = options.batch ?? 1;
    this.heads = options.heads ?? 1;
    this.queryLength = options.queryLength;
    this.keyLength = options.keyLength ?? options.queryLength;
    this.queryOffset = options.queryOffset ?? this.keyLength - this.queryLength;
    this.blockSize = options.blockSize ?? 64;
    assertCount(this.batch, "batch", 1);
    assertCount(this.heads, "heads", 1);
    assertCount(this.queryLength, "queryLength", 0);
    assertCount(this.keyLength, "keyLength", 0);
    assertCount(this.queryOffset, "queryOffset", 0);
    assertCount(this.blockSize, "blockSize", 1);
    this.headGroups = strategy.perHead ? this.heads : 1;
    if (!strategy.perHead && this.heads > 1) assertHeadIndependent(strategy, this);
    this.queryBlocks = Math.ceil(this.queryLength / this.blockSize);
    this.keyBlocks = Math.ceil(this.keyLength / this.blockSize);
    const rows = this.batch * this.headGroups * this.queryBlocks;
    this.kinds = new Uint8Array(rows * this.keyBlocks);
    const full: number[] = [];
    const partial: number[] = [];
    this.fullOffsets = new Int32Array(rows + 1);
    this.partialOffsets = new Int32Array(rows + 1);
    const analyze = options.analyze ?? true;
    let row = 0;
    for (let batch = 0; batch < this.batch; batch++) {
      for (let group = 0; group < this.headGroups; group++) {
        for (let queryBlock = 0; queryBlock < this.queryBlocks; queryBlock++) {
          const queryStart = this.queryOffset + queryBlock * this.blockSize;
          const queryEnd = this.queryOffset + Math.min(this.queryLength, (queryBlock + 1) * this.blockSize);
          for (let keyBlock = 0; keyBlock < this.keyBlocks; keyBlock++) {
            const keyStart = keyBlock * this.blockSize;
            const keyEnd = Math.min(this.keyLength, keyStart + this.blockSize);
            const kind: BlockKind = analyze
              ? this.classify(batch, group, queryStart, queryEnd, keyStart, keyEnd)
              : "partial";
            this.kinds[row * this.keyBlocks + keyBlock] = KIND_CODE[kind];
            if (kind === "full") full.push(keyBlock);
            else if (kind === "partial") partial.push(keyBlock);
          }
          row++;
          this.fullOffsets[row] = full.length;
          this.partialOffsets[row] = partial.length;
        }
      }
    }
    this.fullIndices = Int32Array.from(full);
    this.partialIndices = Int32Array.from(partial);
  }

  private classify(
    batch: number,
    head: number,
    queryStart: number,
    queryEnd: number,
    keyStart: number,
    keyEnd: number,
  ): BlockKind {
    const classify = this.strategy.classifyBlock;
    if (classify) return classify(batch, head, queryStart, queryEnd, keyStart, keyEnd);
    // Fallback: evaluate the mask in the block, stopping as soon as both answers were seen.
    const maskMod = this.strategy.maskMod;
    let seenTrue = false;
    let seenFalse = false;
    for (let query = queryStart; query < queryEnd; query++) {
      for (let key = keyStart; key < keyEnd; key++) {
        if (maskMod(batch, head, query, key)) seenTrue = true;
        else seenFalse = true;
        if (seenTrue && seenFalse) return "partial";
      }
    }
    return seenTrue ? "full" : "empty";
  }

  /** The head group holding a query head. */
  headGroup(head: number): number {
    return this.headGroups === 1 ? 0 : head;
  }

  private row(batch: number, head: number, queryBlock: number): number {
    return (batch * this.headGroups + this.headGroup(head)) * this.queryBlocks + queryBlock;
  }

  /** Key blocks attended in full (no mask evaluation) by a query block. */
  fullBlocks(batch: number, head: number, queryBlock: number): Int32Array {
    const row = this.row(batch, head, queryBlock);
    return this.fullIndices.subarray(this.fullOffsets[row], this.fullOffsets[row + 1]);
  }

  /** Key blocks where the mask must be evaluated per pair. */
  partialBlocks(batch: number, head: number, queryBlock: number): Int32Array {
    const row = this.row(batch, head, queryBlock);
    return this.partialIndices.subarray(this.partialOffsets[row], this.partialOffsets[row + 1]);
  }

  kind(batch: number, head: number, queryBlock: number, keyBlock: number): BlockKind {
    const code = this.kinds[this.row(batch, head, queryBlock) * this.keyBlocks + keyBlock];
    return code === 1 ? "full" : code === 2 ? "partial" : "empty";
  }

  /** How many blocks of each kind, over all rows and head groups. */
  counts(): { empty: number; full: number; partial: number } {
    const full = this.fullIndices.length;
    const partial = this.partialIndices.length;
    return { empty: this.kinds.length - full - partial, full, partial };
  }

  /** Whether query index `query` (0-based in this call) may attend key `key` (head `head`). */
  attends(batch: number, head: number, query: number, key: number): boolean {
    const kind = this.kind(batch, head, Math.floor(query / this.blockSize), Math.floor(key / this.blockSize));
    if (kind !== "partial") return kind === "full";
    return this.strategy.maskMod(batch, this.headGroup(head), this.queryOffset + query, key);
  }

  /** The mask as bytes (1 attend, 0 not), shaped [batch, headGroups, queryLength, keyLength]. O(T²): debug only. */
  toDense(): Uint8Array {
    const dense = new Uint8Array(this.batch * this.headGroups * this.queryLength * this.keyLength);
    let index = 0;
    for (let batch = 0; batch < this.batch; batch++) {
      for (let group = 0; group < this.headGroups; group++) {
        for (let query = 0; query < this.queryLength; query++) {
          for (let key = 0; key < this.keyLength; key++)
            dense[index++] = this.attends(batch, group, query, key) ? 1 : 0;
        }
      }
    }
    return dense;
  }

  /**
   * A text picture of one (batch, head): one row per query, one column per key — "█" attended, "·" not; or
   * with `blocks: true` one character per block — "█" full, "▒" partial, "·" empty.
   */
  renderText(options: { batch?: number; head?: number; blocks?: boolean } = {}): string {
    const batch = options.batch ?? 0;
    const head = options.head ?? 0;
    const lines: string[] = [];
    if (options.blocks) {
      for (let queryBlock = 0; queryBlock < this.queryBlocks; queryBlock++) {
        let line = "";
        for (let keyBlock = 0; keyBlock < this.keyBlocks; keyBlock++) {
          const kind = this.kind(batch, head, queryBlock, keyBlock);
          line += kind === "full" ? "█" : kind === "partial" ? "▒" : "·";
        }
        lines.push(line);
      }
    } else {
      for (let query = 0; query < this.queryLength; query++) {
        let line = "";
        for (let key = 0; key < this.keyLength; key++) line += this.attends(batch, head, query, key) ? "█" : "·";
        lines.push(line);
      }
    }
    return lines.join("\n");
  }

  /**
   * An SVG picture of one (batch, head): attended pairs in full blocks dark blue, attended pairs in partial
   * blocks orange, the rest white, with the block grid drawn over it.
   */
  renderSvg(options: { batch?: number; head?: number; cellSize?: number } = {}): string {
    const batch = options.batch ?? 0;
    const head = options.head ?? 0;
    const cell = options.cellSize ?? 8;
    const width = this.keyLength * cell;
    const height = this.queryLength * cell;
    const parts = [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
      `<title>${escapeXml(this.strategy.name)}</title>`,
      `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ];
    for (let query = 0; query < this.queryLength; query++) {
      for (let key = 0; key < this.keyLength; key++) {
        if (!this.attends(batch, head, query, key)) continue;
        const kind = this.kind(batch, head, Math.floor(query / this.blockSize), Math.floor(key / this.blockSize));
        const color = kind === "full" ? "#1f4e9c" : "#f28e2b";
        parts.push(`<rect x="${key * cell}" y="${query * cell}" width="${cell}" height="${cell}" fill="${color}"/>`);
      }
    }
    for (let keyBlock = 0; keyBlock <= this.keyBlocks; keyBlock++) {
      const x = Math.min(keyBlock * this.blockSize, this.keyLength) * cell;
      parts.push(`<line x1="${x}" y1="0" x2="${x}" y2="${height}" stroke="#999999" stroke-width="1"/>`);
    }
    for (let queryBlock = 0; queryBlock <= this.queryBlocks; queryBlock++) {
      const y = Math.min(queryBlock * this.blockSize, this.queryLength) * cell;
      parts.push(`<line x1="0" y1="${y}" x2="${width}" y2="${y}" stroke="#999999" stroke-width="1"/>`);
    }
    parts.push("</svg>");
    return parts.join("\n");
  }
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Compiles a strategy into a BlockMask for one attention call. */
/** Positions sampled per axis by `assertHeadIndependent`. */
const HEAD_PROBES = 16;

/**
 * A strategy without `perHead` is evaluated for head 0 only; if its mask does depend on the head, every other
 * head would silently get head 0's mask. Probes a grid of (query, key) pairs of this call for every head and
 * refuses a mask that differs from head 0's, naming the pair.
 */
function assertHeadIndependent(
  strategy: AttentionStrategy,
  mask: Pick<BlockMask, "batch" | "heads" | "queryLength" | "keyLength" | "queryOffset">,
): void {
  const samples = (start: number, length: number) =>
    Array.from(
      new Set(
        Array.from(
          { length: Math.min(length, HEAD_PROBES) },
          (_, index) => start + Math.floor((index * length) / Math.min(length, HEAD_PROBES)),
        ),
      ),
    );
  const queries = samples(mask.queryOffset, mask.queryLength);
  const keys = samples(0, mask.keyLength);
  for (const batch of new Set([0, mask.batch - 1])) {
    for (const query of queries) {
      for (const key of keys) {
        const first = strategy.maskMod(batch, 0, query, key);
        for (let head = 1; head < mask.heads; head++) {
          if (strategy.maskMod(batch, head, query, key) !== first) {
            throw new Error(
              `[BlockMask] strategy "${strategy.name}" gives head ${head} a different mask than head 0 (batch row ${batch}, query ${query}, key ${key}) but does not declare perHead: true, so every head would get head 0's mask; set perHead: true on the strategy`,
            );
          }
        }
      }
    }
  }
}

export function createBlockMask(strategy: StrategyLike, options: BlockMaskOptions): BlockMask {
  return new BlockMask(strategy, options);
}
