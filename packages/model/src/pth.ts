/**
 * Reads PyTorch checkpoints (`torch.save` zip files: `<archive>/data.pkl` + `<archive>/data/<key>` storages;
 * also the legacy pre-1.6 format, see pth-legacy.ts) from bytes, safe for browsers, without executing anything:
 * the zip is read by pytorch-zip.ts, the pickle by the restricted reader in pickle.ts, and each tensor is
 * copied out of its storage here, views included
 * (storage offsets, strides, several tensors sharing one storage as tied weights do). The result has the
 * shape the safetensors reader gives, so `MiniMindForCausalLM.fromStateDict` loads it. A file may hold the
 * state dict itself (`torch.save(model.state_dict())`) or a checkpoint dict with the state dict under a key
 * (upstream's `*_resume.pth`: `model`, with optimizer, epoch, step…). Not read: the tar-based format of
 * PyTorch < 0.4, big-endian files, other storage kinds (quantized, sparse), views larger than their storage.
 */

import { readPickle } from "./pickle.js";
import {
  describe,
  PickleDict,
  type PickleKey,
  type PickleValue,
  type StorageReference,
  TensorReference,
} from "./pickle-values.js";
import { isLegacyPth, readLegacyPth } from "./pth-legacy.js";
import { type InflateRaw, readZipArchive } from "./pytorch-zip.js";
import {
  dtypeByteSize,
  elementArrayConstructors,
  type SafetensorsDtype,
  type SafetensorsTensor,
} from "./safetensors.js";

export interface ReadPthOptions {
  /** Names the file in error messages. */
  readonly source?: string;
  /** Inflates deflated zip entries (torch writes none); the Node helpers pass node:zlib's. */
  readonly inflateRaw?: InflateRaw;
  /**
   * Where the state dict is when the file holds a checkpoint dict: its key. By default the file's value
   * itself when it is a dict of tensors, else its `model` entry (upstream's resume checkpoints).
   */
  readonly key?: string;
}

/** An opened checkpoint: the unpickled value (tensors not yet read) and a way to read any of its tensors. */
export interface PthArchive {
  /**
   * The folder name inside the zip (`archive` for files torch writes to a buffer, else the file's stem); ""
   * for a legacy (pre-1.6) file, which has none.
   */
  readonly archiveName: string;
  readonly value: PickleValue;
  /** Copies one tensor out of its storage (`name` labels errors). */
  readTensor(tensor: TensorReference, name: string): SafetensorsTensor;
}

/** A state dict read from a `.pth` file, and the key it was found under (`undefined`: the file's value itself). */
export interface PthContents {
  readonly tensors: Map<string, SafetensorsTensor>;
  readonly key: string | undefined;
}

type ElementArray = InstanceType<(typeof elementArrayConstructors)[SafetensorsDtype]>;

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fail(source: string, message: string): never {
  throw new Error(`[pth] ${source}: ${message}`);
}

/**
 * Opens a `torch.save` file: checks the archive (or the legacy layout), reads the pickle with the restricted
 * unpickler (refusing any global a state dict does not use) and checks the byte order. Tensor bytes are read
 * on demand.
 */
export function openPth(bytes: Uint8Array | ArrayBuffer, options: ReadPthOptions = {}): PthArchive {
  const source = options.source ?? "<bytes>";
  if (!hostIsLittleEndian) fail(source, "this reader needs a little-endian host");
  const file = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (isLegacyPth(file)) {
    const legacy = readLegacyPth(file, source);
    const storageBytes: StorageBytes = (storage, label) => {
      const found = legacy.storages.get(storage.key);
      if (found === undefined) fail(label, `its storage ${storage.key} is not in the file's storage list`);
      return found;
    };
    return archiveOf("", legacy.value, storageBytes, source);
  }
  const zip = readZipArchive(file, { source, inflateRaw: options.inflateRaw });
  const first = zip.entries.keys().next().value;
  const slash = first?.indexOf("/") ?? -1;
  if (first === undefined || slash <= 0) {
    fail(source, "the zip has no <archive>/data.pkl record first; this is not a torch.save file");
  }
  const archiveName = first.slice(0, slash);
  const pickleName = `${archiveName}/data.pkl`;
  if (!zip.entries.has(pickleName)) fail(source, `the zip has no ${pickleName} record; this is not a torch.save file`);
  const byteOrderName = `${archiveName}/byteorder`;
  if (zip.entries.has(byteOrderName)) {
    const order = new TextDecoder().decode(zip.read(byteOrderName));
    if (order !== "little")
      fail(source, `${byteOrderName} is ${JSON.stringify(order)}; only little-endian files are read`);
  }
  const value = readPickle(zip.read(pickleName), { source: `${source}: ${pickleName}` });
  const records = new Map<string, Uint8Array>();
  const storageBytes: StorageBytes = (storage, label) => {
    const cached = records.get(storage.key);
    if (cached !== undefined) return cached;
    const record = `${archiveName}/data/${storage.key}`;
    if (!zip.entries.has(record)) fail(label, `its storage record ${record} is not in the archive`);
    const data = zip.read(record);
    const expected = storage.elementCount * dtypeByteSize(storage.dtype);
    if (data.byteLength !== expected) {
      fail(
        label,
        `storage record ${record} has ${data.byteLength} bytes, but the pickle says ${storage.elementCount} × ${dtypeByteSize(storage.dtype)}-byte ${storage.dtype} = ${expected}`,
      );
    }
    records.set(storage.key, data);
    return data;
  };
  return archiveOf(archiveName, value, storageBytes, source);
}

