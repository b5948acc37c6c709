import { describe, expect, it } from "vitest";
import { colorsWanted, createColors } from "./colors.js";

describe("colorsWanted", () => {
  it("follows the TTY when nothing is set", () => {
    expect(colorsWanted(true, {})).toBe(true);
    expect(colorsWanted(false, {})).toBe(false);
  });

  it("never colors with NO_COLOR, even on a TTY or with FORCE_COLOR", () => {
    expect(colorsWanted(true, { NO_COLOR: "1" })).toBe(false);
    expect(colorsWanted(true, { NO_COLOR: "1", FORCE_COLOR: "1" })).toBe(false);
  });

  it("treats an empty NO_COLOR as unset, honours FORCE_COLOR on a pipe and TERM=dumb", () => {
    expect(colorsWanted(true, { NO_COLOR: "" })).toBe(true);
    expect(colorsWanted(false, { FORCE_COLOR: "1" })).toBe(true);
    expect(colorsWanted(false, { FORCE_COLOR: "0" })).toBe(false);
    expect(colorsWanted(true, { TERM: "dumb" })).toBe(false);
  });
});

describe("createColors", () => {
  it("wraps text in ANSI codes only when enabled", () => {
    expect(createColors(true).red("x")).toBe("\u001b[31mx\u001b[39m");
    expect(createColors(false).red("x")).toBe("x");
    expect(createColors(false).bold("x")).toBe("x");
  });
});
