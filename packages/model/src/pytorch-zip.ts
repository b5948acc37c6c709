/**
 * The zip container of `torch.save` files, on plain bytes (`Uint8Array`), safe for browsers. Reading: the end
 * of central directory (ZIP64 when the file has one), the central directory, each entry's local header; every
 * offset and size is checked against the file before a byte is touched, and each entry's CRC-32 is checked when
 * it is read (unless it is 0: torch writes 0 when saving with `compute_crc32` off). Entries are stored (method
 * 0), as torch writes them; deflated entries (method 8) are read only when the caller passes an `inflateRaw`
 * function (the Node helper passes node:zlib's), and may not claim more bytes than deflate can produce.
 * Writing: stored entries whose data starts on a 64-byte boundary (the padding goes into an extra field, as
 * torch does). This is not a general zip library: no encryption, no multi-disk archives, no other compression
 * methods, and the writer refuses archives of 4 GiB or more (it writes no ZIP64 records).
 */

/** One entry of the central directory, with the position of its data checked against the file. */
export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflated. */
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  /** Offset of the entry's local header in the file. */
  readonly headerOffset: number;
  /** Offset of the entry's (possibly compressed) data in the file. */
  readonly dataOffset: number;
}

/** Inflates raw deflate data to at most `maxOutputLength` bytes (throws beyond it). */
export type InflateRaw = (data: Uint8Array, maxOutputLength: number) => Uint8Array;

export interface ReadZipOptions {
  /** Names the file in error messages. */
  readonly source?: string;
  /** Needed only for deflated entries; torch never writes them. */
  readonly inflateRaw?: InflateRaw;
}

/** A validated archive: its entries by name, in central-directory order, and a reader of their bytes. */
export interface ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /**
   * The bytes of one entry, CRC-checked: for stored entries a view into the file (copy what you keep), for
   * deflated ones a fresh array.
   */
  read(name: string): Uint8Array;
}

const localHeaderSignature = 0x04034b50;
const centralHeaderSignature = 0x02014b50;
const endSignature = 0x06054b50;
const zip64EndSignature = 0x06064b50;
const zip64LocatorSignature = 0x07064b50;
const endRecordSize = 22;
const zip64LocatorSize = 20;
const zip64EndRecordSize = 56;
const centralHeaderSize = 46;
const localHeaderSize = 30;

function fail(source: string, message: string): never {
  throw new Error(`[pth] ${source}: ${message}`);
}

/**
 * CRC-32 tables for slicing by 8: `crcTables[k][byte]` is the CRC contribution of `byte` followed by k zero
 * bytes, so eight input bytes are folded in per step instead of one.
 */
const crcTables = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const first = tables[0] as Uint32Array;
  for (let index = 0; index < 256; index++) {
    let value = index;
    for (let bit = 0; bit < 8; bit++) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
    first[index] = value >>> 0;
  }
  for (let table = 1; table < 8; table++) {
    const previous = tables[table - 1] as Uint32Array;
    const current = tables[table] as Uint32Array;
    for (let index = 0; index < 256; index++) {
      const value = previous[index] as number;
      current[index] = (value >>> 8) ^ (first[value & 0xff] as number);
    }
  }
  return tables as [
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
  ];
})();

/** CRC-32 (the zip / PNG polynomial 0xEDB88320) of `bytes`, as an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = crcTables;
  let crc = 0xffffffff;
  let index = 0;
  const wholeSteps = bytes.length - (bytes.length % 8);
  for (; index < wholeSteps; index += 8) {
    const low =
      crc ^
      ((bytes[index] as number) |
        ((bytes[index + 1] as number) << 8) |
        ((bytes[index + 2] as number) << 16) |
        ((bytes[index + 3] as number) << 24));
    const high =
      (bytes[index + 4] as number) |
      ((bytes[index + 5] as number) << 8) |
      ((bytes[index + 6] as number) << 16) |
      ((bytes[index + 7] as number) << 24);
    crc =
      (t7[low & 0xff] as number) ^
      (t6[(low >>> 8) & 0xff] as number) ^
      (t5[(low >>> 16) & 0xff] as number) ^
      (t4[low >>> 24] as number) ^
      (t3[high & 0xff] as number) ^
      (t2[(high >>> 8) & 0xff] as number) ^
      (t1[(high >>> 16) & 0xff] as number) ^
      (t0[high >>> 24] as number);
  }
  for (; index < bytes.length; index++) crc = (t0[(crc ^ (bytes[index] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Reads little-endian fields at checked positions of the file. */
