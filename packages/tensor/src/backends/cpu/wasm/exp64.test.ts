import { describe, expect, it } from "vitest";
import { emitExp64, exp64Locals } from "./exp64.js";
import { F64, FunctionBuilder, ModuleBuilder } from "./wasm-emitter.js";

/** exp64 as a standalone wasm function (f64) → f64. */
function compile(): (x: number) => number {
  const f = new FunctionBuilder("exp64", [F64], [F64]);
  const locals = exp64Locals(f);
  f.get(0);
  emitExp64(f, locals);
  const module = new ModuleBuilder(false);
  module.add(f);
  const memory = new WebAssembly.Memory({ initial: 1 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(module.encode() as BufferSource), {
    env: { memory },
  });
  return instance.exports.exp64 as (x: number) => number;
}

describe("exp64 (fdlibm's exp in wasm)", () => {
  const exp64 = compile();

  it("equals Math.exp bit for bit across its whole range and at every branch boundary", () => {
    let state = 12345;
    const random = () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
    const samples: number[] = [];
    // Dense where the kernels use it (x − max ≤ 0), and across the rest of the range.
    for (let index = 0; index < 400_000; index++) samples.push(-random() * ([1.2, 30, 760][index % 3] ?? 1));
    for (let index = 0; index < 100_000; index++) samples.push((random() - 0.5) * 1440);
    const ln2 = Math.LN2;
    samples.push(
      0,
      -0,
      2 ** -30,
      -(2 ** -29),
      2 ** -1074,
      0.5 * ln2,
      -0.5 * ln2,
      0.3465735902799726,
      0.34657359027997264,
      1.5 * ln2,
      -1.5 * ln2,
      1.0397207708399179,
      709.782712893384,
      709.7827128933841,
      -745.1332191019411,
      -745.1332191019412,
      -708.4,
      -709.1,
      -720,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
    );
    let mismatches = 0;
    const first: Array<[number, number, number]> = [];
    for (const x of samples) {
      const actual = exp64(x);
      const expected = Math.exp(x);
      if (!Object.is(actual, expected)) {
        mismatches++;
        if (first.length < 5) first.push([x, actual, expected]);
      }
    }
    expect(first).toEqual([]);
    expect(mismatches).toBe(0);
    expect(Number.isNaN(exp64(Number.NaN))).toBe(true);
  });
});
