import { afterEach, describe, expect, it } from "vitest";
import {
  type Backend,
  getBackend,
  listBackends,
  registerBackend,
  rope,
  ropeComposed,
  setBackend,
  tensor,
  zeros,
} from "./index.js";

/** A backend that delegates to the CPU backend but lacks the fused rope kernel. */
function withoutRope(): Backend {
  const cpu = getBackend("cpu");
  const { rope: _omitted, ...kernels } = cpu.kernels;
  return {
    name: "cpu-without-rope",
    supportsDType: (dtype) => cpu.supportsDType(dtype),
    allocate: (dtype, length, zeroed) => cpu.allocate(dtype, length, zeroed),
    free: (buffer) => cpu.free(buffer),
    write: (buffer, data) => cpu.write(buffer, data),
    read: (buffer) => cpu.read(buffer),
    readSync: (buffer) => cpu.readSync(buffer),
    kernels,
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

  it("names the op and the backend when a kernel is missing; the composed fallback still runs", () => {
    registerBackend("cpu-without-rope", withoutRope);
    setBackend("cpu-without-rope");
    const x = zeros([2, 4]);
    const table = tensor([
      [1, 1],
      [1, 1],
    ]);
    expect(x.backend.name).toBe("cpu-without-rope");
    expect(() => rope(x, table, table)).toThrow('[backend cpu-without-rope] op "rope" is not implemented');
    expect(ropeComposed(x, table, table).shape).toEqual([2, 4]);
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
    registerBackend("cpu-without-rope", withoutRope);
    setBackend("cpu-without-rope");
    const onOther = zeros([2]);
    expect(() => onCpu.add(onOther)).toThrow('[add] inputs live on backends "cpu" and "cpu-without-rope"');
  });
});
