/**
 * SFT supervision from token ids: MiniMind's assistant-span labels and the per-token chat roles and turn
 * segments that attention-mask strategies use (per-turn bidirectional prompts, causal answers). Works on
 * ids alone, after the chat template has been rendered and encoded. Not a data loader: no padding, no
 * truncation, no batching.
 */

export const IGNORE_INDEX = -100;

/** Who a token belongs to. `template` marks chat markup (`<|im_start|>user\n`) and text outside any turn. */
export type SegmentRole = "system" | "user" | "tool" | "assistant" | "template";

/** Per-token annotations of one tokenized conversation; every array has one entry per token. */
export interface ChatSegments {
  /** MiniMind's SFT labels: the token id inside assistant spans, -100 elsewhere. */
  labels: number[];
  /** The role of each token's turn, or `template` for turn headers and text outside turns. */
  roles: SegmentRole[];
  /** Turn index of each token: 0, 0, …, 1, 1, …; a header belongs to its turn; non-decreasing. */
  segments: number[];
}

function startsAt(ids: readonly number[], at: number, pattern: readonly number[]): boolean {
  if (pattern.length === 0 || at + pattern.length > ids.length) return false;
  for (let offset = 0; offset < pattern.length; offset++) {
    if (ids[at + offset] !== pattern[offset]) return false;
  }
  return true;
}

/**
 * MiniMind's rule (`lm_dataset.py` `generate_labels`): after each occurrence of `assistantStart`
 * (`<|im_start|>assistant\n`), every token through the next `turnEnd` (`<|im_end|>\n`) inclusive keeps its
 * id; an unterminated span runs to the end. Everything else is -100.
 */
export function sftLabels(
  ids: readonly number[],
  assistantStart: readonly number[],
  turnEnd: readonly number[],
): number[] {
  const labels = new Array<number>(ids.length).fill(IGNORE_INDEX);
  let index = 0;
  while (index < ids.length) {
    if (!startsAt(ids, index, assistantStart)) {
      index++;
      continue;
    }
    const start = index + assistantStart.length;
    let end = start;
    while (end < ids.length && !startsAt(ids, end, turnEnd)) end++;
    const stop = Math.min(end + turnEnd.length, ids.length);
    for (let position = start; position < stop; position++) labels[position] = ids[position] as number;
    index = end < ids.length ? end + turnEnd.length : ids.length;
  }
  return labels;
}

export interface ChatMarkup {
  /** Id of the token that opens a turn (`<|im_start|>`). */
  turnStart: number;
  /** Ids that close a turn (`<|im_end|>\n`); the first one alone also closes it. */
  turnEndIds: readonly number[];
  assistantStartIds: readonly number[];
  decode: (ids: readonly number[]) => string;
}

const KNOWN_ROLES: Record<string, SegmentRole> = {
  system: "system",
  user: "user",
  assistant: "assistant",
  tool: "tool",
};

/** Longest header we look for a role name in: `<|im_start|>` + role + `\n`. */
const MAX_HEADER_TOKENS = 16;

/**
 * Splits a ChatML token sequence into turns. Roles come from the header; a `user` turn whose body starts
 * with `<tool_response>` is a `tool` turn (MiniMind's template renders tool results that way); an unknown
 * role name counts as `user`.
 */
export function chatSegments(ids: readonly number[], markup: ChatMarkup): ChatSegments {
  const roles = new Array<SegmentRole>(ids.length).fill("template");
  const segments = new Array<number>(ids.length).fill(0);
  const turnEnd = markup.turnEndIds[0];
  let segment = -1;
  let index = 0;
  let inOutside = false;
  while (index < ids.length) {
    if (ids[index] !== markup.turnStart) {
      // Text outside any turn is one template segment per stretch.
      if (!inOutside) segment++;
      inOutside = true;
      segments[index] = segment;
      index++;
      continue;
    }
    inOutside = false;
    segment++;
    // Header: the start token, the role name, up to and including the first newline.
    let headerEnd = index + 1;
    let roleName = "";
    for (let end = index + 1; end < Math.min(ids.length, index + 1 + MAX_HEADER_TOKENS); end++) {
      const decoded = markup.decode(ids.slice(index + 1, end + 1));
      const newline = decoded.indexOf("\n");
      if (newline >= 0) {
        roleName = decoded.slice(0, newline);
        headerEnd = end + 1;
        break;
      }
    }
    // Body and trailer: through the turn end (and the newline after it, when present).
    let bodyEnd = headerEnd;
    while (bodyEnd < ids.length && ids[bodyEnd] !== turnEnd && ids[bodyEnd] !== markup.turnStart) bodyEnd++;
    if (bodyEnd < ids.length && ids[bodyEnd] === turnEnd) {
      bodyEnd = startsAt(ids, bodyEnd, markup.turnEndIds) ? bodyEnd + markup.turnEndIds.length : bodyEnd + 1;
    }
    let role: SegmentRole = KNOWN_ROLES[roleName] ?? "user";
    if (role === "user" && markup.decode(ids.slice(headerEnd, headerEnd + 8)).startsWith("<tool_response>")) {
      role = "tool";
    }
    for (let position = index; position < bodyEnd; position++) {
      roles[position] = position < headerEnd ? "template" : role;
      segments[position] = segment;
    }
    index = bodyEnd;
  }
  return { labels: sftLabels(ids, markup.assistantStartIds, markup.turnEndIds), roles, segments };
}
