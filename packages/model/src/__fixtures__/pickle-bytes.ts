/**
 * Test support: pickle streams and torch.save-style archives spelled out opcode by opcode, for the cases the
 * reference fixtures lack (views, resume checkpoints, hostile globals, fuzzing seeds). It writes bytes as a
 * hand-built oracle; it is independent of the writer under test (pth-writer.ts) except for the zip container.
 */
import { writeZipArchive } from "../pytorch-zip.js";

const encoder = new TextEncoder();

/** Pickle opcodes spelled out, so each test states its stream. */
export const op = {
  proto2: [0x80, 2],
  mark: [0x28],
  emptyDict: [0x7d],
  emptyTuple: [0x29],
  tuple: [0x74],
  setItems: [0x75],
  setItem: [0x73],
  reduce: [0x52],
  persistentId: [0x51],
  newFalse: [0x89],
  newTrue: [0x88],
  none: [0x4e],
  stop: [0x2e],
  emptyList: [0x5d],
  appends: [0x65],
  build: [0x62],
};

export function int(value: number): number[] {
  return [0x4a, value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

export function float(value: number): number[] {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, value, false);
  return [0x47, ...bytes];
}

export function text(value: string): number[] {
  const encoded = encoder.encode(value);
  return [0x58, ...int(encoded.length).slice(1), ...encoded];
}

export function global(module: string, name: string): number[] {
  return [0x63, ...encoder.encode(`${module}\n${name}\n`)];
}

export function tuple(...items: number[][]): number[] {
  return [...op.mark, ...items.flat(), ...op.tuple];
}

/**
 * `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`, the storage a persistent id;
 * `legacy` adds the sixth persistent-id item of the pre-1.6 format, the view metadata (None).
 */
export function tensor(
  storageClass: string,
  key: string,
  count: number,
  offset: number,
  shape: number[],
  stride: number[],
  legacy = false,
): number[] {
  const persistentId = [text("storage"), global("torch", storageClass), text(key), text("cpu"), int(count)];
  if (legacy) persistentId.push(op.none);
  return [
    ...global("torch._utils", "_rebuild_tensor_v2"),
    ...tuple(
      [...tuple(...persistentId), ...op.persistentId],
      int(offset),
      tuple(...shape.map(int)),
      tuple(...stride.map(int)),
      op.newFalse,
      [...global("collections", "OrderedDict"), ...op.emptyTuple, ...op.reduce],
    ),
    ...op.reduce,
  ];
}

/** A torch.save zip archive holding `pickle` as `<name>/data.pkl` and each storage as `<name>/data/<key>`. */
export function archive(pickle: number[], storages: Record<string, Uint8Array>, name = "archive"): Uint8Array {
  return writeZipArchive([
    [`${name}/data.pkl`, new Uint8Array(pickle)],
    ...Object.entries(storages).map(([key, data]): [string, Uint8Array] => [`${name}/data/${key}`, data]),
    [`${name}/version`, encoder.encode("3\n")],
  ]);
}

/** The bytes of float32 `values`. */
export function floatBytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/**
 * A legacy (pre-1.6) torch.save file: magic number, protocol version 1001 and system info pickles, the object
 * pickle, the storage-key list, then each storage as an 8-byte element count and its bytes.
 */
export function legacyFile(
  objectPickle: number[],
  storages: readonly (readonly [key: string, elementCount: number, data: Uint8Array])[],
  options: { magic?: number[]; littleEndian?: boolean } = {},
): Uint8Array {
  const magic = options.magic ?? [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]; // 0x1950a86a20f9469cfc6c
  const systemInfo = [
    ...op.proto2,
    ...op.emptyDict,
    ...text("protocol_version"),
    ...int(1001),
    ...op.setItem,
    ...text("little_endian"),
    ...(options.littleEndian === false ? op.newFalse : op.newTrue),
    ...op.setItem,
    ...op.stop,
  ];
  const keys = [
    ...op.proto2,
    ...op.emptyList,
    ...op.mark,
    ...storages.flatMap(([key]) => text(key)),
    ...op.appends,
    ...op.stop,
  ];
  const bytes = [...op.proto2, 0x8a, magic.length, ...magic, ...op.stop, ...op.proto2, ...int(1001), ...op.stop];
  bytes.push(...systemInfo, ...objectPickle, ...keys);
  for (const [, elementCount, data] of storages) {
    const count = new Uint8Array(new BigInt64Array([BigInt(elementCount)]).buffer);
    bytes.push(...count, ...data);
  }
  return new Uint8Array(bytes);
}