class Fields {
  private readonly view: DataView;
  constructor(
    private readonly file: Uint8Array,
    private readonly source: string,
  ) {
    this.view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  }
  /** Fails unless bytes [offset, offset + length) lie inside the file. */
  require(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.file.byteLength) {
      fail(
        this.source,
        `zip: ${what} at byte ${offset} (${length} bytes) lies outside the ${this.file.byteLength}-byte file; the file is truncated or not a zip archive`,
      );
    }
  }
  u16(offset: number): number {
    return this.view.getUint16(offset, true);
  }
  u32(offset: number): number {
    return this.view.getUint32(offset, true);
  }
  u64(offset: number, what: string): number {
    const value = this.view.getBigUint64(offset, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(this.source, `zip: ${what} is ${value}, too large to address`);
    return Number(value);
  }
}

/** Finds the end of central directory record: the last signature from which a record plus its comment ends the file. */
function findEndRecord(fields: Fields, file: Uint8Array, source: string): number {
  if (file.byteLength < endRecordSize) {
    fail(
      source,
      `zip: the file is ${file.byteLength} bytes, too short for a zip archive (torch.save writes zip files)`,
    );
  }
  const lowest = Math.max(0, file.byteLength - endRecordSize - 0xffff);
  for (let offset = file.byteLength - endRecordSize; offset >= lowest; offset--) {
    if (fields.u32(offset) === endSignature && offset + endRecordSize + fields.u16(offset + 20) === file.byteLength) {
      return offset;
    }
  }
  const start = file.subarray(0, 2);
  const legacy = start[0] === 0x80 && (start[1] as number) <= 5;
  fail(
    source,
    legacy
      ? "this is a bare pickle (the legacy, pre-1.6 torch.save format), not a zip archive; readPth reads both"
      : "no zip end-of-central-directory record; this is not a torch.save zip file, or it is truncated",
  );
}

interface Directory {
  readonly count: number;
  readonly offset: number;
  readonly size: number;
  /** Where the central directory must end: the ZIP64 end record, or the end record. */
  readonly limit: number;
}

function readDirectoryLocation(fields: Fields, end: number, source: string): Directory {
  if (fields.u16(end + 4) !== 0 || fields.u16(end + 6) !== 0 || fields.u16(end + 8) !== fields.u16(end + 10)) {
    fail(source, "zip: the archive spans several disks, which torch never writes");
  }
  let count = fields.u16(end + 10);
  let size = fields.u32(end + 12);
  let offset = fields.u32(end + 16);
  let limit = end;
  const locator = end - zip64LocatorSize;
  if (locator >= 0 && fields.u32(locator) === zip64LocatorSignature) {
    const zip64End = fields.u64(locator + 8, "the ZIP64 end record offset");
    fields.require(zip64End, zip64EndRecordSize, "the ZIP64 end-of-central-directory record");
    if (fields.u32(zip64End) !== zip64EndSignature) {
      fail(source, `zip: the ZIP64 locator points at byte ${zip64End}, where there is no ZIP64 end record`);
    }
    if (zip64End + zip64EndRecordSize > locator) {
      fail(source, `zip: the ZIP64 end record at byte ${zip64End} overlaps the locator at byte ${locator}`);
    }
    count = fields.u64(zip64End + 32, "the ZIP64 entry count");
    size = fields.u64(zip64End + 40, "the ZIP64 central directory size");
    offset = fields.u64(zip64End + 48, "the ZIP64 central directory offset");
    limit = zip64End;
  } else if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    fail(source, "zip: the end record says ZIP64 but there is no ZIP64 locator before it");
  }
  if (offset + size > limit) {
    fail(
      source,
      `zip: the central directory (bytes ${offset}–${offset + size}) runs past its end record at byte ${limit}`,
    );
  }
  if (count * centralHeaderSize > size) {
    fail(source, `zip: the end record claims ${count} entries, more than a ${size}-byte central directory can hold`);
  }
  return { count, offset, size, limit };
}

