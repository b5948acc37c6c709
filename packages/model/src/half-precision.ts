/**
 * Bit-level conversions between IEEE-754 binary16 (F16), bfloat16 (BF16) and float32, on plain typed arrays.
 * 16-bit values are carried as their raw bits in a Uint16Array, exactly as safetensors stores them.
 * Widening (F16/BF16 → F32) is exact; narrowing (F32 → F16/BF16) rounds to nearest, ties to even, and keeps
 * NaN a NaN. This is not a tensor type: no arithmetic happens in 16 bits here.
 */

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/** Widens one binary16 bit pattern to the float32 value it denotes (exact: every F16 value is an F32 value). */
export function float16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero or subnormal
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Widens one bfloat16 bit pattern to float32: bfloat16 is the upper half of a float32. */
export function bfloat16BitsToNumber(bits: number): number {
  scratchBits[0] = (bits & 0xffff) << 16;
  return scratchFloat[0] as number;
}

/** Narrows a number to the nearest binary16 bit pattern (round to nearest, ties to even; overflow → ±Inf). */
export function numberToFloat16Bits(value: number): number {
  scratchFloat[0] = value; // first round to float32, as a float32 tensor would hold it
  const bits = scratchBits[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // subnormal half (or zero): the value is m·2^-24 for an integer m, rounded to nearest even
    if (halfExponent < -10) return sign; // below half the smallest subnormal: rounds to ±0
    const full = mantissa | 0x800000; // implicit leading one, 24 significant bits
    const shift = 14 - halfExponent; // 14..24
    const kept = full >>> shift;
    const remainder = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const rounded = remainder > halfway || (remainder === halfway && (kept & 1) === 1) ? kept + 1 : kept;
    return sign | rounded; // a carry into bit 10 correctly yields the smallest normal
  }
  const kept = (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  const rounded = remainder > 0x1000 || (remainder === 0x1000 && (kept & 1) === 1) ? kept + 1 : kept;
  return sign | rounded; // a carry into the exponent rounds up to the next binade or to Inf, as it should
}

/** Narrows a number to the nearest bfloat16 bit pattern (round to nearest, ties to even; NaN stays NaN). */
export function numberToBfloat16Bits(value: number): number {
  scratchFloat[0] = value;
  const bits = scratchBits[0] as number;
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff; // quiet NaN
  const lower = bits & 0xffff;
  let upper = bits >>> 16;
  if (lower > 0x8000 || (lower === 0x8000 && (upper & 1) === 1)) upper += 1;
  return upper & 0xffff;
}

/** Widens binary16 bits to float32 values, exactly. */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  const output = new Float32Array(bits.length);
  for (let index = 0; index < bits.length; index++) output[index] = float16BitsToNumber(bits[index] as number);
  return output;
}

/** Widens bfloat16 bits to float32 values, exactly (a 16-bit shift per value). */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const output = new Float32Array(bits.length);
  const outputBits = new Uint32Array(output.buffer);
  for (let index = 0; index < bits.length; index++) outputBits[index] = (bits[index] as number) << 16;
  return output;
}

/** Narrows float32 values to binary16 bits (round to nearest even). Values beyond ±65504 become ±Inf. */
export function float32ToFloat16(values: Float32Array): Uint16Array {
  const output = new Uint16Array(values.length);
  for (let index = 0; index < values.length; index++) output[index] = numberToFloat16Bits(values[index] as number);
  return output;
}

/** Narrows float32 values to bfloat16 bits (round to nearest even). */
export function float32ToBfloat16(values: Float32Array): Uint16Array {
  const output = new Uint16Array(values.length);
  for (let index = 0; index < values.length; index++) output[index] = numberToBfloat16Bits(values[index] as number);
  return output;
}
