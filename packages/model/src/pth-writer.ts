/**
 * Writes PyTorch checkpoints in upstream's layout, on plain bytes (browser-safe): a zip (pytorch-zip.ts) of
 * `archive/data.pkl`, `archive/byteorder`, one `archive/data/<key>` record per storage and `archive/version`,
 * where `data.pkl` is a protocol-2 pickle of a `collections.OrderedDict` of `torch._utils._rebuild_tensor_v2`
 * tensors — what `torch.save(model.state_dict())` writes and `torch.load(weights_only=True)` accepts. Tensors
 * whose `data` is the same typed-array object share one storage (tied weights, as PyTorch saves them).
 * This writes state dicts only: no optimizer state, no other Python objects, no files (see pth-files.ts).
 */

import type { MiniMindConfig } from "./config.js";
import { STORAGE_CLASS_DTYPES } from "./pickle-values.js";
import { writeZipArchive } from "./pytorch-zip.js";
import { elementArrayConstructors, type SafetensorsDtype, type SafetensorsTensor, shapeSize } from "./safetensors.js";

export interface WritePthOptions {
  /** Names the file in error messages. */
  readonly source?: string;
  /** The folder name inside the zip; torch uses `archive` when it saves to a buffer. */
  readonly archiveName?: string;
}

const storageClassByDtype = new Map<SafetensorsDtype, string>(
  Object.entries(STORAGE_CLASS_DTYPES).map(([storageClass, dtype]) => [dtype, storageClass]),
);

/** The protocol-2 opcodes this writer emits. */
const opcode = {
  proto: 0x80,
  stop: 0x2e,
  mark: 0x28,
  emptyTuple: 0x29,
  tuple: 0x74,
  tuple1: 0x85,
  tuple2: 0x86,
  tuple3: 0x87,
  setItems: 0x75,
  binPut: 0x71,
  longBinPut: 0x72,
  binGet: 0x68,
  longBinGet: 0x6a,
  binInt: 0x4a,
  binInt1: 0x4b,
  binInt2: 0x4d,
  long1: 0x8a,
  newFalse: 0x89,
  binUnicode: 0x58,
  global: 0x63,
  reduce: 0x52,
  binPersistentId: 0x51,
} as const;

/** Emits pickle opcodes into a growing buffer; repeated globals and strings are memoized (BINPUT/BINGET). */
class PickleWriter {
  private buffer = new Uint8Array(4096);
  private length = 0;
  private readonly memo = new Map<string, number>();
  private readonly encoder = new TextEncoder();

