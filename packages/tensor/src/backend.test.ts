import { afterEach, describe, expect, it } from "vitest";
import { exp, getBackend, listBackends, rope, setBackend, tensor, uniform, zeros } from "./index.js";
import { type Backend, registerBackend } from "./internals.js";

/** A backend that delegates to the CPU backend but lacks one of its kernels. */
function without(name: "rope" | "exp"): Backend {
  const cpu = getBackend("cpu");
  const kernels = { ...cpu.kernels } as Record<string, unknown>;
  if (name === "exp") {
    // `exp` is a unary op: take the whole primitive `unary` kernel away.
    delete kernels.unary;
  } else delete kernels[name];
  return {
    name: `cpu-without-${name}`,
    supportsDType: (dtype) => cpu.supportsDType(dtype),
    allocate: (dtype, length, zeroed) => cpu.allocate(dtype, length, zeroed),
    free: (buffer) => cpu.free(buffer),
    write: (buffer, data) => cpu.write(buffer, data),
    read: (buffer) => cpu.read(buffer),
    readSync: (buffer) => cpu.readSync(buffer),
    kernels: kernels as unknown as Backend["kernels"],
    memory: () => cpu.memory(),
  };
}

describe("backend registry", () => {
  afterEach(() => setBackend("cpu"));

  it("has the cpu backend by default and selects backends by name", () => {
    expect(listBackends()).toContain("cpu");
    expect(getBackend().name).toBe("cpu");
    expect(() => setBackend("nope")).toThrow('[backend] no backend named "nope" is registered');
  });

  it("runs the composition from primitives where a fused kernel is missing", () => {
    const x = uniform([2, 3, 4], { seed: 1 });
    const table = uniform([3, 2], { seed: 2 });
    const fused = rope(x, table, table).dataSync();
    registerBackend("cpu-without-rope", () => without("rope"));
    setBackend("cpu-without-rope");
    const y = tensor(x.dataSync(), { shape: [2, 3, 4] });
    const t = tensor(table.dataSync(), { shape: [3, 2] });
    expect(y.backend.name).toBe("cpu-without-rope");
    const composed = rope(y, t, t).dataSync();
    expect(composed.length).toBe(24);
    expect(fused.length).toBe(24);
    for (let index = 0; index < fused.length; index++) expect(composed[index]).toBeCloseTo(fused[index], 6);
  });

  it("names the kernel and the backend when a primitive kernel is missing", () => {
    registerBackend("cpu-without-exp", () => without("exp"));
    setBackend("cpu-without-exp");
    expect(() => exp(zeros([2]))).toThrow('[backend cpu-without-exp] primitive kernel "unary" is missing');
  });

  it("reads back asynchronously", async () => {
    const x = tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(Array.from(await x.data())).toEqual([1, 2, 3, 4]);
    expect(Array.from(await x.transpose().data())).toEqual([1, 3, 2, 4]);
  });

  it("refuses to mix tensors from two backends", () => {
    const onCpu = zeros([2]);
    registerBackend("cpu-without-rope", () => without("rope"));
    setBackend("cpu-without-rope");
    const onOther = zeros([2]);
    expect(() => onCpu.add(onOther)).toThrow('[add] inputs live on backends "cpu" and "cpu-without-rope"');
  });
});
