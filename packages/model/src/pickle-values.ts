/**
 * The values the restricted unpickler (pickle.ts) builds from a `torch.save` pickle: tuples, dicts, the
 * allowed globals, and descriptions of storages and tensors that are not yet read (pth.ts reads them).
 * Plain data only — nothing here can run code — and a bounded describer for error messages.
 */

import type { SafetensorsDtype } from "./safetensors.js";

/** A Python tuple (kept apart from lists, which are JS arrays). */
export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** Dictionary keys this reader accepts: Python str, int, float, bool and None. */
export type PickleKey = string | number | bigint | boolean | null;

/** A Python dict or collections.OrderedDict, its entries in insertion order. */
export class PickleDict {
  readonly entries = new Map<PickleKey, PickleValue>();
  /** Attributes set by BUILD (an OrderedDict's `_metadata`, say), kept but not interpreted. */
  attributes: PickleDict | undefined;
  constructor(readonly kind: "dict" | "OrderedDict") {}
}

/** One of the allowed globals (the reader refuses every other one). */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

/** A typed storage named by a persistent id: its record key, element type and element count. */
export class StorageReference {
  constructor(
    readonly key: string,
    readonly dtype: SafetensorsDtype,
    readonly storageClass: string,
    readonly elementCount: number,
    readonly location: string,
  ) {}
}

/** A tensor as `_rebuild_tensor_v2` describes it: a view of a storage (not yet read). */
export class TensorReference {
  constructor(
    readonly storage: StorageReference,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
  ) {}
}

/** Everything a restricted pickle can produce. Python ints beyond ±2^53 become bigint, floats are numbers. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PickleTuple
  | PickleDict
  | PickleGlobal
  | StorageReference
  | TensorReference;

/** The storage classes `torch.save` names in persistent ids, and the element type each holds. */
export const STORAGE_CLASS_DTYPES: Readonly<Record<string, SafetensorsDtype>> = {
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  DoubleStorage: "F64",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
};

/** A short description of a value for error messages; never recurses (values may be cyclic). */
export function describe(value: PickleValue | undefined): string {
  if (value === undefined) return "nothing";
  if (value === null) return "None";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (value instanceof Uint8Array) return `bytes of length ${value.byteLength}`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value instanceof PickleTuple) return `a tuple of ${value.items.length}`;
  if (value instanceof PickleDict)
    return `${value.kind === "dict" ? "a dict" : "an OrderedDict"} of ${value.entries.size}`;
  if (value instanceof PickleGlobal) return `global ${value.module}.${value.name}`;
  if (value instanceof StorageReference) return `storage ${value.key} (${value.storageClass})`;
  return `a tensor [${value.shape.join(", ")}] of storage ${value.storage.key}`;
}
