/**
 * GPT-2's byte ↔ character table: every byte 0..255 gets one printable character, so a byte-level BPE
 * vocabulary can be stored as strings (`Ġ` is byte 0x20, `Ċ` is 0x0A). Also a UTF-8 encoder that writes into
 * a reusable buffer. Not a text codec for general use: lone surrogates become U+FFFD (EF BF BD), exactly as
 * `TextEncoder` does.
 */

/** `BYTE_TO_CHAR[b]` is the one-character string that stands for byte `b` in the vocabulary. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Code point of a vocabulary character → the byte it stands for, or -1. Indexed by code point (< 512). */
export const CHAR_TO_BYTE: Int16Array = buildCharToByte();

function buildByteToChar(): string[] {
  const table: string[] = new Array(256);
  const printable = (byte: number) =>
    (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    table[byte] = String.fromCharCode(printable(byte) ? byte : next++);
  }
  return table;
}

function buildCharToByte(): Int16Array {
  const table = new Int16Array(512).fill(-1);
  for (let byte = 0; byte < 256; byte++) table[(BYTE_TO_CHAR[byte] as string).charCodeAt(0)] = byte;
  return table;
}

/** The byte-level form of a string: its UTF-8 bytes, each replaced by its table character. */
export function toByteLevel(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let out = "";
  for (const byte of bytes) out += BYTE_TO_CHAR[byte];
  return out;
}

/**
 * The bytes a vocabulary string stands for. Like the Hugging Face ByteLevel decoder, a token with any
 * character outside the byte table (e.g. an added token written in plain text) contributes its own UTF-8.
 */
export function tokenToBytes(token: string): Uint8Array {
  const bytes = new Uint8Array(token.length);
  for (let index = 0; index < token.length; index++) {
    const code = token.charCodeAt(index);
    const byte = code < 512 ? (CHAR_TO_BYTE[code] as number) : -1;
    if (byte < 0) return new TextEncoder().encode(token);
    bytes[index] = byte;
  }
  return bytes;
}

/**
 * Writes the UTF-8 bytes of `text[start, end)` into `out` (which must hold 3 bytes per UTF-16 unit) and
 * returns how many were written. Lone surrogates are written as U+FFFD.
 */
export function writeUtf8(text: string, start: number, end: number, out: Uint8Array): number {
  let length = 0;
  for (let index = start; index < end; index++) {
    let code = text.charCodeAt(index);
    if (code < 0x80) {
      out[length++] = code;
      continue;
    }
    if (code < 0x800) {
      out[length++] = 0xc0 | (code >> 6);
      out[length++] = 0x80 | (code & 0x3f);
      continue;
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const low = index + 1 < end ? text.charCodeAt(index + 1) : 0;
      if (code <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        index++;
        out[length++] = 0xf0 | (code >> 18);
        out[length++] = 0x80 | ((code >> 12) & 0x3f);
        out[length++] = 0x80 | ((code >> 6) & 0x3f);
        out[length++] = 0x80 | (code & 0x3f);
        continue;
      }
      code = 0xfffd;
    }
    out[length++] = 0xe0 | (code >> 12);
    out[length++] = 0x80 | ((code >> 6) & 0x3f);
    out[length++] = 0x80 | (code & 0x3f);
  }
  return length;
}
