/**
 * The BPE model: a merge table keyed by integer token pairs and the word-merging loop, with the Hugging
 * Face semantics (always apply the lowest-rank merge present; among equal ranks the leftmost). Two
 * implementations of the loop give identical results: a linear scan over typed arrays for the short words
 * that make up almost all text, and a heap over a linked list for long words, where the scan would be
 * quadratic. Not the pre-tokenizer and not the vocabulary strings: it sees token ids only.
 */

/** Open-addressing hash table from a token pair (left, right) to its merge rank and merged token id. */
export class MergeTable {
  readonly size: number;
  private readonly mask: number;
  private readonly lefts: Int32Array;
  private readonly rights: Int32Array;
  private readonly ranks: Int32Array;
  private readonly merged: Int32Array;

  constructor(merges: ReadonlyArray<readonly [left: number, right: number, result: number]>) {
    let capacity = 16;
    while (capacity < merges.length * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.lefts = new Int32Array(capacity).fill(-1);
    this.rights = new Int32Array(capacity);
    this.ranks = new Int32Array(capacity);
    this.merged = new Int32Array(capacity);
    let size = 0;
    merges.forEach(([left, right, result], rank) => {
      let slot = this.slotOf(left, right);
      while (this.lefts[slot] !== -1) {
        // A repeated pair takes its last rank and result, as Hugging Face's pair → rank map does when it
        // reads merges (later entries overwrite earlier ones).
        if (this.lefts[slot] === left && this.rights[slot] === right) {
          this.ranks[slot] = rank;
          this.merged[slot] = result;
          return;
        }
        slot = (slot + 1) & this.mask;
      }
      this.lefts[slot] = left;
      this.rights[slot] = right;
      this.ranks[slot] = rank;
      this.merged[slot] = result;
      size++;
    });
    this.size = size;
  }

  private slotOf(left: number, right: number): number {
    return (Math.imul(left, 0x9e3779b1) ^ Math.imul(right + 0x7f4a7c15, 0x85ebca77)) & this.mask;
  }

  /** Slot of the pair, or -1 when the pair has no merge. */
  find(left: number, right: number): number {
    let slot = this.slotOf(left, right);
    for (;;) {
      const stored = this.lefts[slot] as number;
      if (stored === -1) return -1;
      if (stored === left && this.rights[slot] === right) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Rank of the pair, or `NO_MERGE`. */
  rank(left: number, right: number): number {
    const slot = this.find(left, right);
    return slot < 0 ? NO_MERGE : (this.ranks[slot] as number);
  }

  rankAt(slot: number): number {
    return this.ranks[slot] as number;
  }

  mergedAt(slot: number): number {
    return this.merged[slot] as number;
  }
}

export const NO_MERGE = 0x7fffffff;

/** Words up to this many symbols use the scan; longer ones the heap. */
export const SCAN_LIMIT = 96;

/**
 * Merges `symbols[0, length)` in place by the table's ranks with a linear scan per merge; returns the new
 * length. `ranks` is scratch space of at least `length` entries.
 */
export function mergeWordByScan(table: MergeTable, symbols: Int32Array, length: number, ranks: Int32Array): number {
  // ranks[i] is the rank of the pair (symbols[i], symbols[i+1]); the merged id is looked up only for the
  // pair that wins, so each merge costs one scan and three hash lookups.
  let count = length;
  for (let index = 0; index + 1 < count; index++) {
    ranks[index] = table.rank(symbols[index] as number, symbols[index + 1] as number);
  }
  while (count > 1) {
    let best = NO_MERGE;
    let at = -1;
    for (let index = 0; index + 1 < count; index++) {
      const rank = ranks[index] as number;
      if (rank < best) {
        best = rank;
        at = index;
      }
    }
    if (at < 0) break;
    const merged = table.mergedAt(table.find(symbols[at] as number, symbols[at + 1] as number));
    symbols[at] = merged;
    // Remove symbol at+1 and the pair rank that started there.
    for (let index = at + 1; index + 1 < count; index++) symbols[index] = symbols[index + 1] as number;
    for (let index = at + 1; index + 2 < count; index++) ranks[index] = ranks[index + 1] as number;
    count--;
    if (at > 0) ranks[at - 1] = table.rank(symbols[at - 1] as number, merged);
    if (at + 1 < count) ranks[at] = table.rank(merged, symbols[at + 1] as number);
  }
  return count;
}

/**
 * The same merge order with a binary heap of (rank, position) over a doubly linked list: O(n log n) for
 * long words. Returns the new length; `symbols` is compacted in place.
 */
export function mergeWordByHeap(table: MergeTable, symbols: Int32Array, length: number): number {
  const next = new Int32Array(length);
  const previous = new Int32Array(length);
  const alive = new Uint8Array(length).fill(1);
  for (let index = 0; index < length; index++) {
    next[index] = index + 1 < length ? index + 1 : -1;
    previous[index] = index - 1;
  }
  // Heap entries packed as rank * 2^21 + position would overflow; keep two parallel arrays instead.
  let heapRanks = new Int32Array(Math.max(16, length * 2));
  let heapPositions = new Int32Array(heapRanks.length);
  let heapSize = 0;
  const less = (a: number, b: number) =>
    (heapRanks[a] as number) < (heapRanks[b] as number) ||
    (heapRanks[a] === heapRanks[b] && (heapPositions[a] as number) < (heapPositions[b] as number));
  const swap = (a: number, b: number) => {
    const rank = heapRanks[a] as number;
    heapRanks[a] = heapRanks[b] as number;
    heapRanks[b] = rank;
    const position = heapPositions[a] as number;
    heapPositions[a] = heapPositions[b] as number;
    heapPositions[b] = position;
  };
  const push = (rank: number, position: number) => {
    if (heapSize === heapRanks.length) {
      const grownRanks = new Int32Array(heapSize * 2);
      grownRanks.set(heapRanks);
      heapRanks = grownRanks;
      const grownPositions = new Int32Array(heapSize * 2);
      grownPositions.set(heapPositions);
      heapPositions = grownPositions;
    }
    heapRanks[heapSize] = rank;
    heapPositions[heapSize] = position;
    let child = heapSize++;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!less(child, parent)) break;
      swap(child, parent);
      child = parent;
    }
  };
  const pop = () => {
    heapSize--;
    swap(0, heapSize);
    let parent = 0;
    for (;;) {
      const left = parent * 2 + 1;
      if (left >= heapSize) break;
      const right = left + 1;
      const smaller = right < heapSize && less(right, left) ? right : left;
      if (!less(smaller, parent)) break;
      swap(smaller, parent);
      parent = smaller;
    }
  };
  for (let index = 0; index + 1 < length; index++) {
    const rank = table.rank(symbols[index] as number, symbols[index + 1] as number);
    if (rank !== NO_MERGE) push(rank, index);
  }
  while (heapSize > 0) {
    const rank = heapRanks[0] as number;
    const position = heapPositions[0] as number;
    pop();
    if (alive[position] === 0) continue;
    const right = next[position] as number;
    if (right < 0) continue;
    // Stale entry: the pair at this position changed since it was pushed.
    if (table.rank(symbols[position] as number, symbols[right] as number) !== rank) continue;
    const slot = table.find(symbols[position] as number, symbols[right] as number);
    symbols[position] = table.mergedAt(slot);
    alive[right] = 0;
    const afterRight = next[right] as number;
    next[position] = afterRight;
    if (afterRight >= 0) previous[afterRight] = position;
    const before = previous[position] as number;
    if (before >= 0) {
      const beforeRank = table.rank(symbols[before] as number, symbols[position] as number);
      if (beforeRank !== NO_MERGE) push(beforeRank, before);
    }
    if (afterRight >= 0) {
      const afterRank = table.rank(symbols[position] as number, symbols[afterRight] as number);
      if (afterRank !== NO_MERGE) push(afterRank, position);
    }
  }
  let count = 0;
  for (let index = 0; index >= 0 && index < length; index = next[index] as number) {
    symbols[count++] = symbols[index] as number;
  }
  return count;
}
