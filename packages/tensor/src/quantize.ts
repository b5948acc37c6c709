/**
 * The host-side codec of sub-fp32 weights: a float32 weight W [n, k] (PyTorch Linear layout, one row per
 * output) to the stored form the kernels read, and back.
 * - int8 (llama.cpp's Q8_0 scheme, with a float32 scale): each row is cut into blocks of 32 along k; a block
 *   holds q = round(w / d) in [-127, 127] (ties away from zero) with d = max|w| / 127 (float32), so
 *   |w − q·d| ≤ d/2 = max|w|/254 within each block. Rows are padded to a multiple of 32 bytes with zeros.
 * - bf16: the upper 16 bits of each float32 after rounding to nearest, ties to even (NaN stays NaN); rows
 *   padded to a multiple of 8 values. The relative error is at most 2^-8 (8 significant bits).
 * Dequantization gives exactly the float32 values the kernels compute with: int8 q·d rounded once to
 * float32, bf16 its bits shifted up (exact). Not here: the kernels (backends/cpu/wasm/gemv-quantized.ts), the
 * tensor-level type and op (quantized.ts).
 */

export type QuantizedFormat = "int8" | "bf16";
export const quantizedFormats: readonly QuantizedFormat[] = ["int8", "bf16"];

/** Values per int8 block (one scale each). */
export const INT8_BLOCK = 32;
const BF16_ROW_ALIGN = 8;

/** A weight in its stored form: the packed row bytes and, for int8, the [n, ⌈k/32⌉] scales. */
export interface PackedWeight {
  readonly format: QuantizedFormat;
  readonly n: number;
  readonly k: number;
  /** Row bytes, each row padded (int8: to a multiple of 32 bytes; bf16: to a multiple of 8 values). */
  readonly bytes: Uint8Array;
  /** int8 only: one float32 scale per block of 32 along each row. */
  readonly scales: Float32Array | null;
}

export function packedRowBytes(format: QuantizedFormat, k: number): number {
  return format === "int8"
    ? Math.ceil(k / INT8_BLOCK) * INT8_BLOCK
    : Math.ceil(k / BF16_ROW_ALIGN) * BF16_ROW_ALIGN * 2;
}

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/** The bfloat16 bits nearest a float32 value (ties to even; NaN stays a quiet NaN). */
export function float32ToBfloat16Bits(value: number): number {
  scratchFloat[0] = value;
  const bits = scratchBits[0] as number;
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return (bits >>> 16) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Packs W [n, k] (row-major float32) into `format`. int8 refuses non-finite weights, naming the first. */
export function packWeight(values: Float32Array, n: number, k: number, format: QuantizedFormat): PackedWeight {
  if (values.length !== n * k) {
    throw new Error(`[quantizeWeight] ${values.length} values for a [${n}, ${k}] weight; expected ${n * k}`);
  }
  const rowBytes = packedRowBytes(format, k);
  const bytes = new Uint8Array(n * rowBytes);
  if (format === "bf16") {
    const halves = new Uint16Array(bytes.buffer);
    const rowHalves = rowBytes / 2;
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p++) halves[j * rowHalves + p] = float32ToBfloat16Bits(values[j * k + p] as number);
    }
    return { format, n, k, bytes, scales: null };
  }
  const blocks = Math.ceil(k / INT8_BLOCK);
  const scales = new Float32Array(n * blocks);
  const quantized = new Int8Array(bytes.buffer);
  for (let j = 0; j < n; j++) {
    for (let block = 0; block < blocks; block++) {
      const start = j * k + block * INT8_BLOCK;
      const end = j * k + Math.min(k, (block + 1) * INT8_BLOCK);
      let largest = 0;
      for (let index = start; index < end; index++) {
        const value = values[index] as number;
        if (!Number.isFinite(value)) {
          throw new Error(
            `[quantizeWeight] the weight holds ${value} at flat index ${index}; int8 weights must be finite`,
          );
        }
        largest = Math.max(largest, Math.abs(value));
      }
      const scale = Math.fround(largest / 127);
      scales[j * blocks + block] = scale;
      if (scale === 0) continue;
      const target = j * rowBytes + block * INT8_BLOCK - start;
      for (let index = start; index < end; index++) {
        const ratio = (values[index] as number) / scale;
        const q = Math.sign(ratio) * Math.round(Math.abs(ratio));
        quantized[target + index] = Math.max(-127, Math.min(127, q));
      }
    }
  }
  return { format, n, k, bytes, scales };
}

/** The float32 values W [n, k] the kernels compute with. */
export function unpackWeight(packed: PackedWeight): Float32Array {
  const { format, n, k, bytes, scales } = packed;
  const rowBytes = packedRowBytes(format, k);
  const out = new Float32Array(n * k);
  if (format === "bf16") {
    const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
    const bits = new Uint32Array(out.buffer);
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p++) bits[j * k + p] = (halves[j * (rowBytes / 2) + p] as number) << 16;
    }
    return out;
  }
  const quantized = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  const blocks = Math.ceil(k / INT8_BLOCK);
  for (let j = 0; j < n; j++) {
    for (let p = 0; p < k; p++) {
      const scale = (scales as Float32Array)[j * blocks + Math.floor(p / INT8_BLOCK)] as number;
      out[j * k + p] = Math.fround((quantized[j * rowBytes + p] as number) * scale);
    }
  }
  return out;
}
