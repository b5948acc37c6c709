import { describe, expect, it } from "vitest";
import {
  F32,
  FunctionBuilder,
  I32,
  ModuleBuilder,
  relaxedSimdSupported,
  signedLeb128,
  unsignedLeb128,
} from "./wasm-emitter.js";

describe("wasm emitter", () => {
  it("encodes LEB128 numbers (the examples of the DWARF / wasm specs)", () => {
    expect(unsignedLeb128(0)).toEqual([0x00]);
    expect(unsignedLeb128(127)).toEqual([0x7f]);
    expect(unsignedLeb128(128)).toEqual([0x80, 0x01]);
    expect(unsignedLeb128(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(signedLeb128(-1)).toEqual([0x7f]);
    expect(signedLeb128(63)).toEqual([0x3f]);
    expect(signedLeb128(64)).toEqual([0xc0, 0x00]);
    expect(signedLeb128(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });

  it("builds a module whose functions loop, branch and use memory", () => {
    const module = new ModuleBuilder(false);
    // sum(pointer, count): Σ f32 at pointer … pointer + 4·count, odd-indexed values counted twice.
    const sum = new FunctionBuilder("sum", [I32, I32], [F32]);
    const index = sum.local(I32);
    const total = sum.local(F32);
    const value = sum.local(F32);
    sum.forLoop(
      index,
      () => sum.i32Const(0),
      1,
      1,
      () => {
        sum.get(0).get(index).i32Const(2).i32Shl().i32Add().f32Load().set(value);
        sum
          .get(index)
          .i32Const(1)
          .i32And()
          .ifThen(
            () => sum.get(total).get(value).f32Const(2).f32Mul().f32Add().set(total),
            () => sum.get(total).get(value).f32Add().set(total),
          );
      },
    );
    sum.get(total);
    module.add(sum);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(module.encode() as BufferSource), {
      env: { memory },
    });
    new Float32Array(memory.buffer, 16, 4).set([1.5, 2, 4, 8]);
    const run = instance.exports.sum as (pointer: number, count: number) => number;
    expect(run(16, 4)).toBe(1.5 + 2 * 2 + 4 + 2 * 8);
    expect(run(16, 0)).toBe(0);
  });

  it("f32x4.max keeps a NaN, bitselect picks lanes by mask, block/br_if leaves early", () => {
    const module = new ModuleBuilder(false);
    // pick(pointer): out[0..3] = bitselect(max(a, b), −∞, mask) with a, b, mask at pointer, +16, +32; out at +48.
    // Returns 1 when lane 0 of out is −∞ (br_if leaves the block before the 0 is set), else 0.
    const pick = new FunctionBuilder("pick", [I32], [I32]);
    const result = pick.local(I32);
    pick.get(0).get(0).v128Load(0).get(0).v128Load(16).f32x4Max();
    pick.f32x4Const(Number.NEGATIVE_INFINITY).get(0).v128Load(32).v128Bitselect().v128Store(48);
    pick.i32Const(1).set(result);
    pick.block(() => {
      pick.get(0).f32Load(48).f32Const(Number.NEGATIVE_INFINITY).f32Eq().brIf(0);
      pick.i32Const(0).set(result);
    });
    pick.get(result);
    module.add(pick);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(module.encode() as BufferSource), {
      env: { memory },
    });
    const floats = new Float32Array(memory.buffer, 64, 16);
    floats.set([1, Number.NaN, -3, 7, 2, 0, Number.NaN, 5]);
    new Int32Array(memory.buffer, 96, 4).set([-1, -1, -1, 0]);
    const run = instance.exports.pick as (pointer: number) => number;
    expect(run(64)).toBe(0);
    expect(Array.from(floats.subarray(12, 16))).toEqual([2, Number.NaN, Number.NaN, Number.NEGATIVE_INFINITY]);
    new Int32Array(memory.buffer, 96, 4).set([0, -1, -1, 0]);
    expect(run(64)).toBe(1);
  });

  it("detects relaxed SIMD the way the engine validates it (Node 22+ has it, Node 20 does not)", () => {
    const major = Number(process.versions.node.split(".")[0]);
    expect(relaxedSimdSupported()).toBe(major >= 22);
  });
});
