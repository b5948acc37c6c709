/**
 * A restricted reader of the pickle streams inside `torch.save` files (`data.pkl`), safe for browsers. It
 * interprets the opcodes a state dict, an optimizer state or an upstream resume checkpoint use (protocol 2 as
 * torch writes it, plus the protocol 3–5 opcodes for the same values) and builds plain data: numbers, strings,
 * lists, tuples, dicts, and descriptions of storages and tensors. It calls nothing: the only globals it
 * accepts are `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter`
 * and the typed storage classes, each applied by code here; any other global is refused, by name, where it
 * appears. It reads no tensor bytes (see pth.ts) and is not a general unpickler: no classes, no NEWOBJ, no
 * BUILD except an OrderedDict's attributes, no extension registry.
 */

import {
  describe,
  PickleDict,
  PickleGlobal,
  type PickleKey,
  PickleTuple,
  type PickleValue,
  STORAGE_CLASS_DTYPES,
  StorageReference,
  TensorReference,
} from "./pickle-values.js";

const allowedFunctions = new Set([
  "collections.OrderedDict",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_parameter",
]);

function isAllowedGlobal(module: string, name: string): boolean {
  if (allowedFunctions.has(`${module}.${name}`)) return true;
  return module === "torch" && Object.hasOwn(STORAGE_CLASS_DTYPES, name);
}

const allowedList = `${[...allowedFunctions].join(", ")} and torch.<Type>Storage (${Object.keys(STORAGE_CLASS_DTYPES).join(", ")})`;

const mark = Symbol("mark");
type StackItem = PickleValue | typeof mark;

/** The opcodes this reader interprets, by their names in Python's pickletools. */
const Op = {
  PROTO: 0x80,
  FRAME: 0x95,
  STOP: 0x2e,
  MARK: 0x28,
  EMPTY_DICT: 0x7d,
  EMPTY_LIST: 0x5d,
  EMPTY_TUPLE: 0x29,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  LIST: 0x6c,
  DICT: 0x64,
  APPEND: 0x61,
  APPENDS: 0x65,
  SETITEM: 0x73,
  SETITEMS: 0x75,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  MEMOIZE: 0x94,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  LONG1: 0x8a,
  BINFLOAT: 0x47,
  NONE: 0x4e,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BINUNICODE: 0x58,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  SHORT_BINBYTES: 0x43,
  BINBYTES: 0x42,
  GLOBAL: 0x63,
  STACK_GLOBAL: 0x93,
  REDUCE: 0x52,
  BUILD: 0x62,
  BINPERSID: 0x51,
  POP: 0x30,
  DUP: 0x32,
  POP_MARK: 0x31,
} as const;

/** Opcodes it refuses, named in the error: objects, extensions, text-mode values, sets, buffers. */
const refusedOpcodes = {
  NEWOBJ: 0x81,
  NEWOBJ_EX: 0x92,
  INST: 0x69,
  OBJ: 0x6f,
  PERSID: 0x50,
  EXT1: 0x82,
  EXT2: 0x83,
  EXT4: 0x84,
  PUT: 0x70,
  GET: 0x67,
  INT: 0x49,
  LONG: 0x4c,
  FLOAT: 0x46,
  STRING: 0x53,
  BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55,
  UNICODE: 0x56,
  LONG4: 0x8b,
  BINBYTES8: 0x8e,
  EMPTY_SET: 0x8f,
  ADDITEMS: 0x90,
  FROZENSET: 0x91,
  BYTEARRAY8: 0x96,
  NEXT_BUFFER: 0x97,
  READONLY_BUFFER: 0x98,
} as const;

const opcodeNames = new Map<number, string>(
  [...Object.entries(Op), ...Object.entries(refusedOpcodes)].map(([name, code]) => [code, name]),
);

