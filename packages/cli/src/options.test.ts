import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { decimal, fraction, integer, parseDecimal, parseInteger } from "./options.js";

describe("parseInteger", () => {
  it("accepts plain decimal integers", () => {
    expect(parseInteger("0")).toBe(0);
    expect(parseInteger("42")).toBe(42);
    expect(parseInteger("-3")).toBe(-3);
  });

  it.each(["1e3", "0x10", "1.5", "", " 12", "12 ", "1_000", "Infinity", "NaN", "+5", "0b11"])(
    "refuses %j with a reason",
    (text) => {
      expect(() => parseInteger(text)).toThrow(InvalidArgumentError);
      expect(() => parseInteger(text)).toThrow(/is not a decimal integer/);
    },
  );

  it("refuses unsafe magnitudes and values out of range", () => {
    expect(() => parseInteger("9007199254740993")).toThrow(/too large/);
    expect(() => integer({ min: 1 })("0")).toThrow(/below the minimum 1/);
    expect(() => integer({ max: 10 })("11")).toThrow(/above the maximum 10/);
    expect(integer({ min: 1, max: 10 })("10")).toBe(10);
  });
});

describe("parseDecimal", () => {
  it("accepts decimals and exponents", () => {
    expect(parseDecimal("0.5")).toBe(0.5);
    expect(parseDecimal(".5")).toBe(0.5);
    expect(parseDecimal("3e-4")).toBe(3e-4);
    expect(parseDecimal("-2")).toBe(-2);
  });

  it.each(["0x10", "Infinity", "NaN", "", "1,5", "e3", "1e", "1e999"])("refuses %j", (text) => {
    expect(() => parseDecimal(text)).toThrow(InvalidArgumentError);
  });

  it("checks ranges", () => {
    expect(() => decimal({ min: 0 })("-0.1")).toThrow(/below the minimum 0/);
  });
});

describe("fraction", () => {
  it("accepts shares in [0, 1) and refuses 1 and above", () => {
    expect(fraction("0.05")).toBe(0.05);
    expect(fraction("0")).toBe(0);
    expect(() => fraction("1")).toThrow(/must be below 1/);
    expect(() => fraction("-0.1")).toThrow(/below the minimum 0/);
  });
});
