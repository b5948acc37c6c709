import { describe, expect, it } from "vitest";
import { getBackend, registerBackend, setBackend } from "./backend.js";
import { setMatmulThreads } from "./backends/cpu/wasm/matmul.js";
import { setIntegerInt8Gemv } from "./backends/cpu/wasm/quantized.js";
import { primitivesOnly } from "./backends/primitives-only.js";
import { dequantizeWeight, linear, matmulQuantized, noGrad, quantizeWeight, randn, scope, tensor } from "./index.js";

function bits(values: Float32Array): Uint32Array {
  return new Uint32Array(Float32Array.from(values).buffer);
}

describe.each(["int8", "bf16"] as const)("%s weights through the public API", (format) => {
  for (const threads of [1, 2]) {
    it.each([
      [[1, 37], 5],
      [[1, 512], 300],
      [[2, 3, 70], 9],
      [[4, 64], 129],
    ] as const)(`x %j · W[%i, k]ᵀ, ${threads} thread(s): the bits of linear(x, dequantizeWeight(W))`, (xShape, n) => {
      setMatmulThreads(threads);
      // int8 with one row runs the integer GEMV by default (bounded, not bit-exact: wasm/quantized.test.ts);
      // here the widening one, whose bits must be the float32 matmul's.
      setIntegerInt8Gemv(false);
      scope(() => {
        const k = xShape[xShape.length - 1] as number;
        const weight = randn([n, k], { seed: n + k });
        const x = randn([...xShape], { seed: 7 });
        const quantized = quantizeWeight(weight, format);
        expect(quantized.packed).toBe(true);
        const actual = matmulQuantized(x, quantized);
        expect(actual.shape).toEqual([...xShape.slice(0, -1), n]);
        const expected = linear(x, dequantizeWeight(quantized));
        expect(bits(actual.dataSync() as Float32Array)).toEqual(bits(expected.dataSync() as Float32Array));
        quantized.dispose();
      });
      setMatmulThreads(2);
      setIntegerInt8Gemv(true);
    });
  }

  it("stores int8 in about a quarter of the bytes, bf16 in half", () => {
    const quantized = quantizeWeight(new Float32Array(64 * 96), format, { shape: [64, 96] });
    expect(quantized.bytes).toBe(format === "int8" ? 64 * 96 + 64 * 3 * 4 : 64 * 96 * 2);
    quantized.dispose();
    expect(quantized.isDisposed).toBe(true);
    expect(() => matmulQuantized(tensor(new Float32Array(96), { shape: [1, 96] }), quantized)).toThrow(
      /used after dispose/,
    );
  });

  it("a backend without the quantized kernel gets the dequantized float32 weight, and the same values", () => {
    const cpu = getBackend("cpu");
    registerBackend("cpu-primitives-quantized", () => primitivesOnly(cpu, "cpu-primitives-quantized"));
    const weightValues = Float32Array.from({ length: 24 * 40 }, (_, index) => Math.sin(index * 0.37));
    const xValues = Float32Array.from({ length: 2 * 40 }, (_, index) => Math.cos(index * 0.11));
    const onCpu = quantizeWeight(weightValues, format, { shape: [24, 40] });
    const expected = matmulQuantized(tensor(xValues, { shape: [2, 40] }), onCpu).dataSync() as Float32Array;
    setBackend("cpu-primitives-quantized");
    try {
      const fallback = quantizeWeight(weightValues, format, { shape: [24, 40] });
      expect(fallback.packed).toBe(false);
      const actual = matmulQuantized(tensor(xValues, { shape: [2, 40] }), fallback).dataSync() as Float32Array;
      expect(bits(actual)).toEqual(bits(expected));
      expect(bits(dequantizeWeight(fallback).dataSync() as Float32Array)).toEqual(
        bits(dequantizeWeight(onCpu).dataSync() as Float32Array),
      );
    } finally {
      setBackend("cpu");
    }
  });

  it("carries no gradient: an input that records one is refused, noGrad runs", () => {
    const quantized = quantizeWeight(randn([8, 16], { seed: 1 }), format);
    const x = randn([1, 16], { seed: 2 }).requireGrad();
    expect(() => matmulQuantized(x, quantized)).toThrow(/inference-only.*noGrad.*float32 weights to train/);
    expect(noGrad(() => matmulQuantized(x, quantized)).shape).toEqual([1, 8]);
  });
});

describe("quantizeWeight validation", () => {
  it("names a bad format, shape or dtype", () => {
    expect(() => quantizeWeight(randn([2, 2]), "int4" as "int8")).toThrow(
      /format is "int4"; expected "int8" or "bf16"/,
    );
    expect(() => quantizeWeight(randn([2, 2, 2]), "int8")).toThrow(/float32 weight \[n, k\]; got float32 \[2,2,2\]/);
    expect(() => quantizeWeight(new Float32Array(6), "int8", { shape: [4, 2] })).toThrow(/n·k = 6/);
    const quantized = quantizeWeight(randn([3, 4]), "int8");
    expect(() => matmulQuantized(randn([1, 5]), quantized)).toThrow(/needs float32 \[\.\.\., 4\]/);
  });
});
