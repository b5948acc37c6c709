import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bfloat16BitsToNumber,
  bfloat16ToFloat32,
  float16BitsToNumber,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16,
  numberToBfloat16Bits,
  numberToFloat16Bits,
} from "./half-precision.js";

describe("binary16 (F16)", () => {
  it("widens hand-decoded bit patterns exactly", () => {
    // sign · 2^(exponent − 15) · 1.mantissa, or 2^−24 · mantissa for subnormals
    const cases: [number, number][] = [
      [0x0000, 0],
      [0x3c00, 1],
      [0xc000, -2],
      [0x3555, 0.333251953125], // 2^-2 · (1 + 341/1024)
      [0x7bff, 65504], // largest finite
      [0x0400, 2 ** -14], // smallest normal
      [0x03ff, 1023 * 2 ** -24], // largest subnormal
      [0x0001, 2 ** -24], // smallest subnormal
      [0x7c00, Number.POSITIVE_INFINITY],
      [0xfc00, Number.NEGATIVE_INFINITY],
    ];
    for (const [bits, value] of cases) expect(float16BitsToNumber(bits)).toBe(value);
    expect(Object.is(float16BitsToNumber(0x8000), -0)).toBe(true);
    expect(float16BitsToNumber(0x7e00)).toBeNaN();
    expect(float16BitsToNumber(0xfc01)).toBeNaN();
  });

  it("narrows with round-to-nearest, ties to even", () => {
    expect(numberToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway 1 ↔ 1+2^-10: even is 1
    expect(numberToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway 0x3c01 ↔ 0x3c02: even is 0x3c02
    expect(numberToFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above halfway
    expect(numberToFloat16Bits(65504)).toBe(0x7bff);
    expect(numberToFloat16Bits(65519)).toBe(0x7bff);
    expect(numberToFloat16Bits(65520)).toBe(0x7c00); // halfway to 2^16: the even neighbour is Inf
    expect(numberToFloat16Bits(-1e6)).toBe(0xfc00);
    expect(numberToFloat16Bits(2 ** -25)).toBe(0x0000); // halfway 0 ↔ 2^-24: even is 0
    expect(numberToFloat16Bits(2 ** -25 * (1 + 2 ** -23))).toBe(0x0001);
    expect(numberToFloat16Bits(3 * 2 ** -25)).toBe(0x0002); // halfway 1 ↔ 2 subnormal units: even is 2
    expect(numberToFloat16Bits(1023.5 * 2 ** -24)).toBe(0x0400); // rounds up out of the subnormals
    expect(numberToFloat16Bits(2 ** -26)).toBe(0x0000);
    expect(numberToFloat16Bits(-0)).toBe(0x8000);
    expect(numberToFloat16Bits(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    const nan = numberToFloat16Bits(Number.NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x3ff).not.toBe(0);
  });

  it("widen then narrow is the identity on all 65536 bit patterns (NaN stays NaN)", () => {
    const all = new Uint16Array(65536).map((_, index) => index);
    const widened = float16ToFloat32(all);
    const narrowed = float32ToFloat16(widened);
    for (let bits = 0; bits < 65536; bits++) {
      const isNotANumber = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
      if (isNotANumber) expect(Number.isNaN(widened[bits])).toBe(true);
      else if (narrowed[bits] !== bits) expect.fail(`bits 0x${bits.toString(16)} came back as ${narrowed[bits]}`);
    }
  });

  it("orders the positive finite patterns strictly increasingly", () => {
    for (let bits = 1; bits <= 0x7bff; bits++) {
      if (!(float16BitsToNumber(bits) > float16BitsToNumber(bits - 1)))
        expect.fail(`not increasing at 0x${bits.toString(16)}`);
    }
  });

  it("narrowing picks the nearest representable value", () => {
    fc.assert(
      fc.property(fc.float({ min: -65504, max: 65504, noNaN: true }), (value) => {
        const bits = numberToFloat16Bits(value);
        const chosen = Math.abs(float16BitsToNumber(bits) - value);
        for (const neighbour of [bits - 1, bits + 1]) {
          if ((neighbour & 0x7fff) > 0x7bff || neighbour < 0 || neighbour > 0xffff) continue;
          if ((neighbour & 0x8000) !== (bits & 0x8000)) continue;
          expect(chosen).toBeLessThanOrEqual(Math.abs(float16BitsToNumber(neighbour) - value));
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("bfloat16 (BF16)", () => {
  it("widens hand-decoded bit patterns exactly", () => {
    const cases: [number, number][] = [
      [0x3f80, 1],
      [0xc000, -2],
      [0x4049, 3.140625], // 2 · (1 + 73/128)
      [0x7f7f, (2 - 2 ** -7) * 2 ** 127], // largest finite
      [0x0080, 2 ** -126], // smallest normal
      [0x0001, 2 ** -133], // smallest subnormal
      [0x7f80, Number.POSITIVE_INFINITY],
    ];
    for (const [bits, value] of cases) expect(bfloat16BitsToNumber(bits)).toBe(value);
    expect(bfloat16BitsToNumber(0x7fc0)).toBeNaN();
    expect(Array.from(bfloat16ToFloat32(new Uint16Array([0x3f80, 0xc000, 0x4049])))).toEqual([1, -2, 3.140625]);
  });

  it("narrows with round-to-nearest, ties to even", () => {
    expect(numberToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80); // halfway: even is 1
    expect(numberToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // halfway 0x3f81 ↔ 0x3f82: even
    expect(numberToBfloat16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(numberToBfloat16Bits(3.4028234663852886e38)).toBe(0x7f80); // float32 max rounds to Inf
    const nan = numberToBfloat16Bits(Number.NaN);
    expect(nan & 0x7f80).toBe(0x7f80);
    expect(nan & 0x7f).not.toBe(0);
    // a NaN whose payload lives only in the low 16 bits must stay a NaN, not become Inf
    const lowPayloadNaN = new Float32Array(new Uint32Array([0x7f800001]).buffer)[0] as number;
    expect(bfloat16BitsToNumber(numberToBfloat16Bits(lowPayloadNaN))).toBeNaN();
  });

  it("widen then narrow is the identity on all 65536 bit patterns (NaN stays NaN)", () => {
    const all = new Uint16Array(65536).map((_, index) => index);
    const narrowed = float32ToBfloat16(bfloat16ToFloat32(all));
    for (let bits = 0; bits < 65536; bits++) {
      const isNotANumber = (bits & 0x7f80) === 0x7f80 && (bits & 0x7f) !== 0;
      if (isNotANumber) expect(Number.isNaN(bfloat16BitsToNumber(narrowed[bits] as number))).toBe(true);
      else if (narrowed[bits] !== bits) expect.fail(`bits 0x${bits.toString(16)} came back as ${narrowed[bits]}`);
    }
  });
});
