/**
 * A small emitter of WebAssembly binary modules: LEB128 numbers, the type/import/function/export/code
 * sections, and a function-body builder with one method per instruction we use (i32, f32, SIMD f32x4,
 * locals, memory, structured control flow). Kernels are written against this in `kernels.ts` and compiled
 * at run time, so no opaque binary lives in the repository. Not a general assembler: only the instructions
 * and sections our kernels need, no validation beyond what `WebAssembly.Module` does.
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof F32 | typeof F64 | typeof V128;

export function unsignedLeb128(value: number): number[] {
  const bytes: number[] = [];
  let rest = value >>> 0;
  do {
    let byte = rest & 0x7f;
    rest >>>= 7;
    if (rest !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (rest !== 0);
  return bytes;
}

export function signedLeb128(value: number): number[] {
  const bytes: number[] = [];
  let rest = value | 0;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    const done = (rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}

function encodeString(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...unsignedLeb128(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...unsignedLeb128(items.length), ...items.flat()];
}

function section(id: number, content: number[]): number[] {
  return [id, ...unsignedLeb128(content.length), ...content];
}

const SIMD_PREFIX = 0xfd;

/** Builds one function body. Locals are numbered after the parameters. */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly localTypes: ValueType[] = [];

  constructor(
    readonly name: string,
    readonly params: readonly ValueType[],
    readonly results: readonly ValueType[],
  ) {}

  /** Declares a new local and returns its index. */
  local(type: ValueType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  private bytes(...values: number[]): this {
    this.code.push(...values);
    return this;
  }

  private simd(opcode: number, ...immediates: number[]): this {
    return this.bytes(SIMD_PREFIX, ...unsignedLeb128(opcode), ...immediates);
  }

  // Locals and constants.
  get(index: number): this {
    return this.bytes(0x20, ...unsignedLeb128(index));
  }
  set(index: number): this {
    return this.bytes(0x21, ...unsignedLeb128(index));
  }
  tee(index: number): this {
    return this.bytes(0x22, ...unsignedLeb128(index));
  }
  i32Const(value: number): this {
    return this.bytes(0x41, ...signedLeb128(value));
  }
  f32Const(value: number): this {
    const bytes = new Uint8Array(new Float32Array([value]).buffer);
    return this.bytes(0x43, ...bytes);
  }

  // Memory (alignment hint 0: our addresses are element-aligned only). `offset` is a byte offset.
  i32Load(offset = 0): this {
    return this.bytes(0x28, 2, ...unsignedLeb128(offset));
  }
  f32Load(offset = 0): this {
    return this.bytes(0x2a, 2, ...unsignedLeb128(offset));
  }
  i32Store(offset = 0): this {
    return this.bytes(0x36, 2, ...unsignedLeb128(offset));
  }
  f32Store(offset = 0): this {
    return this.bytes(0x38, 2, ...unsignedLeb128(offset));
  }
  v128Load(offset = 0): this {
    return this.simd(0x00, 0, ...unsignedLeb128(offset));
  }
  v128Store(offset = 0): this {
    return this.simd(0x0b, 0, ...unsignedLeb128(offset));
  }
  /** Loads one f32 and splats it to all four lanes. */
  v128Load32Splat(offset = 0): this {
    return this.simd(0x09, 2, ...unsignedLeb128(offset));
  }

  // Integer arithmetic and comparisons.
  i32Add(): this {
    return this.bytes(0x6a);
  }
  i32Sub(): this {
    return this.bytes(0x6b);
  }
  i32Mul(): this {
    return this.bytes(0x6c);
  }
  i32And(): this {
    return this.bytes(0x71);
  }
  i32Shl(): this {
    return this.bytes(0x74);
  }
  i32Eqz(): this {
    return this.bytes(0x45);
  }
  i32LtS(): this {
    return this.bytes(0x48);
  }
  i32GeS(): this {
    return this.bytes(0x4e);
  }
  i32Eq(): this {
    return this.bytes(0x46);
  }
  select(): this {
    return this.bytes(0x1b);
  }

  // Float and SIMD arithmetic.
  f32Add(): this {
    return this.bytes(0x92);
  }
  f32Mul(): this {
    return this.bytes(0x94);
  }
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  f32x4ExtractLane(lane: number): this {
    return this.simd(0x1f, lane);
  }
  /** Pushes the sum of a vector local's four lanes, pairwise: (l0 + l1) + (l2 + l3). */
  f32x4LaneSum(vector: number): this {
    return this.get(vector)
      .f32x4ExtractLane(0)
      .get(vector)
      .f32x4ExtractLane(1)
      .f32Add()
      .get(vector)
      .f32x4ExtractLane(2)
      .get(vector)
      .f32x4ExtractLane(3)
      .f32Add()
      .f32Add();
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  v128Zero(): this {
    return this.simd(0x0c, ...new Array<number>(16).fill(0));
  }
  /** `v128.const` with the same float32 in all four lanes. */
  f32x4Const(value: number): this {
    const lane = [...new Uint8Array(new Float32Array([value]).buffer)];
    return this.simd(0x0c, ...lane, ...lane, ...lane, ...lane);
  }
  /** `v128.const` with the same int32 in all four lanes. */
  i32x4Const(value: number): this {
    const lane = [...new Uint8Array(new Int32Array([value]).buffer)];
    return this.simd(0x0c, ...lane, ...lane, ...lane, ...lane);
  }
  f32x4Sub(): this {
    return this.simd(0xe5);
  }
  f32x4Div(): this {
    return this.simd(0xe7);
  }
  f32x4Neg(): this {
    return this.simd(0xe1);
  }
  /** Pseudo-minimum `b < a ? b : a` (one `minps`; keeps a NaN in `a`). */
  f32x4Pmin(): this {
    return this.simd(0xea);
  }
  /** Pseudo-maximum `a < b ? b : a` (one `maxps`; keeps a NaN in `a`). */
  f32x4Pmax(): this {
    return this.simd(0xeb);
  }
  /** Round to nearest, ties to even. */
  f32x4Nearest(): this {
    return this.simd(0x6a);
  }
  /** float32 lanes → int32 lanes, truncating; saturates out-of-range values, NaN → 0. */
  i32x4TruncSatF32x4S(): this {
    return this.simd(0xf8);
  }
  i32x4Add(): this {
    return this.simd(0xae);
  }
  i32x4Sub(): this {
    return this.simd(0xb1);
  }
  /** Shifts every lane left by an i32 count (pushed after the vector). */
  i32x4Shl(): this {
    return this.simd(0xab);
  }
  /** Arithmetic right shift of every lane by an i32 count (pushed after the vector). */
  i32x4ShrS(): this {
    return this.simd(0xac);
  }

  // Scalar float32 operations beyond add/mul, and conversions.
  f32Sub(): this {
    return this.bytes(0x93);
  }
  f32Div(): this {
    return this.bytes(0x95);
  }
  f32Min(): this {
    return this.bytes(0x96);
  }
  f32Max(): this {
    return this.bytes(0x97);
  }
  f32Neg(): this {
    return this.bytes(0x8c);
  }
  /** Round to nearest, ties to even. */
  f32Nearest(): this {
    return this.bytes(0x90);
  }
  /** float32 → int32, truncating; saturates out-of-range values, NaN → 0 (never traps). */
  i32TruncSatF32S(): this {
    return this.bytes(0xfc, 0x00);
  }
  /** The bits of an i32 as an f32. */
  f32ReinterpretI32(): this {
    return this.bytes(0xbe);
  }
  i32ShrS(): this {
    return this.bytes(0x75);
  }

  // Float64 (the AdamW kernel computes in float64 as the JavaScript one does, then rounds to float32).
  f64Const(value: number): this {
    return this.bytes(0x44, ...new Uint8Array(new Float64Array([value]).buffer));
  }
  f64Load(offset = 0): this {
    return this.bytes(0x2b, 3, ...unsignedLeb128(offset));
  }
  f64Add(): this {
    return this.bytes(0xa0);
  }
  f64Sub(): this {
    return this.bytes(0xa1);
  }
  f64Mul(): this {
    return this.bytes(0xa2);
  }
  f64Div(): this {
    return this.bytes(0xa3);
  }
  f64Sqrt(): this {
    return this.bytes(0x9f);
  }
  i32Or(): this {
    return this.bytes(0x72);
  }
  i32ShrU(): this {
    return this.bytes(0x76);
  }
  i32GtU(): this {
    return this.bytes(0x4b);
  }
  i32LtU(): this {
    return this.bytes(0x49);
  }
  i32GeU(): this {
    return this.bytes(0x4f);
  }
  i32Ne(): this {
    return this.bytes(0x47);
  }
  f64Eq(): this {
    return this.bytes(0x61);
  }
  f64Lt(): this {
    return this.bytes(0x63);
  }
  f64Gt(): this {
    return this.bytes(0x64);
  }
  /** The bits of an f64 as an i64, its high 32 bits as an i32: what C's GET_HIGH_WORD reads. */
  highWordOfF64(): this {
    return this.bytes(0xbd, 0x42, 32, 0x88, 0xa7); // i64.reinterpret_f64, i64.const 32, i64.shr_u, i32.wrap_i64
  }
  /** 2^k for an i32 k in [−1022, 1023] pushed: the float64 whose exponent field is k + 1023. */
  f64PowerOfTwo(): this {
    // i32.const 1023, i32.add, i64.extend_i32_s, i64.const 52, i64.shl, f64.reinterpret_i64
    return this.bytes(0x41, ...signedLeb128(1023), 0x6a, 0xac, 0x42, 52, 0x86, 0xbf);
  }
  /** float64 → int32, truncating toward zero; saturates, NaN → 0 (never traps). */
  i32TruncSatF64S(): this {
    return this.bytes(0xfc, 0x02);
  }
  /** int32 → float64 (exact). */
  f64ConvertI32S(): this {
    return this.bytes(0xb7);
  }
  f64Store(offset = 0): this {
    return this.bytes(0x39, 3, ...unsignedLeb128(offset));
  }
  /** float32 → float64 (exact). */
  f64PromoteF32(): this {
    return this.bytes(0xbb);
  }
  /** float64 → float32, round to nearest even (`Math.fround`). */
  f32DemoteF64(): this {
    return this.bytes(0xb6);
  }
  f64x2Splat(): this {
    return this.simd(0x14);
  }
  /** Loads 8 bytes into the low half of a vector, zeroing the high half. */
  v128Load64Zero(offset = 0): this {
    return this.simd(0x5d, 3, ...unsignedLeb128(offset));
  }
  /** Stores the low 8 bytes of a vector. */
  v128Store64Low(offset = 0): this {
    return this.simd(0x5b, 3, ...unsignedLeb128(offset), 0);
  }
  /** The low two float32 lanes widened to float64. */
  f64x2PromoteLowF32x4(): this {
    return this.simd(0x5f);
  }
  /** Both float64 lanes rounded to float32 in the low two lanes, the high two zero. */
  f32x4DemoteF64x2Zero(): this {
    return this.simd(0x5e);
  }
  f64x2Add(): this {
    return this.simd(0xf0);
  }
  f64x2Sub(): this {
    return this.simd(0xf1);
  }
  f64x2Mul(): this {
    return this.simd(0xf2);
  }
  f64x2Div(): this {
    return this.simd(0xf3);
  }
  f64x2Sqrt(): this {
    return this.simd(0xef);
  }

  // Comparisons, lane selection and relaxed SIMD (the attention kernels of @minimind/attention).
  f32Eq(): this {
    return this.bytes(0x5b);
  }
  f32Gt(): this {
    return this.bytes(0x5e);
  }
  /** IEEE maximum: NaN if either operand is NaN. */
  f32x4Max(): this {
    return this.simd(0xe9);
  }
  /** `(a & mask) | (b & ~mask)` for a, b, mask pushed in that order. */
  v128Bitselect(): this {
    return this.simd(0x52);
  }
  v128Or(): this {
    return this.simd(0x50);
  }
  /** 1 if any bit of the vector is set, else 0. */
  v128AnyTrue(): this {
    return this.simd(0x53);
  }
  /**
   * Relaxed SIMD `a·b + c` for a, b, c pushed in that order: fused or not, as the engine chooses (one
   * rounding with an FMA unit). Needs an engine with relaxed SIMD (see `relaxedSimdSupported`).
   */
  f32x4RelaxedMadd(): this {
    return this.simd(0x105);
  }
  /** `block` … `end` (no result): `brIf(0)` inside `body` leaves it. */
  block(body: () => void): this {
    this.bytes(0x02, 0x40);
    body();
    return this.bytes(0x0b);
  }
  /** Branch to the `depth`-th enclosing block/loop label if the popped i32 is non-zero. */
  brIf(depth: number): this {
    return this.bytes(0x0d, ...unsignedLeb128(depth));
  }

  // Calls and control flow.
  call(functionIndex: number): this {
    return this.bytes(0x10, ...unsignedLeb128(functionIndex));
  }
  drop(): this {
    return this.bytes(0x1a);
  }
  /** `if` (no result) … `else` … `end`; pass `otherwise` for an else branch. */
  ifThen(then: () => void, otherwise?: () => void): this {
    this.bytes(0x04, 0x40);
    then();
    if (otherwise) {
      this.bytes(0x05);
      otherwise();
    }
    return this.bytes(0x0b);
  }
  /**
   * `for (counter = start; counter < limit; counter += step) body()` with `start`, `limit` pushed by the
   * callbacks; `limit` is re-evaluated each iteration, so pass a local.
   */
  forLoop(counter: number, start: () => void, limitLocal: number, step: number, body: () => void): this {
    start();
    this.set(counter);
    this.bytes(0x02, 0x40); // block
    this.get(counter).get(limitLocal).i32GeS().bytes(0x0d, 0); // br_if out
    this.bytes(0x03, 0x40); // loop
    body();
    this.get(counter).i32Const(step).i32Add().tee(counter);
    this.get(limitLocal).i32LtS().bytes(0x0d, 0); // br_if loop
    this.bytes(0x0b, 0x0b); // end loop, end block
    return this;
  }
  /** `min(a, b)` of two i32 locals pushed as a value. */
  minOf(first: () => void, second: () => void): this {
    first();
    second();
    first();
    second();
    return this.i32LtS().select();
  }

  encodeBody(): number[] {
    const groups: number[][] = [];
    for (const type of this.localTypes) groups.push([1, type]);
    const body = [...vector(groups), ...this.code, 0x0b];
    return [...unsignedLeb128(body.length), ...body];
  }
}

/** A module importing one memory `env.memory` and exporting the functions added to it. */
export class ModuleBuilder {
  private readonly functions: FunctionBuilder[] = [];

  constructor(private readonly sharedMemory: boolean) {}

  /** Adds a function; its index (for `call`) is the return value. Exported under its name. */
  add(fn: FunctionBuilder): number {
    this.functions.push(fn);
    return this.functions.length - 1;
  }

  encode(): Uint8Array {
    const types = this.functions.map((fn) => [
      0x60,
      ...vector(fn.params.map((type) => [type])),
      ...vector(fn.results.map((type) => [type])),
    ]);
    const limits = this.sharedMemory ? [0x03, ...unsignedLeb128(1), ...unsignedLeb128(65536)] : [0x00, 1];
    const memoryImport = [...encodeString("env"), ...encodeString("memory"), 0x02, ...limits];
    const bytes = [
      0x00,
      0x61,
      0x73,
      0x6d,
      0x01,
      0x00,
      0x00,
      0x00,
      ...section(1, vector(types)),
      ...section(2, vector([memoryImport])),
      ...section(3, vector(this.functions.map((_, index) => unsignedLeb128(index)))),
      ...section(
        7,
        vector(this.functions.map((fn, index) => [...encodeString(fn.name), 0x00, ...unsignedLeb128(index)])),
      ),
      ...section(10, vector(this.functions.map((fn) => fn.encodeBody()))),
    ];
    return new Uint8Array(bytes);
  }
}

/** Whether this engine validates relaxed SIMD (`f32x4.relaxed_madd`): Node 22+, Chromium 114+; not Node 20. */
export function relaxedSimdSupported(): boolean {
  const probe = new FunctionBuilder("probe", [], [V128]);
  probe.v128Zero().v128Zero().v128Zero().f32x4RelaxedMadd();
  const types = [0x60, 0x00, 0x01, V128];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([types])),
    ...section(3, vector([[0]])),
    ...section(10, vector([probe.encodeBody()])),
  ];
  try {
    return WebAssembly.validate(new Uint8Array(bytes));
  } catch {
    return false;
  }
}