/** The bytes of one storage, exactly its element count × element size; `label` names the tensor in errors. */
type StorageBytes = (storage: StorageReference, label: string) => Uint8Array;

function archiveOf(archiveName: string, value: PickleValue, storageBytes: StorageBytes, source: string): PthArchive {
  const readTensor = (tensor: TensorReference, name: string) =>
    materialise(tensor, storageBytes, `${source}: tensor ${JSON.stringify(name)}`);
  return { archiveName, value, readTensor };
}

/**
 * Reads the state dict of a `.pth` file (see ReadPthOptions.key for where it is looked for) as
 * name → { dtype, shape, data }, every tensor in its own array (tied weights become two equal copies).
 */
export function readPth(bytes: Uint8Array | ArrayBuffer, options: ReadPthOptions = {}): PthContents {
  const source = options.source ?? "<bytes>";
  const archive = openPth(bytes, options);
  const where = archive.archiveName === "" ? source : `${source}: ${archive.archiveName}/data.pkl`;
  const { dict, key } = findStateDict(archive.value, options.key, where);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, value] of dict.entries) {
    if (typeof name !== "string") fail(source, `the state dict has a key ${describe(name)}; names must be strings`);
    if (!(value instanceof TensorReference)) {
      fail(source, `state dict entry ${JSON.stringify(name)} is ${describe(value)}, not a tensor`);
    }
    tensors.set(name, archive.readTensor(value, name));
  }
  return { tensors, key };
}

function isStateDict(value: PickleValue | undefined): value is PickleDict {
  if (!(value instanceof PickleDict)) return false;
  for (const entry of value.entries.values()) if (!(entry instanceof TensorReference)) return false;
  return true;
}

function findStateDict(
  value: PickleValue,
  key: string | undefined,
  where: string,
): { dict: PickleDict; key: string | undefined } {
  if (!(value instanceof PickleDict)) fail(where, `the file holds ${describe(value)}, not a state dict`);
  if (key === undefined && isStateDict(value)) return { dict: value, key: undefined };
  const wanted = key ?? "model";
  const inner = value.entries.get(wanted);
  if (inner instanceof PickleDict) return { dict: inner, key: wanted };
  const keys = [...value.entries.keys()].slice(0, 12).map((each: PickleKey) => describe(each));
  const found = inner === undefined ? "there is none" : `it is ${describe(inner)}`;
  return fail(
    where,
    `the file holds a dict of ${value.entries.size} (keys ${keys.join(", ")}) that is not a state dict, and its ${JSON.stringify(wanted)} entry is not one either (${found}); pass \`key\` to name where the state dict is`,
  );
}

/** Copies a (possibly strided) view of a storage into a fresh, contiguous, row-major array. */
function materialise(tensor: TensorReference, storageBytes: StorageBytes, label: string): SafetensorsTensor {
  const { storage, shape, stride, storageOffset } = tensor;
  const dtype = storage.dtype;
  const itemSize = dtypeByteSize(dtype);
  const bytes = storageBytes(storage, label);
  let elements = 1;
  let lastIndex = storageOffset;
  for (let axis = 0; axis < shape.length; axis++) {
    const size = shape[axis] as number;
    elements *= size;
    if (size > 0) lastIndex += (size - 1) * (stride[axis] as number);
    if (!Number.isSafeInteger(elements) || !Number.isSafeInteger(lastIndex)) {
      fail(label, `shape [${shape.join(", ")}] with stride [${stride.join(", ")}] is too large to address`);
    }
  }
  const view = `shape [${shape.join(", ")}], stride [${stride.join(", ")}], offset ${storageOffset}`;
  if (elements > 0 && lastIndex >= storage.elementCount) {
    fail(label, `the view (${view}) reaches element ${lastIndex} of a ${storage.elementCount}-element storage`);
  }
  if (elements > storage.elementCount) {
    fail(
      label,
      `the view (${view}) has more elements than its storage (${storage.elementCount}); expanded views are not read`,
    );
  }
  const Constructor = elementArrayConstructors[dtype];
  const result = { dtype, shape: [...shape] } as { dtype: SafetensorsDtype; shape: number[] };
  if (isRowMajor(shape, stride)) {
    const copy = new Uint8Array(elements * itemSize);
    copy.set(bytes.subarray(storageOffset * itemSize, (storageOffset + elements) * itemSize));
    return { ...result, data: new Constructor(copy.buffer, 0, elements) } as SafetensorsTensor;
  }
  const aligned = new Uint8Array(bytes.byteLength); // the storage, aligned for a typed view
  aligned.set(bytes);
  const source = new Constructor(aligned.buffer, 0, storage.elementCount) as ElementArray;
  const output = new Constructor(elements) as ElementArray;
  const counter = new Array<number>(shape.length).fill(0);
  let index = storageOffset;
  for (let position = 0; position < elements; position++) {
    (output as unknown as Record<number, unknown>)[position] = source[index];
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      const count = (counter[axis] as number) + 1;
      if (count < (shape[axis] as number)) {
        counter[axis] = count;
        index += stride[axis] as number;
        break;
      }
      counter[axis] = 0;
      index -= (count - 1) * (stride[axis] as number);
    }
  }
  return { ...result, data: output } as SafetensorsTensor;
}

/** Whether `stride` is the row-major (C-contiguous) layout of `shape`; axes of size 1 may have any stride. */
function isRowMajor(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const size = shape[axis] as number;
    if (size === 0) return true;
    if (size !== 1 && stride[axis] !== expected) return false;
    expected *= size;
  }
  return true;
}