/** The ZIP64 extended-information extra field (id 1): 64-bit values for the fields stored as 0xFFFFFFFF. */
function applyZip64Extra(
  fields: Fields,
  extraStart: number,
  extraLength: number,
  values: { uncompressed: number; compressed: number; localOffset: number },
  label: string,
  source: string,
): void {
  let position = extraStart;
  const extraEnd = extraStart + extraLength;
  while (position + 4 <= extraEnd) {
    const id = fields.u16(position);
    const length = fields.u16(position + 2);
    const dataStart = position + 4;
    if (dataStart + length > extraEnd) fail(source, `zip: ${label}: an extra field runs past the entry's extra data`);
    if (id === 1) {
      let cursor = dataStart;
      const take = (what: string): number => {
        if (cursor + 8 > dataStart + length) fail(source, `zip: ${label}: the ZIP64 extra field lacks the ${what}`);
        const value = fields.u64(cursor, `${label}: the ZIP64 ${what}`);
        cursor += 8;
        return value;
      };
      if (values.uncompressed === 0xffffffff) values.uncompressed = take("uncompressed size");
      if (values.compressed === 0xffffffff) values.compressed = take("compressed size");
      if (values.localOffset === 0xffffffff) values.localOffset = take("local header offset");
      return;
    }
    position = dataStart + length;
  }
  if (values.uncompressed === 0xffffffff || values.compressed === 0xffffffff || values.localOffset === 0xffffffff) {
    fail(source, `zip: ${label}: a size or offset is 0xFFFFFFFF but the entry has no ZIP64 extra field`);
  }
}

const nameDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads and validates a zip archive's directory (see the file header). Throws an Error naming `source`, the
 * entry and the fault for anything out of bounds, inconsistent, duplicated, encrypted or of another method.
 */
export function readZipArchive(bytes: Uint8Array, options: ReadZipOptions = {}): ZipArchive {
  const source = options.source ?? "<bytes>";
  const file = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields = new Fields(file, source);
  const end = findEndRecord(fields, file, source);
  const directory = readDirectoryLocation(fields, end, source);
  const entries = new Map<string, ZipEntry>();
  let position = directory.offset;
  const directoryEnd = directory.offset + directory.size;
  for (let index = 0; index < directory.count; index++) {
    const label = `central directory entry ${index}`;
    if (position + centralHeaderSize > directoryEnd) {
      fail(source, `zip: ${label} runs past the end of the central directory`);
    }
    if (fields.u32(position) !== centralHeaderSignature) {
      fail(source, `zip: ${label} at byte ${position} has no central-directory signature`);
    }
    const flags = fields.u16(position + 8);
    const method = fields.u16(position + 10);
    const crc = fields.u32(position + 16);
    const values = {
      compressed: fields.u32(position + 20),
      uncompressed: fields.u32(position + 24),
      localOffset: fields.u32(position + 42),
    };
    const nameLength = fields.u16(position + 28);
    const extraLength = fields.u16(position + 30);
    const commentLength = fields.u16(position + 32);
    const next = position + centralHeaderSize + nameLength + extraLength + commentLength;
    if (next > directoryEnd) fail(source, `zip: ${label} (its name and extra fields) runs past the central directory`);
    let name: string;
    try {
      name = nameDecoder.decode(file.subarray(position + centralHeaderSize, position + centralHeaderSize + nameLength));
    } catch {
      fail(source, `zip: ${label}: the entry name is not valid UTF-8`);
    }
    const entryLabel = `entry ${JSON.stringify(name)}`;
    if (flags & 0x1) fail(source, `zip: ${entryLabel} is encrypted, which torch never writes`);
    if (method !== 0 && method !== 8) {
      fail(source, `zip: ${entryLabel} uses compression method ${method}; only stored (0) and deflate (8) are read`);
    }
    applyZip64Extra(fields, position + centralHeaderSize + nameLength, extraLength, values, entryLabel, source);
    if (entries.has(name)) fail(source, `zip: ${entryLabel} appears twice in the central directory`);
    if (method === 0 && values.compressed !== values.uncompressed) {
      fail(
        source,
        `zip: ${entryLabel} is stored but its sizes differ (${values.compressed} stored, ${values.uncompressed} uncompressed)`,
      );
    }
    const local = values.localOffset;
    if (local + localHeaderSize > directory.offset) {
      fail(source, `zip: ${entryLabel}: its local header at byte ${local} is not before the central directory`);
    }
    if (fields.u32(local) !== localHeaderSignature) {
      fail(source, `zip: ${entryLabel}: no local header signature at byte ${local}`);
    }
    const dataOffset = local + localHeaderSize + fields.u16(local + 26) + fields.u16(local + 28);
    if (dataOffset + values.compressed > directory.offset) {
      fail(
        source,
        `zip: ${entryLabel}: its data (bytes ${dataOffset}–${dataOffset + values.compressed}) runs into the central directory at byte ${directory.offset}`,
      );
    }
    entries.set(name, {
      name,
      method,
      crc32: crc,
      compressedSize: values.compressed,
      uncompressedSize: values.uncompressed,
      headerOffset: local,
      dataOffset,
    });
    position = next;
  }
  checkNoOverlap(entries, source);
  const read = (name: string): Uint8Array => readEntry(file, entries, name, options, source);
  return { entries, read };
}

