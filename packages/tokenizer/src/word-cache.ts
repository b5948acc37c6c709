/**
 * The encoder's word cache: pre-tokenized piece → its token ids, looked up by a range of the input text so
 * a hit allocates nothing (no substring, no Map entry). Open addressing over parallel arrays; when half
 * full it starts over, which keeps memory bounded and, on real text, keeps the frequent words (they come
 * straight back). Not an LRU: eviction is all at once.
 */

export class WordCache {
  private readonly mask: number;
  private readonly limit: number;
  private keys: (string | undefined)[];
  private values: (number[] | undefined)[];
  private hashes: Int32Array;
  private count = 0;

  /** `capacity` slots, a power of two; at most half of them are filled. */
  constructor(capacity = 1 << 17) {
    this.mask = capacity - 1;
    this.limit = capacity >> 1;
    this.keys = new Array(capacity);
    this.values = new Array(capacity);
    this.hashes = new Int32Array(capacity);
  }

  private static hash(text: string, start: number, end: number): number {
    let hash = 0x811c9dc5;
    for (let index = start; index < end; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
    return hash | 0;
  }

  /** The ids cached for `text[start, end)`, or undefined. */
  get(text: string, start: number, end: number): number[] | undefined {
    const hash = WordCache.hash(text, start, end);
    const length = end - start;
    let slot = hash & this.mask;
    for (;;) {
      const key = this.keys[slot];
      if (key === undefined) return undefined;
      if (this.hashes[slot] === hash && key.length === length && sameText(key, text, start)) return this.values[slot];
      slot = (slot + 1) & this.mask;
    }
  }

  set(text: string, start: number, end: number, ids: number[]): void {
    if (this.count >= this.limit) this.clear();
    const hash = WordCache.hash(text, start, end);
    let slot = hash & this.mask;
    while (this.keys[slot] !== undefined) slot = (slot + 1) & this.mask;
    this.keys[slot] = text.slice(start, end);
    this.values[slot] = ids;
    this.hashes[slot] = hash;
    this.count++;
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    const capacity = this.mask + 1;
    this.keys = new Array(capacity);
    this.values = new Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.count = 0;
  }
}

function sameText(key: string, text: string, start: number): boolean {
  for (let index = 0; index < key.length; index++) {
    if (key.charCodeAt(index) !== text.charCodeAt(start + index)) return false;
  }
  return true;
}
