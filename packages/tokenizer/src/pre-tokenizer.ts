/**
 * The GPT-2 split pattern of the ByteLevel pre-tokenizer, as a hand-written scanner:
 *
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * It walks UTF-16 code units with one table lookup per character and reports pieces as index ranges, so no
 * substring or match object is made per piece. Leftmost-first alternation and the one-character backtrack
 * of `\s+(?!\S)` are reproduced exactly. Not a general regex engine, and not the byte mapping (see
 * byte-level.ts).
 */
import { bmpClasses, classOf, LETTER, NUMBER, OTHER, WHITESPACE } from "./unicode-classes.js";

const APOSTROPHE = 0x27;
const SPACE = 0x20;

/** Calls `onPiece(start, end)` for each piece of `text[start, end)`, in order; the pieces tile the range. */
export function splitGpt2(
  text: string,
  start: number,
  end: number,
  onPiece: (pieceStart: number, pieceEnd: number) => void,
): void {
  const table = bmpClasses();
  // Class of the character at `index` and its width in code units (2 for a surrogate pair).
  let width = 1;
  const classAt = (index: number): number => {
    const code = text.charCodeAt(index);
    if (code < 0xd800 || code > 0xdbff) {
      width = 1;
      return table[code] as number;
    }
    const low = index + 1 < end ? text.charCodeAt(index + 1) : 0;
    if (low < 0xdc00 || low > 0xdfff) {
      width = 1;
      return OTHER; // a lone high surrogate
    }
    width = 2;
    return classOf(0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00));
  };
  // End of the run of characters of class `wanted` starting at `index`.
  const runEnd = (index: number, wanted: number): number => {
    let position = index;
    while (position < end) {
      const code = text.charCodeAt(position);
      if (code < 0xd800 || code > 0xdbff) {
        if (table[code] !== wanted) break;
        position++;
      } else {
        if (classAt(position) !== wanted) break;
        position += width;
      }
    }
    return position;
  };

  let index = start;
  while (index < end) {
    const code = text.charCodeAt(index);
    if (code === APOSTROPHE && index + 1 < end) {
      const next = text.charCodeAt(index + 1);
      // 's 't 'm 'd
      if (next === 0x73 || next === 0x74 || next === 0x6d || next === 0x64) {
        onPiece(index, index + 2);
        index += 2;
        continue;
      }
      if (index + 2 < end) {
        const after = text.charCodeAt(index + 2);
        // 're 've 'll
        if ((after === 0x65 && (next === 0x72 || next === 0x76)) || (next === 0x6c && after === 0x6c)) {
          onPiece(index, index + 3);
          index += 3;
          continue;
        }
      }
    }
    // ` ?X+` for X in letter, number, other: the optional space is taken only when X follows it.
    let body = index;
    let bodyClass = classAt(index);
    if (code === SPACE && index + 1 < end) {
      const followingClass = classAt(index + 1);
      if (followingClass !== WHITESPACE) {
        body = index + 1;
        bodyClass = followingClass;
      }
    }
    if (bodyClass === LETTER || bodyClass === NUMBER || bodyClass === OTHER) {
      const pieceEnd = runEnd(body, bodyClass);
      onPiece(index, pieceEnd);
      index = pieceEnd;
      continue;
    }
    // Whitespace (all of it is in the BMP, one code unit per character).
    const spaceEnd = runEnd(index, WHITESPACE);
    if (spaceEnd === end || spaceEnd - index === 1) {
      // `\s+(?!\S)` to the end of the text, or the lone `\s+` before a non-space.
      onPiece(index, spaceEnd);
      index = spaceEnd;
    } else {
      // `\s+(?!\S)` backtracks one character so the last space can lead the next piece.
      onPiece(index, spaceEnd - 1);
      index = spaceEnd - 1;
    }
  }
}
