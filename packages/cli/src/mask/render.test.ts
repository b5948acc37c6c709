import { describe, expect, it } from "vitest";
import { createColors } from "../terminal/colors.js";
import { evaluateMask, fitWidth, renderSvg, renderTerminal, tokenLabel } from "./render.js";

const causalRows = evaluateMask((_b, _h, query, key) => key <= query, 3);

describe("evaluateMask", () => {
  it("evaluates the mask mod over queries × keys", () => {
    expect(causalRows).toEqual([
      [true, false, false],
      [true, true, false],
      [true, true, true],
    ]);
  });
});

describe("renderTerminal", () => {
  it("draws one row per query, █ where it attends", () => {
    const text = renderTerminal(
      { strategyName: "causal", tokens: ["a", "b", "c"], rows: causalRows },
      createColors(false),
      10,
    );
    const rows = text.split("\n").slice(2, 5);
    expect(rows.map((row) => row.slice(-3))).toEqual(["█··", "██·", "███"]);
    expect(rows[1]).toMatch(/^1 {3}b {6}/);
  });

  it("cuts at maxTokens and colors cells by the key's role on a TTY", () => {
    const picture = {
      strategyName: "x",
      tokens: ["a", "b", "c"],
      roles: ["user", "user", "assistant"],
      rows: causalRows,
    };
    const text = renderTerminal(picture, createColors(true), 2);
    expect(text).toContain("\u001b[36m█\u001b[39m"); // user keys in cyan
    expect(text.split("\n").filter((line) => line.includes("U "))).toHaveLength(2);
  });
});

describe("labels", () => {
  it("makes whitespace visible and fits wide characters into terminal columns", () => {
    expect(tokenLabel(" a\n")).toBe("␣a↵");
    expect(fitWidth("床前明月光", 6)).toBe("床前明");
    expect(fitWidth("ab", 4)).toBe("ab  ");
  });
});

describe("renderSvg", () => {
  it("writes a standalone SVG with one cell per query and key, and escapes token text", () => {
    const svg = renderSvg({ strategyName: "causal", tokens: ["<a>", "b", "&"], rows: causalRows });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("&#60;a&#62;");
    expect(svg).not.toContain("<a>");
    const cells = svg.match(/<rect x="\d+" y="\d+" width="13" height="13" fill="[^"]+"\/>/g) ?? [];
    expect(cells).toHaveLength(9);
    expect(cells.filter((cell) => !cell.includes("#eeeeee"))).toHaveLength(6);
  });
});
