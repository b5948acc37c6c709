import { describe, expect, it } from "vitest";
import { F32, FunctionBuilder, I32, ModuleBuilder, signedLeb128, unsignedLeb128 } from "./wasm-emitter.js";

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
});
