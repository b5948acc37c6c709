/**
 * A strict safetensors reader and writer on plain bytes (`Uint8Array` / `ArrayBuffer`), safe for browsers.
 * Layout: an 8-byte little-endian header length N, N bytes of JSON header
 * `{ "__metadata__"?: { string: string }, "<name>": { dtype, shape, data_offsets: [begin, end] }, … }`, then the
 * data section, which the tensors must cover exactly: contiguous, in bounds, non-overlapping, each byte range
 * the size of its shape × dtype. Every fault is an Error naming the file, the tensor and what is wrong; the
 * reader checks every offset before it touches a byte. Tensors are copied out (aligned, independent of the
 * input buffer). This is not a tensor library and does no file I/O (see safetensors-files.ts for Node).
 */

import { describeValue } from "./describe-value.js";
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from "./half-precision.js";
import { findDuplicateJsonKey } from "./strict-json.js";

/** Element types a safetensors file may hold (the names the format uses). */
export type SafetensorsDtype =
  | "BOOL"
  | "U8"
  | "I8"
  | "F8_E4M3"
  | "F8_E5M2"
  | "I16"
  | "U16"
  | "F16"
  | "BF16"
  | "I32"
  | "U32"
  | "F32"
  | "I64"
  | "U64"
  | "F64";

/** Element types this writer produces: float weights, and I32 for token ids/labels in reference io files. */
export type WritableSafetensorsDtype = "F32" | "F16" | "BF16" | "I32";

/**
 * The typed array that carries each dtype's elements. 16-bit floats are their raw bits (see half-precision.ts),
 * 8-bit floats and BOOL are raw bytes.
 */
export interface SafetensorsDataByDtype {
  BOOL: Uint8Array;
  U8: Uint8Array;
  I8: Int8Array;
  F8_E4M3: Uint8Array;
  F8_E5M2: Uint8Array;
  I16: Int16Array;
  U16: Uint16Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I32: Int32Array;
  U32: Uint32Array;
  F32: Float32Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
  F64: Float64Array;
}

/** One tensor: its dtype, shape and elements (row-major, `data.length` = product of `shape`). */
export type SafetensorsTensor<D extends SafetensorsDtype = SafetensorsDtype> = {
  [K in D]: { readonly dtype: K; readonly shape: readonly number[]; readonly data: SafetensorsDataByDtype[K] };
}[D];

/** The contents of a safetensors file: tensors in file order (by data offset) and the `__metadata__` strings. */
export interface SafetensorsContents {
  readonly tensors: Map<string, SafetensorsTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Where one tensor's bytes lie, as the header states them (offsets relative to the data section). */
export interface SafetensorsHeaderEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly dataOffsets: readonly [number, number];
}

/** A validated header: entries sorted by data offset, the metadata, and where the data section starts. */
export interface SafetensorsHeader {
  readonly entries: readonly SafetensorsHeaderEntry[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Byte offset of the data section in the file: 8 + header length. */
  readonly dataStart: number;
}

/** Options for reading: `source` names the file in error messages. */
export interface ReadSafetensorsOptions {
  readonly source?: string;
}

/** Options for writing: `metadata` becomes `__metadata__`; `source` names the file in error messages. */
export interface WriteSafetensorsOptions {
  readonly metadata?: Readonly<Record<string, string>>;
  readonly source?: string;
}

/** The largest header this reader accepts, as the reference implementation does: 100 MB. */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

const bytesPerElement: Record<SafetensorsDtype, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/** The typed array that carries each dtype's elements (16-bit floats as raw bits); shared with the `.pth` reader. */
export const elementArrayConstructors = {
  BOOL: Uint8Array,
  U8: Uint8Array,
  I8: Int8Array,
  F8_E4M3: Uint8Array,
  F8_E5M2: Uint8Array,
  I16: Int16Array,
  U16: Uint16Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I32: Int32Array,
  U32: Uint32Array,
  F32: Float32Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
  F64: Float64Array,
} as const;

const writableDtypes: readonly WritableSafetensorsDtype[] = ["F32", "F16", "BF16", "I32"];

/** The number of bytes one element of `dtype` takes. */
export function dtypeByteSize(dtype: SafetensorsDtype): number {
  return bytesPerElement[dtype];
}

/** Whether `value` names a dtype this reader understands. */
export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === "string" && Object.hasOwn(bytesPerElement, value);
}

/** The number of elements of a tensor of this shape (1 for a scalar, shape []). */
export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const dimension of shape) size *= dimension;
  return size;
}

function fail(source: string, message: string): never {
  throw new Error(`[safetensors] ${source}: ${message}`);
}

