/**
 * The character classes the GPT-2 split pattern needs — letter (`\p{L}`), number (`\p{N}`), whitespace
 * (Unicode White_Space, which is what `\s` means in the Rust/Oniguruma engines that Hugging Face tokenizers
 * use; JavaScript's `\s` also counts U+FEFF, which is why this is not a JS regex) and everything else.
 * A lookup table covers the BMP; astral code points are classified on first sight and remembered.
 * Not a Unicode database: the classes come from the running engine's `\p{…}` support.
 */

export const OTHER = 0;
export const LETTER = 1;
export const NUMBER = 2;
export const WHITESPACE = 3;
export type CharacterClass = typeof OTHER | typeof LETTER | typeof NUMBER | typeof WHITESPACE;

/** Unicode White_Space: U+0009–000D, 0020, 0085, 00A0, 1680, 2000–200A, 2028, 2029, 202F, 205F, 3000. */
export function isWhiteSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  return (
    code === 0x85 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}
let bmp: Uint8Array | null = null;
const astral = new Map<number, CharacterClass>();

function classifySlow(codePoint: number): CharacterClass {
  const character = String.fromCodePoint(codePoint);
  if (/\p{L}/u.test(character)) return LETTER;
  if (/\p{N}/u.test(character)) return NUMBER;
  return OTHER; // every White_Space character is in the BMP
}

function buildBmpTable(): Uint8Array {
  const table = new Uint8Array(0x10000);
  // One string with every BMP code point except surrogates, scanned once per class: much faster than
  // testing 65,536 one-character strings.
  const parts: string[] = [];
  for (let start = 0; start < 0x10000; start += 0x1000) {
    const codes: number[] = [];
    for (let code = start; code < start + 0x1000; code++) codes.push(code >= 0xd800 && code <= 0xdfff ? 0x20 : code);
    parts.push(String.fromCharCode(...codes));
  }
  const all = parts.join("");
  const mark = (pattern: RegExp, value: CharacterClass) => {
    for (const match of all.matchAll(pattern)) {
      const end = (match.index as number) + match[0].length;
      for (let code = match.index as number; code < end; code++) table[code] = value;
    }
  };
  mark(/\p{L}+/gu, LETTER);
  mark(/\p{N}+/gu, NUMBER);
  for (let code = 0; code < 0x3001; code++) if (isWhiteSpace(code)) table[code] = WHITESPACE;
  for (let code = 0xd800; code <= 0xdfff; code++) table[code] = OTHER;
  return table;
}

/** The BMP class table (built on first use). Index by UTF-16 code unit < 0x10000; surrogates are OTHER. */
export function bmpClasses(): Uint8Array {
  if (bmp === null) bmp = buildBmpTable();
  return bmp;
}

/** Class of any code point. Lone surrogates are OTHER (they are encoded as U+FFFD, itself OTHER). */
export function classOf(codePoint: number): CharacterClass {
  if (codePoint < 0x10000) return bmpClasses()[codePoint] as CharacterClass;
  let value = astral.get(codePoint);
  if (value === undefined) {
    value = classifySlow(codePoint);
    astral.set(codePoint, value);
  }
  return value;
}
