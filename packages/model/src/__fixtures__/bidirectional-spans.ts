/**
 * A user-written attention strategy, as it would sit in a user's own package: only @minimind/attention's
 * exported types. Tokens inside a listed span [start, end) see each other both ways; every other pair is
 * causal. Cache-consistent: a chunk may end anywhere except strictly inside a span.
 */
import type { AttentionStrategy, BlockKind } from "@minimind/attention";

export function bidirectionalSpans(spans: readonly (readonly [number, number])[]): AttentionStrategy {
  const spanOf = (position: number) => spans.findIndex(([start, end]) => position >= start && position < end);
  const attends = (query: number, key: number) =>
    key <= query || (spanOf(query) !== -1 && spanOf(query) === spanOf(key));
  return {
    name: `bidirectionalSpans(${spans.map(([start, end]) => `${start}-${end}`).join(",")})`,
    maskMod: (_batch, _head, query, key) => attends(query, key),
    classifyBlock: (_batch, _head, queryStart, queryEnd, keyStart, keyEnd): BlockKind => {
      if (keyEnd - 1 <= queryStart) return "full"; // every key at or before every query
      const reachesAhead = spans.some(([start, end]) => start < queryEnd && end > keyStart && end - 1 > queryStart);
      return keyStart > queryEnd - 1 && !reachesAhead ? "empty" : "partial";
    },
    chunkBoundaries: (_batch, length) => {
      const cuts: number[] = [];
      for (let position = 1; position < length; position++) {
        if (!spans.some(([start, end]) => position > start && position < end)) cuts.push(position);
      }
      return cuts;
    },
  };
}
