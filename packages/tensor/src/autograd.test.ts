import { describe, expect, it } from "vitest";
import { countKernelCalls } from "./conformance/run.js";
import {
  add,
  backward,
  customOp,
  getBackend,
  gradientNorm,
  keep,
  linear,
  matmul,
  memory,
  mul,
  noGrad,
  ones,
  scope,
  sum,
  type Tensor,
  tensor,
  transpose,
  uniform,
  zeroGrad,
} from "./index.js";

describe("autograd", () => {
  it("gradientNorm reads gradients in place, at their offset, and strided ones through a copy", () => {
    // Float64 sum of squares in element order, as a reference computed here from the values themselves.
    const reference = (lists: number[][]) => Math.sqrt(lists.flat().reduce((total, value) => total + value * value, 0));
    const a = tensor([1, 2, 3]).requireGrad();
    const b = tensor([0, 0, 0, 0]).requireGrad();
    const c = tensor([0, 0, 0, 0]).requireGrad();
    const none = tensor([5]).requireGrad();
    mul(a, tensor([0.5, -1.25, 3]))
      .sum()
      .backward();
    const storage = keep(tensor([9, 9, 0.75, -2, 4.5, 1e-3, 9, 9]));
    // A contiguous view that starts at element 2 of its storage, and a strided one (a transposed 2×2).
    b.grad = keep(storage.slice([2], [6]));
    c.grad = keep(
      tensor([1, 2, 3, 4], { shape: [2, 2] })
        .transpose(0, 1)
        .reshape([4]),
    );
    expect(b.grad.offset).toBe(2);
    expect(gradientNorm([a, b, c, none])).toBe(
      reference([[0.5, -1.25, 3], [0.75, -2, 4.5, 1e-3].map(Math.fround), [1, 3, 2, 4]]),
    );
    storage.dispose();
  });

  it("a Linear weight's gradient arrives contiguous, bit for bit (xᵀ·g)ᵀ", () => {
    // 600 rows: more than one depth block of the GEMM, so the summation order is really exercised.
    const x = uniform([2, 300, 40], { seed: 1, low: -1, high: 1 });
    const weight = uniform([24, 40], { seed: 2, low: -1, high: 1 }).requireGrad();
    const projection = uniform([2, 300, 24], { seed: 3, low: -1, high: 1 });
    const loss = mul(linear(x, weight), projection).sum();
    const calls = countKernelCalls(getBackend());
    try {
      loss.backward();
    } finally {
      calls.restore();
    }
    // The weight's gradient is computed in its own layout: no copy (transpose) is made on the way.
    expect(calls.counts.get("copy") ?? 0).toBe(0);
    const gradient = weight.grad as Tensor;
    expect(gradient.isContiguous).toBe(true);
    const expected = noGrad(() =>
      transpose(matmul(transpose(x.reshape([600, 40])), projection.reshape([600, 24]))).contiguous(),
    );
    expect(Array.from(gradient.dataSync())).toEqual(Array.from(expected.dataSync()));
  });

  it("accumulates gradients across backward calls until zeroGrad", () => {
    const x = tensor([1, 2, 3]).requireGrad();
    mul(x, x).sum().backward();
    expect(x.grad?.toArray()).toEqual([2, 4, 6]);
    mul(x, 3).sum().backward();
    expect(x.grad?.toArray()).toEqual([5, 7, 9]);
    zeroGrad([x]);
    expect(x.grad).toBeNull();
  });

  it("sums gradients where paths meet (diamond) and through shared inputs", () => {
    const x = tensor([2]).requireGrad();
    const y = mul(x, x); // x²
    const z = add(mul(y, x), y); // x³ + x²
    z.sum().backward();
    expect(x.grad?.toArray()).toEqual([3 * 4 + 2 * 2]);
    const w = tensor([3]).requireGrad();
    add(w, w).sum().backward();
    expect(w.grad?.toArray()).toEqual([2]);
  });

  it("takes an explicit output gradient for non-scalar outputs", () => {
    const a = tensor([
      [1, 2],
      [3, 4],
    ]).requireGrad();
    const b = tensor([[1], [1]]);
    const out = matmul(a, b);
    backward(out, tensor([[1], [10]]));
    expect(a.grad?.toArray()).toEqual([
      [1, 1],
      [10, 10],
    ]);
    expect(() => out.backward()).toThrow("[backward]");
  });

  it("noGrad records nothing; detach cuts the graph", () => {
    const x = tensor([1, 2]).requireGrad();
    const y = noGrad(() => mul(x, 2));
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    const detached = mul(x, 2).detach();
    expect(detached.requiresGrad).toBe(false);
    const z = mul(x, detached);
    z.sum().backward();
    expect(x.grad?.toArray()).toEqual([2, 4]);
  });

  it("explains misuse: no grad required, non-scalar without gradient, second backward", () => {
    expect(() => tensor([1]).backward()).toThrow("[backward] tensor of shape [1] does not require grad");
    const x = tensor([1, 2]).requireGrad();
    expect(() => mul(x, 2).backward()).toThrow(
      "[backward] output of shape [2] is not a scalar: pass a gradient of that shape",
    );
    const loss = sum(mul(x, x));
    loss.backward();
    expect(() => loss.backward()).toThrow('[backward] the graph through "sum" was already freed');
    expect(() => tensor(new Int32Array([1])).requireGrad()).toThrow(
      "[requireGrad] only float tensors can require gradients",
    );
  });

  it("customOp validates its backward and receives saved tensors", () => {
    const scaled = customOp({
      name: "scaledCopy",
      forward: (x) => ({ output: mul(x, 2), saved: [ones(x.shape)] }),
      backward: (g, { saved: [one] }) => [mul(g, mul(one, 2))],
    });
    const x = tensor([1, 2]).requireGrad();
    scaled(x).sum().backward();
    expect(x.grad?.toArray()).toEqual([2, 2]);
    const broken = customOp({ name: "broken", forward: (x) => mul(x, 1), backward: () => [] });
    expect(() =>
      broken(tensor([1]).requireGrad())
        .sum()
        .backward(),
    ).toThrow("[customOp broken] backward returned 0 gradients for 1 inputs");
    const misshapen = customOp({ name: "misshapen", forward: (x) => mul(x, 1), backward: () => [ones([3])] });
    expect(() =>
      misshapen(tensor([1, 2]).requireGrad())
        .sum()
        .backward(),
    ).toThrow("[customOp misshapen] backward gradient 0 has shape [3], expected [2]");
  });

  it("customOp may return an input unchanged without touching that input's graph state", () => {
    const identity = customOp({ name: "identity", forward: (x) => x, backward: (g) => [g] });
    const x = tensor([1, 2]).requireGrad();
    const y = identity(x);
    expect(y).not.toBe(x);
    expect(x.node).toBeNull();
    mul(y, 3).sum().backward();
    expect(x.grad?.toArray()).toEqual([3, 3]);
  });

  it("releases every saved tensor once backward has run", () => {
    const x = tensor([1, 2, 3]).requireGrad();
    const before = memory().tensors;
    scope(() => {
      const loss = sum(mul(add(x, 1), x));
      loss.backward();
    });
    // Only the gradient of x remains.
    expect(memory().tensors).toBe(before + 1);
    x.zeroGrad();
    expect(memory().tensors).toBe(before);
  });
});