/**
 * A plain Uint8Array view of the input. Subclasses are unwrapped on purpose: Node's Buffer overrides `slice`
 * to return a view instead of a copy, which must never leak into the tensors.
 */
function asUint8Array(bytes: Uint8Array | ArrayBuffer): Uint8Array {
  return bytes instanceof Uint8Array
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : new Uint8Array(bytes);
}

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Reads and validates the header of a safetensors file without copying any tensor data. Throws on any fault:
 * short or truncated file, header over 100 MB, invalid UTF-8 or JSON, duplicate keys, unknown dtype, bad
 * shape or offsets, a byte range that does not match shape × dtype, gaps, overlaps, or bytes left over.
 */
export function readSafetensorsHeader(
  bytes: Uint8Array | ArrayBuffer,
  options: ReadSafetensorsOptions = {},
): SafetensorsHeader {
  const file = asUint8Array(bytes);
  return parseSafetensorsHeader(file, file.byteLength, options.source ?? "<bytes>");
}

/**
 * The header length a file's first 8 bytes announce, checked against the 100 MB limit and the file's size
 * (`fileBytes`), so a reader knows how much to read before reading it.
 */
export function safetensorsHeaderLength(first8: Uint8Array, fileBytes: number, source: string): number {
  if (fileBytes < 8 || first8.byteLength < 8) {
    fail(source, `the file is ${fileBytes} bytes; a safetensors file starts with an 8-byte header length`);
  }
  const headerLength = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) {
    fail(source, `the header length is ${headerLength} bytes, over the ${MAX_SAFETENSORS_HEADER_BYTES}-byte limit`);
  }
  const headerBytes = Number(headerLength);
  if (8 + headerBytes > fileBytes) {
    fail(
      source,
      `the header length is ${headerBytes} bytes but only ${fileBytes - 8} bytes follow it; the file is truncated`,
    );
  }
  return headerBytes;
}

/**
 * readSafetensorsHeader for a file of `fileBytes` bytes of which `file` holds at least the first 8 + header
 * length: every offset is checked against the file's size before any tensor byte is read.
 */
export function parseSafetensorsHeader(file: Uint8Array, fileBytes: number, source: string): SafetensorsHeader {
  const headerBytes = safetensorsHeaderLength(file, fileBytes, source);
  if (8 + headerBytes > file.byteLength) {
    throw new Error(`[safetensors] ${source}: internal: the header was not read in full`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(file.subarray(8, 8 + headerBytes));
  } catch {
    fail(source, "the header is not valid UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    fail(source, `the header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    fail(source, "the header must be a JSON object mapping tensor names to { dtype, shape, data_offsets }");
  }
  const duplicate = findDuplicateJsonKey(text);
  if (duplicate !== undefined) {
    const where = duplicate.path === "" ? "the header" : `${quote(duplicate.path)} in the header`;
    fail(source, `key ${quote(duplicate.key)} appears twice in ${where}`);
  }
  const dataStart = 8 + headerBytes;
  const dataLength = fileBytes - dataStart;
  let metadata: Record<string, string> = {};
  const entries: SafetensorsHeaderEntry[] = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (name === "__metadata__") {
      metadata = parseMetadata(value, source);
      continue;
    }
    entries.push(parseEntry(name, value, source));
  }
  entries.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let expectedBegin = 0;
  let previous: string | undefined;
  for (const entry of entries) {
    const [begin, end] = entry.dataOffsets;
    if (begin < expectedBegin) {
      fail(
        source,
        `tensor ${quote(entry.name)} (bytes ${begin}–${end}) overlaps tensor ${quote(previous)} (which ends at byte ${expectedBegin}); tensors must not share bytes`,
      );
    }
    if (begin > expectedBegin) {
      const after = previous === undefined ? "at the start of the data section" : `after tensor ${quote(previous)}`;
      fail(source, `bytes ${expectedBegin}–${begin} ${after} belong to no tensor; the data must be contiguous`);
    }
    if (end > dataLength) {
      fail(
        source,
        `tensor ${quote(entry.name)} ends at byte ${end} but the data section has ${dataLength} bytes; the file is truncated or the offsets are wrong`,
      );
    }
    expectedBegin = end;
    previous = entry.name;
  }
  if (expectedBegin !== dataLength) {
    fail(
      source,
      `the tensors cover ${expectedBegin} bytes but the data section has ${dataLength}; ${dataLength - expectedBegin} bytes belong to no tensor`,
    );
  }
  return { entries, metadata, dataStart };
}

function parseMetadata(value: unknown, source: string): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(source, `"__metadata__" must be an object of string values, got ${describeValue(value)}`);
  }
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== "string") {
      fail(source, `"__metadata__".${quote(key)} must be a string, got ${describeValue(entry)}`);
    }
  }
  return Object.fromEntries(Object.entries(value)); // own properties only, even for a key like "__proto__"
}

