/**
 * Test support: zip archives laid out field by field from the APPNOTE specification, independent of
 * pytorch-zip.ts, with the variants its writer never produces — deflated entries (node:zlib), data
 * descriptors with zeroed local sizes (as torch writes), ZIP64 extra fields and ZIP64 end records. An
 * oracle for the reader's tests and a seed for the fuzzer, not a zip library.
 */
import { deflateRawSync } from "node:zlib";
import { crc32 } from "../pytorch-zip.js";

export interface ZipRecordSpec {
  readonly name: string;
  readonly data: Uint8Array;
  /** 0 stored (default), 8 deflated. */
  readonly method?: 0 | 8;
}

export interface ZipLayoutOptions {
  /** Sizes and offsets as 0xFFFFFFFF in the central directory, the real values in ZIP64 extra fields. */
  readonly zip64Entries?: boolean;
  /** A ZIP64 end record and locator before the classic end record (torch always writes them). */
  readonly zip64End?: boolean;
}

class ByteList {
  readonly bytes: number[] = [];
  u16(value: number): void {
    this.bytes.push(value & 0xff, (value >>> 8) & 0xff);
  }
  u32(value: number): void {
    this.u16(value & 0xffff);
    this.u16(Math.floor(value / 0x10000));
  }
  u64(value: number): void {
    this.u32(value % 2 ** 32);
    this.u32(Math.floor(value / 2 ** 32));
  }
  add(values: Uint8Array | number[]): void {
    for (const value of values) this.bytes.push(value);
  }
}

/** A zip archive of `records`, each local header followed by its data and a data descriptor. */
export function buildZip(records: readonly ZipRecordSpec[], options: ZipLayoutOptions = {}): Uint8Array {
  const out = new ByteList();
  const central = new ByteList();
  const encoder = new TextEncoder();
  for (const record of records) {
    const method = record.method ?? 0;
    const stored = method === 8 ? new Uint8Array(deflateRawSync(record.data)) : record.data;
    const name = encoder.encode(record.name);
    const crc = crc32(record.data);
    const localOffset = out.bytes.length;
    out.u32(0x04034b50);
    out.u16(20);
    out.u16(0x0808); // data descriptor follows; UTF-8 names
    out.u16(method);
    out.u32(0); // time, date
    out.u32(0); // crc, sizes: in the data descriptor
    out.u32(0);
    out.u32(0);
    out.u16(name.length);
    out.u16(0);
    out.add(name);
    out.add(stored);
    out.u32(0x08074b50);
    out.u32(crc);
    out.u32(stored.length);
    out.u32(record.data.length);
    const zip64 = options.zip64Entries === true;
    central.u32(0x02014b50);
    central.u16(45);
    central.u16(45);
    central.u16(0x0808);
    central.u16(method);
    central.u32(0);
    central.u32(crc);
    central.u32(zip64 ? 0xffffffff : stored.length);
    central.u32(zip64 ? 0xffffffff : record.data.length);
    central.u16(name.length);
    central.u16(zip64 ? 28 : 0);
    central.u16(0); // comment
    central.u16(0); // disk
    central.u16(0); // internal attributes
    central.u32(0); // external attributes
    central.u32(zip64 ? 0xffffffff : localOffset);
    central.add(name);
    if (zip64) {
      central.u16(1);
      central.u16(24);
      central.u64(record.data.length); // uncompressed first, as the specification orders them
      central.u64(stored.length);
      central.u64(localOffset);
    }
  }
  const directoryOffset = out.bytes.length;
  out.add(central.bytes);
  const zip64EndOffset = out.bytes.length;
  if (options.zip64End === true) {
    out.u32(0x06064b50);
    out.u64(44);
    out.u16(45);
    out.u16(45);
    out.u32(0);
    out.u32(0);
    out.u64(records.length);
    out.u64(records.length);
    out.u64(central.bytes.length);
    out.u64(directoryOffset);
    out.u32(0x07064b50);
    out.u32(0);
    out.u64(zip64EndOffset);
    out.u32(1);
  }
  out.u32(0x06054b50);
  out.u16(0);
  out.u16(0);
  out.u16(records.length);
  out.u16(records.length);
  out.u32(central.bytes.length);
  out.u32(directoryOffset);
  out.u16(0);
  return new Uint8Array(out.bytes);
}
