/**
 * The legacy `torch.save` format (PyTorch before 1.6, or `_use_new_zipfile_serialization=False`), on bytes,
 * browser-safe: five things in a row — a pickled magic number, a pickled protocol version (1001), a pickled
 * system-info dict, the pickled object (storages as persistent ids, through the same restricted unpickler as
 * the zip format), a pickled list of storage keys — then each storage in that order as an 8-byte
 * little-endian element count followed by its bytes. Every count and length is checked against the file.
 * Not read: the older tar-based format, big-endian files, storage views (pre-1.0 files).
 */

import { readPickleAt } from "./pickle.js";
import type { PickleValue, StorageReference } from "./pickle-values.js";
import { PickleDict } from "./pickle-values.js";
import { dtypeByteSize } from "./safetensors.js";

/** The first pickle of a legacy file: the integer 0x1950a86a20f9469cfc6c (protocol 2, LONG1 of 10 bytes). */
const legacyMagicNumber = 0x1950a86a20f9469cfc6cn;
const legacyProtocolVersion = 1001;

/** The pickled object of a legacy file and the bytes of each storage it names, by key. */
export interface LegacyPth {
  readonly value: PickleValue;
  readonly storages: ReadonlyMap<string, Uint8Array>;
}

function fail(source: string, message: string): never {
  throw new Error(`[pth] ${source}: ${message}`);
}

/** Whether `bytes` start the way a legacy torch.save file does: PROTO 2, then a 10-byte LONG1 (the magic number). */
export function isLegacyPth(bytes: Uint8Array): boolean {
  return bytes[0] === 0x80 && bytes[1] === 0x02 && bytes[2] === 0x8a && bytes[3] === 0x0a;
}

/** Reads a legacy torch.save file (see the file header); errors name `source`, the part and the fault. */
export function readLegacyPth(bytes: Uint8Array, source: string): LegacyPth {
  const pickleSource = `${source}: legacy format`;
  const magic = readPickleAt(bytes, 0, { source: pickleSource });
  if (magic.value !== legacyMagicNumber) {
    fail(source, "the file starts like a legacy torch.save file but its magic number is wrong");
  }
  const version = readPickleAt(bytes, magic.end, { source: pickleSource });
  if (version.value !== legacyProtocolVersion) {
    fail(source, `legacy format protocol version ${String(version.value)} is not supported (expected 1001)`);
  }
  const systemInfo = readPickleAt(bytes, version.end, { source: pickleSource });
  const littleEndian =
    systemInfo.value instanceof PickleDict ? systemInfo.value.entries.get("little_endian") : undefined;
  if (littleEndian !== true)
    fail(source, "the legacy header does not say little_endian: True; only little-endian files are read");
  const object = readPickleAt(bytes, systemInfo.end, { source: pickleSource });
  const keys = readPickleAt(bytes, object.end, { source: pickleSource });
  if (!Array.isArray(keys.value) || !keys.value.every((key) => typeof key === "string")) {
    fail(source, "the legacy storage key list is not a list of strings");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storages = new Map<string, Uint8Array>();
  let position = keys.end;
  for (const key of keys.value as string[]) {
    const storage: StorageReference | undefined = object.storages.get(key);
    if (storage === undefined) fail(source, `the legacy storage list names storage ${key}, which no tensor uses`);
    if (storages.has(key)) fail(source, `the legacy storage list names storage ${key} twice`);
    if (position + 8 > bytes.byteLength) fail(source, `the file ends before storage ${key}'s element count`);
    const count = view.getBigInt64(position, true);
    if (count !== BigInt(storage.elementCount)) {
      fail(source, `storage ${key} holds ${count} elements, but the pickle says ${storage.elementCount}`);
    }
    const length = storage.elementCount * dtypeByteSize(storage.dtype);
    const start = position + 8;
    if (start + length > bytes.byteLength) {
      fail(
        source,
        `storage ${key} (${length} bytes from byte ${start}) runs past the end of the ${bytes.byteLength}-byte file`,
      );
    }
    storages.set(key, bytes.subarray(start, start + length));
    position = start + length;
  }
  if (position !== bytes.byteLength) {
    fail(source, `${bytes.byteLength - position} bytes follow the last storage; the file is not what it claims`);
  }
  return { value: object.value, storages };
}