function parseEntry(name: string, value: unknown, source: string): SafetensorsHeaderEntry {
  const tensor = `tensor ${quote(name)}`;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(source, `${tensor} must be an object { dtype, shape, data_offsets }, got ${describeValue(value)}`);
  }
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (key !== "dtype" && key !== "shape" && key !== "data_offsets") {
      fail(source, `${tensor} has an unknown field ${quote(key)}; expected only dtype, shape and data_offsets`);
    }
  }
  const { dtype, shape, data_offsets: dataOffsets } = fields;
  if (!isSafetensorsDtype(dtype)) {
    fail(
      source,
      `${tensor} has dtype ${describeValue(dtype)}; expected one of ${Object.keys(bytesPerElement).join(", ")}`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeSafeInteger)) {
    fail(source, `${tensor} has shape ${describeValue(shape)}; expected an array of non-negative integers`);
  }
  if (!Array.isArray(dataOffsets) || dataOffsets.length !== 2 || !dataOffsets.every(isNonNegativeSafeInteger)) {
    fail(
      source,
      `${tensor} has data_offsets ${describeValue(dataOffsets)}; expected [begin, end], two non-negative integers`,
    );
  }
  const [begin, end] = dataOffsets as [number, number];
  if (end < begin) fail(source, `${tensor} has data_offsets [${begin}, ${end}]: the end comes before the begin`);
  let elements = 1;
  for (const dimension of shape as number[]) {
    elements *= dimension;
    if (!Number.isSafeInteger(elements * bytesPerElement[dtype])) {
      fail(source, `${tensor} has shape [${shape.join(", ")}], too many elements to address`);
    }
  }
  const expectedBytes = elements * bytesPerElement[dtype];
  if (end - begin !== expectedBytes) {
    fail(
      source,
      `${tensor} has ${end - begin} bytes, expected ${expectedBytes} (shape [${shape.join(", ")}] × ${bytesPerElement[dtype]}-byte ${dtype})`,
    );
  }
  return { name, dtype, shape: [...(shape as number[])], dataOffsets: [begin, end] };
}

/** A name as it appears in JSON, so that odd characters stay unambiguous in messages. */
function quote(name: string | undefined): string {
  return JSON.stringify(name ?? "");
}

function isNonNegativeSafeInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Reads a whole safetensors file from bytes: validates the header (see readSafetensorsHeader) and copies
 * every tensor into its own typed array. `source` (e.g. the file name) appears in every error message.
 */
export function readSafetensors(
  bytes: Uint8Array | ArrayBuffer,
  options: ReadSafetensorsOptions = {},
): SafetensorsContents {
  const source = options.source ?? "<bytes>";
  if (!hostIsLittleEndian) fail(source, "this reader needs a little-endian host");
  const file = asUint8Array(bytes);
  const header = readSafetensorsHeader(file, { source });
  const tensors = new Map<string, SafetensorsTensor>();
  for (const entry of header.entries) {
    const begin = header.dataStart + entry.dataOffsets[0];
    const end = header.dataStart + entry.dataOffsets[1];
    const copy = new Uint8Array(end - begin); // a fresh, aligned buffer holding exactly this tensor
    copy.set(file.subarray(begin, end));
    const Constructor = elementArrayConstructors[entry.dtype];
    const data = new Constructor(copy.buffer, 0, (end - begin) / bytesPerElement[entry.dtype]);
    tensors.set(entry.name, { dtype: entry.dtype, shape: entry.shape, data } as SafetensorsTensor);
  }
  return { tensors, metadata: header.metadata };
}

/**
 * The float32 values of a floating-point tensor: F32 as is (a copy), F16 and BF16 widened exactly, F64
 * narrowed to the nearest float32. `name` and `source` label errors for other dtypes.
 */
export function tensorToFloat32(tensor: SafetensorsTensor, name = "<tensor>", source = "<bytes>"): Float32Array {
  switch (tensor.dtype) {
    case "F32":
      return tensor.data.slice();
    case "F16":
      return float16ToFloat32(tensor.data);
    case "BF16":
      return bfloat16ToFloat32(tensor.data);
    case "F64":
      return Float32Array.from(tensor.data);
    default:
      return fail(
        source,
        `tensor ${quote(name)} is ${tensor.dtype}, not a floating-point dtype; cannot convert to F32`,
      );
  }
}

