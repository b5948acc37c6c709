/**
 * Draws an attention mask (queries down, keys across) for people: in the terminal with block characters
 * (█ attends, · masked; on a TTY colored by the key's role) and as a standalone SVG with the token texts and
 * role bands along both axes. Input is the mask evaluated for one batch row and head as rows of booleans.
 * Not here: choosing the strategy (strategy.ts) or evaluating it over blocks (the BlockMask does that).
 */
import type { Colors } from "../terminal/colors.js";

export interface MaskPicture {
  strategyName: string;
  /** One text per token, as shown on the axes. */
  tokens: readonly string[];
  /** One role per token (system, user, assistant, tool, template), or undefined without a chat. */
  roles?: readonly string[];
  /** rows[query][key]: may the query attend the key? */
  rows: readonly (readonly boolean[])[];
}

/** Evaluates a mask mod over a length × length grid for batch row 0 and head 0. */
export function evaluateMask(
  maskMod: (batch: number, head: number, query: number, key: number) => boolean,
  length: number,
): boolean[][] {
  return Array.from({ length }, (_, query) => Array.from({ length }, (_, key) => maskMod(0, 0, query, key)));
}

/** A token as one short, printable label: whitespace and control characters made visible. */
export function tokenLabel(text: string): string {
  return text
    .replace(/\n/g, "↵")
    .replace(/\t/g, "→")
    .replace(/ /g, "␣")
    .replace(/\p{Cc}/gu, "�");
}

/** Terminal columns a character takes: 2 for East Asian wide characters (CJK, fullwidth forms), else 1. */
function characterWidth(character: string): number {
  const code = character.codePointAt(0) ?? 0;
  const wide =
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x20000 && code <= 0x3fffd);
  return wide ? 2 : 1;
}

/** `text` cut and padded to exactly `width` terminal columns. */
export function fitWidth(text: string, width: number): string {
  let result = "";
  let used = 0;
  for (const character of text) {
    const size = characterWidth(character);
    if (used + size > width) break;
    result += character;
    used += size;
  }
  return result + " ".repeat(width - used);
}

const roleLetters: Record<string, string> = { system: "S", user: "U", assistant: "A", tool: "T", template: "·" };

function roleColor(colors: Colors, role: string | undefined): (text: string) => string {
  switch (role) {
    case "system":
      return colors.yellow;
    case "user":
      return colors.cyan;
    case "assistant":
      return colors.green;
    case "tool":
      return colors.red;
    default:
      return (text) => text;
  }
}

/**
 * The mask as terminal text: one row per query with its index, role letter and token, then one character per
 * key. At most `maxTokens` tokens are drawn (the caller says how many were left out).
 */
export function renderTerminal(picture: MaskPicture, colors: Colors, maxTokens: number): string {
  const shown = Math.min(picture.tokens.length, maxTokens);
  const indexWidth = String(Math.max(0, shown - 1)).length;
  const labels = picture.tokens.slice(0, shown).map((token) => fitWidth(tokenLabel(token), 6));
  const lines: string[] = [];
  const tens = Array.from({ length: shown }, (_, key) => (key % 10 === 0 ? String((key / 10) % 10) : " ")).join("");
  const units = Array.from({ length: shown }, (_, key) => String(key % 10)).join("");
  const pad = " ".repeat(indexWidth + 1 + 2 + 7);
  lines.push(`${pad}${colors.dim(tens)}`, `${pad}${colors.dim(units)}`);
  for (let query = 0; query < shown; query++) {
    const role = picture.roles?.[query];
    const head = `${String(query).padStart(indexWidth)} ${roleLetters[role ?? ""] ?? " "} ${labels[query]} `;
    let cells = "";
    const row = picture.rows[query] ?? [];
    for (let key = 0; key < shown; key++) {
      cells += row[key] ? roleColor(colors, picture.roles?.[key])("█") : colors.dim("·");
    }
    lines.push(`${head}${cells}`);
  }
  return `${lines.join("\n")}\n`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

const svgRoleFill: Record<string, string> = {
  system: "#b8860b",
  user: "#1f77b4",
  assistant: "#2ca02c",
  tool: "#d62728",
  template: "#7f7f7f",
};

/** The mask as a standalone SVG document. */
export function renderSvg(picture: MaskPicture): string {
  const length = picture.tokens.length;
  const cell = length <= 96 ? 14 : length <= 256 ? 6 : 3;
  const labelSpace = cell >= 10 ? 90 : 20;
  const band = 6;
  const origin = labelSpace + band + 4;
  const size = origin + length * cell + 10;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size + 24}" viewBox="0 0 ${size} ${size + 24}" font-family="sans-serif">`,
    `<title>${escapeXml(picture.strategyName)} attention mask, ${length} tokens</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${origin}" y="${size + 16}" font-size="12">${escapeXml(picture.strategyName)} — rows: queries, columns: keys; filled: attends</text>`,
  ];
  for (let index = 0; index < length; index++) {
    const fill = svgRoleFill[picture.roles?.[index] ?? ""] ?? "#444444";
    const offset = origin + index * cell;
    parts.push(
      `<rect x="${labelSpace}" y="${offset}" width="${band}" height="${cell}" fill="${fill}"/>`,
      `<rect x="${offset}" y="${labelSpace}" width="${cell}" height="${band}" fill="${fill}"/>`,
    );
    if (cell >= 10) {
      const label = escapeXml([...tokenLabel(picture.tokens[index] ?? "")].slice(0, 10).join(""));
      const middle = offset + cell / 2 + 4;
      parts.push(
        `<text x="${labelSpace - 4}" y="${middle}" font-size="10" text-anchor="end">${label}</text>`,
        `<text transform="translate(${middle - 4},${labelSpace - 4}) rotate(-90)" font-size="10">${label}</text>`,
      );
    }
  }
  for (let query = 0; query < length; query++) {
    const row = picture.rows[query] ?? [];
    for (let key = 0; key < length; key++) {
      const fill = row[key] ? (svgRoleFill[picture.roles?.[key] ?? ""] ?? "#333333") : "#eeeeee";
      parts.push(
        `<rect x="${origin + key * cell}" y="${origin + query * cell}" width="${cell - 1}" height="${cell - 1}" fill="${fill}"/>`,
      );
    }
  }
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