  private reserve(count: number): void {
    if (this.length + count <= this.buffer.byteLength) return;
    const grown = new Uint8Array(Math.max(this.buffer.byteLength * 2, this.length + count));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  bytes(values: Uint8Array): void {
    this.reserve(values.byteLength);
    this.buffer.set(values, this.length);
    this.length += values.byteLength;
  }

  uint32(value: number): void {
    this.reserve(4);
    new DataView(this.buffer.buffer).setUint32(this.length, value, true);
    this.length += 4;
  }

  /** Pushes a memoized value again, or emits it with `emit` and memoizes it under `memoKey`. */
  private memoized(memoKey: string, emit: () => void): void {
    const index = this.memo.get(memoKey);
    if (index !== undefined) {
      this.memoOpcode(index, opcode.binGet, opcode.longBinGet);
      return;
    }
    emit();
    const next = this.memo.size;
    this.memo.set(memoKey, next);
    this.memoOpcode(next, opcode.binPut, opcode.longBinPut);
  }

  /** BINGET/BINPUT with a one-byte index, or their LONG_ forms with four bytes. */
  private memoOpcode(index: number, short: number, long: number): void {
    if (index < 256) {
      this.byte(short);
      this.byte(index);
    } else {
      this.byte(long);
      this.uint32(index);
    }
  }

  global(module: string, name: string): void {
    this.memoized(`global ${module} ${name}`, () => {
      this.byte(opcode.global);
      this.bytes(this.encoder.encode(`${module}\n${name}\n`));
    });
  }

  string(value: string): void {
    this.memoized(`string ${value}`, () => {
      const encoded = this.encoder.encode(value);
      this.byte(opcode.binUnicode);
      this.uint32(encoded.byteLength);
      this.bytes(encoded);
    });
  }

  /** A non-negative Python int: BININT1 / BININT2 / BININT by size, LONG1 from 2^31 on. */
  integer(value: number): void {
    if (value < 0x100) {
      this.byte(opcode.binInt1);
      this.byte(value);
    } else if (value < 0x10000) {
      this.byte(opcode.binInt2);
      this.byte(value & 0xff);
      this.byte(value >>> 8);
    } else if (value < 0x80000000) {
      this.byte(opcode.binInt);
      this.uint32(value);
    } else {
      // LONG1: little-endian two's complement; one more byte when the top bit would read as a sign
      const digits: number[] = [];
      for (let remaining = BigInt(value); remaining > 0n; remaining >>= 8n) digits.push(Number(remaining & 0xffn));
      if (((digits[digits.length - 1] as number) & 0x80) !== 0) digits.push(0);
      this.byte(opcode.long1);
      this.byte(digits.length);
      for (const digit of digits) this.byte(digit);
    }
  }

  tupleOfIntegers(values: readonly number[]): void {
    if (values.length === 0) {
      this.byte(opcode.emptyTuple);
      return;
    }
    const short = [opcode.tuple1, opcode.tuple2, opcode.tuple3][values.length - 1];
    if (short === undefined) this.byte(opcode.mark);
    for (const value of values) this.integer(value);
    this.byte(short ?? opcode.tuple);
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

function fail(source: string, message: string): never {
  throw new Error(`[pth] ${source}: ${message}`);
}

function describeArray(data: unknown): string {
  return (data as { constructor?: { name?: string } } | null)?.constructor?.name ?? typeof data;
}

/** Row-major strides of `shape`, as PyTorch gives a contiguous tensor. */
function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= Math.max(shape[axis] as number, 1);
  }
  return strides;
}

/**
 * Serializes a state dict as a `torch.save` file (see the file header). Accepts every dtype PyTorch has a
 * typed storage for (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL); shapes must match the data length.
 */
export function writePth(
  tensors: ReadonlyMap<string, SafetensorsTensor> | Readonly<Record<string, SafetensorsTensor>>,
  options: WritePthOptions = {},
): Uint8Array {
  const source = options.source ?? "<bytes>";
  const archiveName = options.archiveName ?? "archive";
  if (!/^[A-Za-z0-9_.-]+$/.test(archiveName)) {
    fail(source, `archive name ${JSON.stringify(archiveName)} must be a plain folder name`);
  }
  const named: [string, SafetensorsTensor][] =
    tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, SafetensorsTensor>);
  const storageKeys = new Map<SafetensorsTensor["data"], string>();
  const records: [string, Uint8Array][] = [];
  const pickle = new PickleWriter();
  pickle.byte(opcode.proto);
  pickle.byte(2);
  pickle.global("collections", "OrderedDict");
  pickle.byte(opcode.emptyTuple);
  pickle.byte(opcode.reduce);
  pickle.byte(opcode.mark);
  for (const [name, tensor] of named) {
    const label = `tensor ${JSON.stringify(name)}`;
    const storageClass = storageClassByDtype.get(tensor?.dtype);
    if (storageClass === undefined) {
      fail(
        source,
        `${label} is ${tensor?.dtype}; PyTorch has typed storages only for ${[...storageClassByDtype.keys()].join(", ")}`,
      );
    }
    const expectedArray = elementArrayConstructors[tensor.dtype];
    if (!(tensor.data instanceof expectedArray)) {
      fail(
        source,
        `${label} is ${tensor.dtype} but its data is a ${describeArray(tensor.data)}; expected a ${expectedArray.name}`,
      );
    }
    if (!Array.isArray(tensor.shape) || !tensor.shape.every((size) => Number.isSafeInteger(size) && size >= 0)) {
      fail(source, `${label} has shape ${JSON.stringify(tensor.shape)}; expected non-negative integers`);
    }
    if (shapeSize(tensor.shape) !== tensor.data.length) {
      fail(
        source,
        `${label} has ${tensor.data.length} elements but shape [${tensor.shape.join(", ")}] needs ${shapeSize(tensor.shape)}`,
      );
    }
    let key = storageKeys.get(tensor.data);
    if (key === undefined) {
      key = String(storageKeys.size);
      storageKeys.set(tensor.data, key);
      records.push([
        `${archiveName}/data/${key}`,
        new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength),
      ]);
    }
    pickle.string(name);
    pickle.global("torch._utils", "_rebuild_tensor_v2");
    pickle.byte(opcode.mark);
    // the persistent id: ("storage", torch.<Type>Storage, key, location, element count)
    pickle.byte(opcode.mark);
    pickle.string("storage");
    pickle.global("torch", storageClass);
    pickle.string(key);
    pickle.string("cpu");
    pickle.integer(tensor.data.length);
    pickle.byte(opcode.tuple);
    pickle.byte(opcode.binPersistentId);
    pickle.integer(0); // storage offset
    pickle.tupleOfIntegers(tensor.shape);
    pickle.tupleOfIntegers(contiguousStrides(tensor.shape));
    pickle.byte(opcode.newFalse); // requires_grad
    pickle.global("collections", "OrderedDict"); // backward hooks: an empty OrderedDict
    pickle.byte(opcode.emptyTuple);
    pickle.byte(opcode.reduce);
    pickle.byte(opcode.tuple);
    pickle.byte(opcode.reduce);
  }
  pickle.byte(opcode.setItems);
  pickle.byte(opcode.stop);
  const encoder = new TextEncoder();
  return writeZipArchive(
    [
      [`${archiveName}/data.pkl`, pickle.finish()],
      [`${archiveName}/byteorder`, encoder.encode("little")],
      ...records,
      [`${archiveName}/version`, encoder.encode("3\n")],
    ],
    { source },
  );
}

/**
 * The state dict as upstream's PyTorch model lists it, for `load_state_dict(strict=True)` (upstream's
 * `eval_llm.py`): with `tie_word_embeddings`, `lm_head.weight` is added last as the very same tensor as
 * `model.embed_tokens.weight`, so writePth stores one storage for both, as `torch.save(model.state_dict())`
 * does. A state dict that already has `lm_head.weight`, or an untied config, is returned as a copy unchanged.
 */
export function withTiedLmHead(
  stateDict: ReadonlyMap<string, SafetensorsTensor>,
  config: Pick<MiniMindConfig, "tie_word_embeddings">,
): Map<string, SafetensorsTensor> {
  const output = new Map(stateDict);
  const embedding = stateDict.get("model.embed_tokens.weight");
  if (config.tie_word_embeddings && embedding !== undefined && !output.has("lm_head.weight")) {
    output.set("lm_head.weight", embedding);
  }
  return output;
}