/**
 * A float tensor for writing, from float32 values: F32 keeps them (no copy), F16 and BF16 round each value
 * to nearest even (F16 overflows to ±Inf beyond ±65504). The shape must match the number of values.
 */
export function tensorFromFloat32(
  values: Float32Array,
  shape: readonly number[],
  dtype: "F32" | "F16" | "BF16" = "F32",
): SafetensorsTensor<"F32" | "F16" | "BF16"> {
  if (shapeSize(shape) !== values.length) {
    throw new Error(
      `[safetensors] tensorFromFloat32: ${values.length} values do not fill shape [${shape.join(", ")}] (${shapeSize(shape)} elements)`,
    );
  }
  if (dtype === "F32") return { dtype, shape: [...shape], data: values };
  return { dtype, shape: [...shape], data: dtype === "F16" ? float32ToFloat16(values) : float32ToBfloat16(values) };
}

/**
 * Serializes tensors to safetensors bytes. Accepts F32 (Float32Array), F16/BF16 (raw bits, Uint16Array) and
 * I32 (Int32Array); shapes must match the data length. The header is padded with spaces to a multiple of 8
 * bytes and tensors are laid out widest dtype first (then in the given order), so every tensor starts at an
 * offset aligned to its element size, as the reference writer does.
 */
export function writeSafetensors(
  tensors: ReadonlyMap<string, SafetensorsTensor> | Readonly<Record<string, SafetensorsTensor>>,
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  const source = options.source ?? "<bytes>";
  if (!hostIsLittleEndian) fail(source, "this writer needs a little-endian host");
  const named: [string, SafetensorsTensor][] =
    tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, SafetensorsTensor>);
  for (const [name, tensor] of named) checkWritable(name, tensor, source);
  const ordered = named
    .map((pair, position) => ({ pair, position }))
    .sort((a, b) => bytesPerElement[b.pair[1].dtype] - bytesPerElement[a.pair[1].dtype] || a.position - b.position)
    .map(({ pair }) => pair);
  const header: Record<string, unknown> = Object.create(null); // so a tensor named "__proto__" is a plain key
  if (options.metadata !== undefined) {
    for (const [key, value] of Object.entries(options.metadata)) {
      if (typeof value !== "string")
        fail(source, `metadata ${quote(key)} must be a string, got ${describeValue(value)}`);
    }
    header.__metadata__ = Object.fromEntries(Object.entries(options.metadata));
  }
  let offset = 0;
  for (const [name, tensor] of ordered) {
    const size = tensor.data.byteLength;
    header[name] = { dtype: tensor.dtype, shape: [...tensor.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  const headerText = new TextEncoder().encode(JSON.stringify(header));
  const paddedLength = Math.ceil(headerText.byteLength / 8) * 8;
  const output = new Uint8Array(8 + paddedLength + offset);
  new DataView(output.buffer).setBigUint64(0, BigInt(paddedLength), true);
  output.set(headerText, 8);
  output.fill(0x20, 8 + headerText.byteLength, 8 + paddedLength);
  let position = 8 + paddedLength;
  for (const [, tensor] of ordered) {
    output.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), position);
    position += tensor.data.byteLength;
  }
  return output;
}

function checkWritable(name: string, tensor: SafetensorsTensor, source: string): void {
  const label = `tensor ${quote(name)}`;
  if (typeof tensor !== "object" || tensor === null) {
    fail(source, `${label} is ${describeValue(tensor)}; expected { dtype, shape, data }`);
  }
  if (name === "__metadata__") fail(source, `${label}: the name "__metadata__" is reserved for file metadata`);
  if (!(writableDtypes as readonly string[]).includes(tensor.dtype)) {
    fail(source, `${label} is ${tensor.dtype}; this writer stores only ${writableDtypes.join(", ")}`);
  }
  if (!(tensor.data instanceof elementArrayConstructors[tensor.dtype])) {
    fail(
      source,
      `${label} is ${tensor.dtype} but its data is a ${tensor.data?.constructor?.name ?? typeof tensor.data}; expected a ${elementArrayConstructors[tensor.dtype].name}`,
    );
  }
  if (!Array.isArray(tensor.shape) || !tensor.shape.every(isNonNegativeSafeInteger)) {
    fail(source, `${label} has shape ${describeValue(tensor.shape)}; expected an array of non-negative integers`);
  }
  if (shapeSize(tensor.shape) !== tensor.data.length) {
    fail(
      source,
      `${label} has ${tensor.data.length} elements but shape [${tensor.shape.join(", ")}] needs ${shapeSize(tensor.shape)}`,
    );
  }
}