export interface ReadPickleOptions {
  /** Names the stream in error messages, e.g. `model.pth: archive/data.pkl`. */
  readonly source?: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Interprets a restricted pickle stream and returns the value it builds. Throws an Error naming `source`,
 * the byte offset and the fault for a refused global or opcode, malformed data, or a stream that ends early.
 */
export function readPickle(bytes: Uint8Array, options: ReadPickleOptions = {}): PickleValue {
  return readPickleAt(bytes, 0, options).value;
}

/** One pickle read from `start`: its value, the offset just past its STOP, and every storage it names by key. */
export interface PickleRead {
  readonly value: PickleValue;
  readonly end: number;
  readonly storages: ReadonlyMap<string, StorageReference>;
}

/**
 * Reads the pickle that starts at byte `start` of `bytes`, for files that hold several pickles in a row
 * (the legacy torch.save format). Error offsets count from the start of `bytes`.
 */
export function readPickleAt(bytes: Uint8Array, start: number, options: ReadPickleOptions = {}): PickleRead {
  const unpickler = new Unpickler(bytes, options.source ?? "<pickle>", start);
  const value = unpickler.run();
  return { value, end: unpickler.end, storages: unpickler.storages };
}

class Unpickler {
  private opcodeStart = 0;
  readonly storages = new Map<string, StorageReference>();
  private stack: StackItem[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PickleValue>();
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly source: string,
    private position: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The offset just past the last opcode read (past STOP once run() has returned). */
  get end(): number {
    return this.position;
  }

  private fail(message: string): never {
    throw new Error(`[pth] ${this.source}: byte ${this.opcodeStart}: ${message}`);
  }

  private take(length: number, what: string): number {
    if (length < 0 || this.position + length > this.bytes.byteLength) {
      this.fail(
        `the stream ends inside ${what} (needs ${length} bytes, ${this.bytes.byteLength - this.position} left)`,
      );
    }
    const start = this.position;
    this.position += length;
    return start;
  }

  /** The lowest stack index a value may be taken from: just above the last MARK. */
  private floor(): number {
    return this.marks.length > 0 ? (this.marks[this.marks.length - 1] as number) + 1 : 0;
  }

  private pop(what: string): PickleValue {
    if (this.stack.length <= this.floor()) this.fail(`${what} finds no value on the stack`);
    return this.stack.pop() as PickleValue;
  }

  private top(what: string): PickleValue {
    if (this.stack.length <= this.floor()) this.fail(`${what} finds no value on the stack`);
    return this.stack[this.stack.length - 1] as PickleValue;
  }

  /** The values pushed since the last MARK, removing them and the mark. */
  private popMark(what: string): PickleValue[] {
    const start = this.marks.pop();
    if (start === undefined) this.fail(`${what} has no MARK before it`);
    const items = this.stack.slice(start + 1) as PickleValue[];
    this.stack.length = start;
    return items;
  }

  private readString(length: number, what: string): string {
    const start = this.take(length, what);
    try {
      return utf8.decode(this.bytes.subarray(start, start + length));
    } catch {
      this.fail(`${what} is not valid UTF-8`);
    }
  }

  private readLine(what: string): string {
    const end = this.bytes.indexOf(0x0a, this.position);
    if (end < 0) this.fail(`the stream ends inside ${what}`);
    const text = this.readString(end - this.position, what);
    this.position += 1;
    return text;
  }

  private memoize(index: number, value: PickleValue): void {
    this.memo.set(index, value);
  }

  private recall(index: number): PickleValue {
    const value = this.memo.get(index);
    if (value === undefined) this.fail(`memo entry ${index} is read before it is written`);
    return value;
  }

  private global(module: string, name: string): PickleGlobal {
    if (!isAllowedGlobal(module, name)) {
      this.fail(`global ${module}.${name} is not allowed; a state dict uses only ${allowedList}`);
    }
    return new PickleGlobal(module, name);
  }

  run(): PickleValue {
    const bytes = this.bytes;
    for (;;) {
      this.opcodeStart = this.position;
      if (this.position >= bytes.byteLength) this.fail("the stream ends without a STOP opcode");
      const opcode = bytes[this.position++] as number;
      switch (opcode) {
        case Op.PROTO: {
          const protocol = bytes[this.take(1, "PROTO")] as number;
          if (protocol < 2 || protocol > 5) this.fail(`pickle protocol ${protocol} is not supported (torch writes 2)`);
          break;
        }
        case Op.FRAME: // an 8-byte length, a framing hint only
          this.take(8, "FRAME");
          break;
        case Op.STOP: {
          const value = this.pop("STOP");
          if (this.stack.length !== 0 || this.marks.length !== 0) this.fail("STOP leaves values on the stack");
          return value;
        }
        case Op.MARK:
          this.marks.push(this.stack.length);
          this.stack.push(mark);
          break;
        case Op.POP_MARK:
          this.popMark("POP_MARK");
          break;
        case Op.POP:
          this.pop("POP");
          break;
        case Op.DUP:
          this.stack.push(this.top("DUP"));
          break;
        case Op.EMPTY_DICT:
          this.stack.push(new PickleDict("dict"));
          break;
        case Op.EMPTY_LIST:
          this.stack.push([]);
          break;
        case Op.EMPTY_TUPLE:
          this.stack.push(new PickleTuple([]));
          break;
        case Op.TUPLE:
          this.stack.push(new PickleTuple(this.popMark("TUPLE")));
          break;
        case Op.TUPLE1:
        case Op.TUPLE2:
        case Op.TUPLE3: {
          const count = opcode === Op.TUPLE1 ? 1 : opcode === Op.TUPLE2 ? 2 : 3;
          const items: PickleValue[] = [];
          for (let index = 0; index < count; index++) items.unshift(this.pop(opcodeNames.get(opcode) as string));
          this.stack.push(new PickleTuple(items));
          break;
        }
        case Op.LIST:
          this.stack.push(this.popMark("LIST"));
          break;
        case Op.DICT: {
          const dict = new PickleDict("dict");
          this.setItems(dict, this.popMark("DICT"), "DICT");
          this.stack.push(dict);
          break;
        }
        case Op.APPEND: {
          const value = this.pop("APPEND");
          this.asList(this.top("APPEND"), "APPEND").push(value);
          break;
        }
        case Op.APPENDS: {
          const items = this.popMark("APPENDS");
          const list = this.asList(this.top("APPENDS"), "APPENDS");
          for (const item of items) list.push(item);
          break;
        }
        case Op.SETITEM: {
          const value = this.pop("SETITEM");
          const key = this.pop("SETITEM");
          this.setItems(this.asDict(this.top("SETITEM"), "SETITEM"), [key, value], "SETITEM");
          break;
        }
        case Op.SETITEMS: {
          const items = this.popMark("SETITEMS");
          this.setItems(this.asDict(this.top("SETITEMS"), "SETITEMS"), items, "SETITEMS");
          break;
        }
        case Op.BINPUT:
          this.memoize(bytes[this.take(1, "BINPUT")] as number, this.top("BINPUT"));
          break;
        case Op.LONG_BINPUT:
          this.memoize(this.view.getUint32(this.take(4, "LONG_BINPUT"), true), this.top("LONG_BINPUT"));
          break;
        case Op.MEMOIZE:
          this.memoize(this.memo.size, this.top("MEMOIZE"));
          break;
        case Op.BINGET:
          this.stack.push(this.recall(bytes[this.take(1, "BINGET")] as number));
          break;
        case Op.LONG_BINGET:
          this.stack.push(this.recall(this.view.getUint32(this.take(4, "LONG_BINGET"), true)));
          break;
        case Op.BININT:
          this.stack.push(this.view.getInt32(this.take(4, "BININT"), true));
          break;
        case Op.BININT1:
          this.stack.push(bytes[this.take(1, "BININT1")] as number);
          break;
        case Op.BININT2:
          this.stack.push(this.view.getUint16(this.take(2, "BININT2"), true));
          break;
        case Op.LONG1:
          this.stack.push(this.readLong1());
          break;
        case Op.BINFLOAT:
          this.stack.push(this.view.getFloat64(this.take(8, "BINFLOAT"), false));
          break;
        case Op.NONE:
          this.stack.push(null);
          break;
        case Op.NEWTRUE:
          this.stack.push(true);
          break;
        case Op.NEWFALSE:
          this.stack.push(false);
          break;
        case Op.BINUNICODE:
          this.stack.push(
            this.readString(this.view.getUint32(this.take(4, "BINUNICODE"), true), "a BINUNICODE string"),
          );
          break;
        case Op.SHORT_BINUNICODE:
          this.stack.push(
            this.readString(bytes[this.take(1, "SHORT_BINUNICODE")] as number, "a SHORT_BINUNICODE string"),
          );
          break;
        case Op.BINUNICODE8: {
          const length = this.view.getBigUint64(this.take(8, "BINUNICODE8"), true);
          if (length > BigInt(bytes.byteLength))
            this.fail(`a BINUNICODE8 string of ${length} bytes runs past the stream`);
          this.stack.push(this.readString(Number(length), "a BINUNICODE8 string"));
          break;
        }
        case Op.SHORT_BINBYTES:
        case Op.BINBYTES: {
          const length =
            opcode === Op.SHORT_BINBYTES
              ? (bytes[this.take(1, "SHORT_BINBYTES")] as number)
              : this.view.getUint32(this.take(4, "BINBYTES"), true);
          const start = this.take(length, "a bytes value");
          this.stack.push(bytes.slice(start, start + length));
          break;
        }
        case Op.GLOBAL: {
          const module = this.readLine("a GLOBAL module name");
          const name = this.readLine("a GLOBAL name");
          this.stack.push(this.global(module, name));
          break;
        }
        case Op.STACK_GLOBAL: {
          const name = this.pop("STACK_GLOBAL");
          const module = this.pop("STACK_GLOBAL");
          if (typeof module !== "string" || typeof name !== "string") this.fail("STACK_GLOBAL needs two strings");
          this.stack.push(this.global(module, name));
          break;
        }
        case Op.REDUCE: {
          const argumentsValue = this.pop("REDUCE");
          const callable = this.pop("REDUCE");
          this.stack.push(this.reduce(callable, argumentsValue));
          break;
        }
        case Op.BUILD: {
          const state = this.pop("BUILD");
          const target = this.top("BUILD");
          if (!(target instanceof PickleDict) || target.kind !== "OrderedDict") {
            this.fail(`BUILD on ${describe(target)} is not allowed; only an OrderedDict's attributes are read`);
          }
          if (!(state instanceof PickleDict))
            this.fail(`BUILD state for an OrderedDict is ${describe(state)}, not a dict`);
          target.attributes = state;
          break;
        }
        case Op.BINPERSID:
          this.stack.push(this.persistentLoad(this.pop("BINPERSID")));
          break;
        default: {
          const name = opcodeNames.get(opcode);
          this.fail(
            name === undefined
              ? `unknown opcode 0x${opcode.toString(16).padStart(2, "0")}`
              : `opcode ${name} is not allowed in a state dict`,
          );
        }
      }
    }
  }

  private readLong1(): number | bigint {
    const length = this.bytes[this.take(1, "LONG1")] as number;
    const start = this.take(length, "a LONG1 integer");
    if (length === 0) return 0;
    let value = 0n;
    for (let index = length - 1; index >= 0; index--) {
      value = (value << 8n) | BigInt(this.bytes[start + index] as number);
    }
    if ((this.bytes[start + length - 1] as number) & 0x80) value -= 1n << BigInt(8 * length);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  private asList(value: PickleValue, what: string): PickleValue[] {
    if (!Array.isArray(value)) this.fail(`${what} needs a list, found ${describe(value)}`);
    return value;
  }

  private asDict(value: PickleValue, what: string): PickleDict {
    if (!(value instanceof PickleDict)) this.fail(`${what} needs a dict, found ${describe(value)}`);
    return value;
  }

  private setItems(dict: PickleDict, items: PickleValue[], what: string): void {
    if (items.length % 2 !== 0) this.fail(`${what} has an odd number of values (${items.length}); keys need values`);
    for (let index = 0; index < items.length; index += 2) {
      const key = items[index] as PickleValue;
      if (!isKey(key))
        this.fail(`${what}: a dict key is ${describe(key)}; only str, int, float, bool and None keys are read`);
      dict.entries.set(key, items[index + 1] as PickleValue);
    }
  }

  /**
   * A storage's persistent id: ("storage", torch.<Type>Storage, key, location, size), plus a sixth item in
   * the legacy format, the view metadata, which is None for every storage torch ≥ 1.0 writes.
   */
  private persistentLoad(id: PickleValue): StorageReference {
    const items = id instanceof PickleTuple ? id.items : undefined;
    const legacyView = items?.length === 6 ? items[5] : null;
    if (items === undefined || (items.length !== 5 && items.length !== 6) || items[0] !== "storage") {
      this.fail(`a persistent id is ${describe(id)}; expected ("storage", torch.<Type>Storage, key, location, size)`);
    }
    if (legacyView !== null)
      this.fail(`a persistent id has view metadata ${describe(legacyView)}; storage views are not read`);
    const [, storageClass, key, location, size] = items;
    if (!(storageClass instanceof PickleGlobal) || storageClass.module !== "torch") {
      this.fail(`a persistent id names storage type ${describe(storageClass)}; expected torch.<Type>Storage`);
    }
    const dtype = STORAGE_CLASS_DTYPES[storageClass.name];
    if (dtype === undefined) this.fail(`storage type torch.${storageClass.name} is not a typed storage class`);
    if (typeof key !== "string" || !/^[A-Za-z0-9_.-]+$/.test(key)) {
      this.fail(`a persistent id has storage key ${describe(key)}; expected a plain name like "0"`);
    }
    if (typeof location !== "string") this.fail(`storage ${key} has location ${describe(location)}, not a string`);
    if (!isCount(size)) this.fail(`storage ${key} has size ${describe(size)}; expected a non-negative integer`);
    const storage = new StorageReference(key, dtype, `torch.${storageClass.name}`, size, location);
    const seen = this.storages.get(key);
    if (seen !== undefined && (seen.dtype !== dtype || seen.elementCount !== size)) {
      this.fail(
        `storage ${key} is named as ${seen.elementCount} × ${seen.dtype} and as ${size} × ${dtype}; one key, one storage`,
      );
    }
    this.storages.set(key, storage);
    return storage;
  }

  private reduce(callable: PickleValue, argumentsValue: PickleValue): PickleValue {
    if (!(callable instanceof PickleGlobal)) this.fail(`REDUCE calls ${describe(callable)}, which is not a callable`);
    if (!(argumentsValue instanceof PickleTuple))
      this.fail(`REDUCE arguments are ${describe(argumentsValue)}, not a tuple`);
    const items = argumentsValue.items;
    const qualified = `${callable.module}.${callable.name}`;
    switch (qualified) {
      case "collections.OrderedDict":
        if (items.length !== 0)
          this.fail(`collections.OrderedDict is called with ${items.length} arguments; expected none`);
        return new PickleDict("OrderedDict");
      case "torch._utils._rebuild_tensor_v2":
        return this.rebuildTensor(items);
      case "torch._utils._rebuild_parameter": {
        const [data, requiresGrad] = items;
        if (items.length !== 3 || !(data instanceof TensorReference) || typeof requiresGrad !== "boolean") {
          this.fail(`_rebuild_parameter takes (tensor, requires_grad, hooks), got ${describe(argumentsValue)}`);
        }
        return new TensorReference(data.storage, data.storageOffset, data.shape, data.stride, requiresGrad);
      }
      default:
        return this.fail(`${qualified} cannot be called; it is a storage class`);
    }
  }

  private rebuildTensor(items: readonly PickleValue[]): TensorReference {
    const [storage, offset, size, stride, requiresGrad] = items;
    const expected = "(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])";
    if (items.length !== 6 && items.length !== 7) {
      this.fail(`_rebuild_tensor_v2 takes ${expected}, got ${items.length} arguments`);
    }
    if (!(storage instanceof StorageReference)) this.fail(`_rebuild_tensor_v2's storage is ${describe(storage)}`);
    if (!isCount(offset)) this.fail(`_rebuild_tensor_v2's storage_offset is ${describe(offset)}`);
    const shape = countTuple(size);
    const strides = countTuple(stride);
    if (shape === undefined) this.fail(`_rebuild_tensor_v2's size is ${describe(size)}; expected a tuple of counts`);
    if (strides === undefined || strides.length !== shape.length) {
      this.fail(`_rebuild_tensor_v2's stride is ${describe(stride)}; expected ${shape.length} non-negative integers`);
    }
    if (typeof requiresGrad !== "boolean") this.fail(`_rebuild_tensor_v2's requires_grad is ${describe(requiresGrad)}`);
    return new TensorReference(storage, offset, shape, strides, requiresGrad);
  }
}

function isKey(value: PickleValue): value is PickleKey {
  return value === null || ["string", "number", "bigint", "boolean"].includes(typeof value);
}

function isCount(value: PickleValue | undefined): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function countTuple(value: PickleValue | undefined): number[] | undefined {
  if (!(value instanceof PickleTuple) || !value.items.every(isCount)) return undefined;
  return value.items as number[];
}