/** Deflate expands at most about 1032:1 (258-byte matches coded in 2 bits), which bounds what an entry may claim. */
const maximumDeflateRatio = 1032;

/**
 * Fails when two entries share bytes (a header or data inside another's). torch never writes that; a zip bomb
 * does, pointing many entries at one deflated stream so that each inflates it again.
 */
function checkNoOverlap(entries: ReadonlyMap<string, ZipEntry>, source: string): void {
  const ordered = [...entries.values()].sort((a, b) => a.headerOffset - b.headerOffset);
  for (let index = 1; index < ordered.length; index++) {
    const previous = ordered[index - 1] as ZipEntry;
    const entry = ordered[index] as ZipEntry;
    if (previous.dataOffset + previous.compressedSize > entry.headerOffset) {
      fail(
        source,
        `zip: entry ${JSON.stringify(entry.name)} (at byte ${entry.headerOffset}) overlaps entry ${JSON.stringify(previous.name)} (bytes ${previous.headerOffset}–${previous.dataOffset + previous.compressedSize}); entries must not share bytes`,
      );
    }
  }
}

function readEntry(
  file: Uint8Array,
  entries: ReadonlyMap<string, ZipEntry>,
  name: string,
  options: ReadZipOptions,
  source: string,
): Uint8Array {
  const entry = entries.get(name);
  const label = `entry ${JSON.stringify(name)}`;
  if (entry === undefined) fail(source, `zip: there is no ${label} in the archive`);
  const stored = file.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize);
  let data = stored;
  if (entry.method === 8) {
    if (options.inflateRaw === undefined) {
      fail(
        source,
        `zip: ${label} is deflated; pass an inflateRaw function (readPthFile does) or re-save it uncompressed with torch.save`,
      );
    }
    if (entry.uncompressedSize > entry.compressedSize * maximumDeflateRatio + 64) {
      fail(
        source,
        `zip: ${label} claims ${entry.uncompressedSize} bytes from ${entry.compressedSize} deflated bytes, more than deflate can produce`,
      );
    }
    try {
      data = options.inflateRaw(stored, entry.uncompressedSize);
    } catch (error) {
      fail(source, `zip: ${label} does not inflate (${(error as Error)?.message ?? String(error)})`);
    }
    if (data.byteLength !== entry.uncompressedSize) {
      fail(source, `zip: ${label} inflates to ${data.byteLength} bytes, expected ${entry.uncompressedSize}`);
    }
  }
  // A stored CRC of 0 means none was recorded: torch.save with `compute_crc32` off writes 0, and reads it back.
  const actual = entry.crc32 === 0 ? 0 : crc32(data);
  if (actual !== entry.crc32) {
    fail(
      source,
      `zip: ${label} fails its CRC-32 check (stored ${hex(entry.crc32)}, computed ${hex(actual)}); the file is corrupt`,
    );
  }
  return data;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

