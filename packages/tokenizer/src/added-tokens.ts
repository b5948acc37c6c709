/**
 * Finds added tokens (`<|im_start|>`, `<think>`, …) in text before any other processing, as Hugging Face
 * does: leftmost-longest matching, then the `single_word`, `lstrip` and `rstrip` options. A trie over UTF-16
 * code units with a first-character filter keeps plain text cheap. Not the BPE: the text between matches
 * goes on to the pre-tokenizer.
 */
import type { AddedToken } from "./tokenizer-json.js";
import { isWhiteSpace } from "./unicode-classes.js";

interface TrieNode {
  children: Map<number, TrieNode>;
  token: AddedToken | null;
}

/** One match: the token and the text range it covers (widened by lstrip/rstrip). */
export interface AddedTokenMatch {
  token: AddedToken;
  start: number;
  end: number;
}

const WORD = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;

export class AddedTokenMatcher {
  private readonly root: TrieNode = { children: new Map(), token: null };
  private readonly firstUnits = new Uint8Array(0x10000);
  readonly isEmpty: boolean;

  constructor(tokens: readonly AddedToken[]) {
    for (const token of tokens) {
      let node = this.root;
      for (let index = 0; index < token.content.length; index++) {
        const unit = token.content.charCodeAt(index);
        let child = node.children.get(unit);
        if (child === undefined) {
          child = { children: new Map(), token: null };
          node.children.set(unit, child);
        }
        node = child;
      }
      node.token = token;
      this.firstUnits[token.content.charCodeAt(0)] = 1;
    }
    this.isEmpty = tokens.length === 0;
  }

  /** The longest token starting at `index`, or null. */
  private longestAt(text: string, index: number, end: number): AddedToken | null {
    let node: TrieNode | undefined = this.root;
    let found: AddedToken | null = null;
    for (let position = index; position < end; position++) {
      node = node.children.get(text.charCodeAt(position));
      if (node === undefined) break;
      if (node.token !== null) found = node.token;
    }
    return found;
  }

  /** Matches in `text[start, end)`, left to right, non-overlapping. */
  find(text: string, start: number, end: number): AddedTokenMatch[] {
    const matches: AddedTokenMatch[] = [];
    if (this.isEmpty) return matches;
    let previousEnd = start;
    let index = start;
    while (index < end) {
      if (this.firstUnits[text.charCodeAt(index)] === 0) {
        index++;
        continue;
      }
      const token = this.longestAt(text, index, end);
      if (token === null) {
        index++;
        continue;
      }
      let matchStart = index;
      let matchEnd = index + token.content.length;
      if (token.singleWord) {
        const before = matchStart > start ? lastCharacter(text, matchStart) : "";
        const after = matchEnd < end ? String.fromCodePoint(text.codePointAt(matchEnd) as number) : "";
        if ((before !== "" && WORD.test(before)) || (after !== "" && WORD.test(after))) {
          index = matchEnd; // the discarded match is consumed, as Aho-Corasick iteration does
          continue;
        }
      }
      if (token.leftStrip) {
        while (matchStart > previousEnd && isWhiteSpace(text.charCodeAt(matchStart - 1))) matchStart--;
      }
      if (token.rightStrip) {
        while (matchEnd < end && isWhiteSpace(text.charCodeAt(matchEnd))) matchEnd++;
      }
      matches.push({ token, start: matchStart, end: matchEnd });
      previousEnd = matchEnd;
      index = matchEnd;
    }
    return matches;
  }
}

function lastCharacter(text: string, end: number): string {
  const low = text.charCodeAt(end - 1);
  if (low >= 0xdc00 && low <= 0xdfff && end >= 2) {
    const high = text.charCodeAt(end - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.slice(end - 2, end);
  }
  return text.slice(end - 1, end);
}
