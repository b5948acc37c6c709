/**
 * The deterministic held-out split: a work is held out when the SHA-256 of (seed, title, author) — or of its
 * text when it has neither — falls below the held-out share. Every question about a work lands on the same
 * side as the work, so no poem is in both; the split does not depend on file order, on the other works, or on
 * the machine. Not here: what is built from each side (build.ts).
 */
import { createHash } from "node:crypto";

/** A number in [0, 1) drawn from the SHA-256 of `parts` joined by NUL: the same on every machine. */
export function stableFraction(...parts: string[]): number {
  const digest = createHash("sha256").update(parts.join("\u0000")).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

/** The identity a split decision is made on: title and author, or the text when both are empty. */
export function workIdentity(work: { title: string; author: string; lines: readonly string[] }): string {
  return work.title === "" && work.author === ""
    ? `text\u0000${work.lines.join("\n")}`
    : `${work.title}\u0000${work.author}`;
}

export interface SplitOptions {
  /** Share of works held out, in [0, 1). */
  heldOutShare: number;
  /** Different seeds give different (equally deterministic) splits. */
  seed: string;
}

export function isHeldOut(identity: string, { heldOutShare, seed }: SplitOptions): boolean {
  return stableFraction(seed, "split", identity) < heldOutShare;
}

/** Splits items by identity, keeping their order within each side. */
export function splitBy<Item>(
  items: readonly Item[],
  identityOf: (item: Item) => string,
  options: SplitOptions,
): { train: Item[]; heldOut: Item[] } {
  const train: Item[] = [];
  const heldOut: Item[] = [];
  for (const item of items) (isHeldOut(identityOf(item), options) ? heldOut : train).push(item);
  return { train, heldOut };
}

/** At most `count` items, a deterministic sample spread over the input (by hash order), in input order. */
export function sample<Item>(items: readonly Item[], count: number, identityOf: (item: Item) => string, seed: string) {
  if (count >= items.length) return [...items];
  const ranked = items.map((item, index) => ({ index, rank: stableFraction(seed, "sample", identityOf(item)) }));
  ranked.sort((a, b) => a.rank - b.rank || a.index - b.index);
  const kept = new Set(ranked.slice(0, count).map((entry) => entry.index));
  return items.filter((_, index) => kept.has(index));
}