/** Options for writing: the data alignment (torch uses 64) and a source for error messages. */
export interface WriteZipOptions {
  readonly alignment?: number;
  readonly source?: string;
}

const maximumZipBytes = 0xffffffff;

/**
 * A zip archive of stored entries, in the given order, each entry's data starting at a multiple of
 * `alignment` bytes (default 64, as torch writes so that storages can be memory-mapped).
 */
export function writeZipArchive(
  records: readonly (readonly [string, Uint8Array])[],
  options: WriteZipOptions = {},
): Uint8Array {
  const source = options.source ?? "<bytes>";
  const alignment = options.alignment ?? 64;
  const encoder = new TextEncoder();
  const seen = new Set<string>();
  const layout: { name: Uint8Array; data: Uint8Array; crc: number; local: number; padding: number }[] = [];
  let offset = 0;
  for (const [name, data] of records) {
    if (seen.has(name)) fail(source, `zip: entry ${JSON.stringify(name)} is given twice`);
    seen.add(name);
    const encodedName = encoder.encode(name);
    if (encodedName.byteLength > 0xffff) fail(source, `zip: entry name ${JSON.stringify(name)} is too long`);
    const headerEnd = offset + localHeaderSize + encodedName.byteLength;
    // The padding lives in one extra field (4-byte header + filler), so it is 0 or at least 4 bytes.
    let padding = (alignment - (headerEnd % alignment)) % alignment;
    if (padding > 0 && padding < 4) padding += alignment;
    layout.push({ name: encodedName, data, crc: crc32(data), local: offset, padding });
    offset = headerEnd + padding + data.byteLength;
  }
  const directoryOffset = offset;
  const directorySize = layout.reduce((sum, entry) => sum + centralHeaderSize + entry.name.byteLength, 0);
  const total = directoryOffset + directorySize + endRecordSize;
  if (total > maximumZipBytes || layout.length > 0xfffe) {
    fail(source, `zip: the archive would be ${total} bytes in ${layout.length} entries; this writer stops at 4 GiB`);
  }
  const output = new Uint8Array(total);
  const view = new DataView(output.buffer);
  for (const entry of layout) {
    let at = entry.local;
    view.setUint32(at, localHeaderSignature, true);
    view.setUint16(at + 4, 20, true); // version needed: 2.0
    view.setUint16(at + 6, 0x0800, true); // names are UTF-8
    view.setUint16(at + 8, 0, true); // stored
    view.setUint32(at + 14, entry.crc, true);
    view.setUint32(at + 18, entry.data.byteLength, true);
    view.setUint32(at + 22, entry.data.byteLength, true);
    view.setUint16(at + 26, entry.name.byteLength, true);
    view.setUint16(at + 28, entry.padding, true);
    output.set(entry.name, at + localHeaderSize);
    at += localHeaderSize + entry.name.byteLength;
    if (entry.padding > 0) {
      view.setUint16(at, 0x4246, true); // "FB", the id torch uses for its padding field
      view.setUint16(at + 2, entry.padding - 4, true);
      output.fill(0x5a, at + 4, at + entry.padding); // "Z" filler, as torch writes
    }
    output.set(entry.data, at + entry.padding);
  }
  let at = directoryOffset;
  for (const entry of layout) {
    view.setUint32(at, centralHeaderSignature, true);
    view.setUint16(at + 4, 20, true); // version made by
    view.setUint16(at + 6, 20, true); // version needed
    view.setUint16(at + 8, 0x0800, true);
    view.setUint16(at + 10, 0, true);
    view.setUint32(at + 16, entry.crc, true);
    view.setUint32(at + 20, entry.data.byteLength, true);
    view.setUint32(at + 24, entry.data.byteLength, true);
    view.setUint16(at + 28, entry.name.byteLength, true);
    view.setUint32(at + 42, entry.local, true);
    output.set(entry.name, at + centralHeaderSize);
    at += centralHeaderSize + entry.name.byteLength;
  }
  view.setUint32(at, endSignature, true);
  view.setUint16(at + 8, layout.length, true);
  view.setUint16(at + 10, layout.length, true);
  view.setUint32(at + 12, directorySize, true);
  view.setUint32(at + 16, directoryOffset, true);
  return output;
}
