import { describe, expect, it } from "vitest";
import {
  adamwUpdate,
  crossEntropy,
  embedding,
  keep,
  matmul,
  memory,
  mul,
  randn,
  rmsnorm,
  scope,
  scopeDepth,
  silu,
  softmax,
  type Tensor,
  tensor,
  transpose,
  zeros,
} from "./index.js";

describe("scopes and reference counting", () => {
  it("the garbage-collection safety net holds every tensor no scope will dispose, and only those", async () => {
    const collectGarbage = (globalThis as { gc?: () => void }).gc;
    expect(collectGarbage, "vitest runs this package with --expose-gc").toBeTypeOf("function");
    const settle = async () => {
      for (let round = 0; round < 6; round++) {
        collectGarbage?.();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    await settle();
    const before = memory();
    // Each leaks differently: created outside any scope, returned from the outermost scope, kept inside one.
    // Nothing references them after this function returns, and none was disposed.
    (() => {
      tensor([1, 2, 3]);
      scope(() => mul(tensor([1, 2]), 2));
      scope(() => {
        keep(tensor([4, 5]));
        tensor([6]); // disposed by the scope: never the GC's
      });
    })();
    expect(memory().tensors).toBe(before.tensors + 3);
    await settle();
    const after = memory();
    expect(after.reclaimedByGarbageCollector - before.reclaimedByGarbageCollector).toBe(3);
    expect(after.tensors).toBe(before.tensors);
  });

  it("disposes what a scope created except what it returns or keeps", () => {
    const before = memory().tensors;
    const keptTensors: Tensor[] = [];
    const result = scope(() => {
      const a = tensor([1, 2]);
      const b = mul(a, 2);
      keptTensors.push(keep(mul(b, 3)));
      return { sum: b.sum(), nested: [b] };
    });
    const [kept] = keptTensors;
    expect(result.sum.item()).toBe(6);
    expect(result.nested[0].toArray()).toEqual([2, 4]);
    expect(kept.toArray()).toEqual([6, 12]);
    expect(memory().tensors).toBe(before + 3);
    result.sum.dispose();
    result.nested[0].dispose();
    kept.dispose();
    expect(memory().tensors).toBe(before);
  });

  it("moves returned tensors to the enclosing scope, and cleans up on exceptions", () => {
    const before = memory().tensors;
    scope(() => {
      const inner = scope(() => tensor([1]));
      expect(inner.isDisposed).toBe(false);
    });
    expect(memory().tensors).toBe(before);
    expect(() =>
      scope(() => {
        tensor([1, 2, 3]);
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(memory().tensors).toBe(before);
    expect(() => scope(() => Promise.resolve(1))).toThrow("[scope] the function returned a Promise");
  });

  it("reports how many scopes are open, also after an exception", () => {
    expect(scopeDepth()).toBe(0);
    const depths = scope(() => [scopeDepth(), scope(() => scopeDepth())]);
    expect(depths).toEqual([1, 2]);
    expect(() =>
      scope(() => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(scopeDepth()).toBe(0);
  });

  it("keeps storage alive while any view of it lives", () => {
    const base = memory();
    const x = tensor([1, 2, 3, 4]);
    const square = x.reshape([2, 2]);
    const view = transpose(square);
    x.dispose();
    square.dispose();
    expect(view.toArray()).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(memory().storages).toBe(base.storages + 1);
    view.dispose();
    expect(memory().storages).toBe(base.storages);
  });

  it("frees a recorded graph when its output is disposed without backward", () => {
    const x = zeros([8]).requireGrad();
    const before = memory();
    const loss = scope(() => mul(mul(x, 2), x).sum());
    expect(memory().storages).toBeGreaterThan(before.storages + 1);
    loss.dispose();
    expect(memory().storages).toBe(before.storages);
    expect(memory().tensors).toBe(before.tensors);
    x.dispose();
  });
});

describe("a 2,000-step training loop does not grow memory", () => {
  it("embedding → rmsnorm → attention-like mixing → SwiGLU MLP → tied logits → cross-entropy → AdamW", () => {
    const vocabulary = 32;
    const width = 16;
    const hidden = 32;
    const sequence = 8;
    const batch = 2;
    const init = (shape: number[], seed: number) => randn(shape, { seed, std: 0.2 }).requireGrad();
    const parameters = [
      init([vocabulary, width], 1),
      init([width], 2).mul(0).add(1).detach().requireGrad(),
      init([width, width], 3),
      init([width, width], 4),
      init([width, hidden], 5),
      init([width, hidden], 6),
      init([hidden, width], 7),
    ];
    for (const parameter of parameters) keep(parameter);
    const [embeddingWeight, normWeight, query, key, gate, up, down] = parameters;
    const moments = parameters.map((p) => [zeros(p.shape), zeros(p.shape)]);
    const ids = new Int32Array(batch * sequence);
    const targets = new Int32Array(batch * sequence);
    for (let index = 0; index < ids.length; index++) {
      ids[index] = (index * 7) % vocabulary;
      targets[index] = index % 5 === 4 ? -100 : (index * 7 + 3) % vocabulary;
    }
    const input = tensor(ids, { shape: [batch, sequence] });
    const labels = tensor(targets, { shape: [batch, sequence] });

    const step = (stepNumber: number): number =>
      scope(() => {
        const x = embedding(embeddingWeight, input); // [B, T, D]
        const normed = rmsnorm(x, normWeight);
        const scores = matmul(matmul(normed, query), transpose(matmul(normed, key))).mul(1 / Math.sqrt(width)); // [B, T, T]
        const mixed = x.add(matmul(softmax(scores), normed)); // [B, T, D]
        const mlp = matmul(silu(matmul(mixed, gate)).mul(matmul(mixed, up)), down);
        const out = mixed.add(mlp);
        const logits = matmul(out, transpose(embeddingWeight)); // [B, T, V]
        const loss = crossEntropy(logits, labels);
        loss.backward();
        parameters.forEach((parameter, index) => {
          const [m, v] = moments[index];
          adamwUpdate(parameter, parameter.grad as Tensor, m, v, {
            learningRate: 3e-3,
            weightDecay: 0.01,
            step: stepNumber,
          });
          parameter.zeroGrad();
        });
        return loss.item();
      });

    const collectGarbage = (globalThis as { gc?: () => void }).gc;
    const snapshot = () => {
      collectGarbage?.();
      const info = memory();
      const usage = process.memoryUsage();
      return {
        tensors: info.tensors,
        storages: info.storages,
        wasmBytes: info.backend.bytesInUse,
        heap: usage.heapUsed,
        rss: usage.rss,
      };
    };
    const reclaimedBefore = memory().reclaimedByGarbageCollector; // other tests' leaks, on purpose
    const firstLoss = step(1);
    for (let stepNumber = 2; stepNumber <= 500; stepNumber++) step(stepNumber);
    const warm = snapshot();
    let lastLoss = firstLoss;
    for (let stepNumber = 501; stepNumber <= 2000; stepNumber++) lastLoss = step(stepNumber);
    const end = snapshot();
    const megabytes = (bytes: number) => (bytes / 2 ** 20).toFixed(2);
    console.log(
      `[memory] after step 500: ${warm.tensors} tensors, ${warm.storages} storages, backend ${warm.wasmBytes} bytes in use, heap ${megabytes(warm.heap)} MiB, rss ${megabytes(warm.rss)} MiB`,
    );
    console.log(
      `[memory] after step 2000: ${end.tensors} tensors, ${end.storages} storages, backend ${end.wasmBytes} bytes in use, heap ${megabytes(end.heap)} MiB, rss ${megabytes(end.rss)} MiB; loss ${firstLoss.toFixed(3)} → ${lastLoss.toFixed(3)}; GC-reclaimed tensors ${memory().reclaimedByGarbageCollector}`,
    );
    // Deterministic: exactly the same live tensors, storages and backend bytes after 1,500 more steps.
    expect(end.tensors).toBe(warm.tensors);
    expect(end.storages).toBe(warm.storages);
    expect(end.wasmBytes).toBe(warm.wasmBytes);
    // Nothing was left for the garbage collector's safety net.
    expect(memory().reclaimedByGarbageCollector).toBe(reclaimedBefore);
    // JS heap (after a forced GC) and RSS: bounded. A leak of one small tensor per step would add ≥ 0.2 MiB of
    // heap objects; RSS also moves with V8's own heap sizing, hence the looser bound.
    expect(collectGarbage).toBeTypeOf("function");
    expect(end.heap - warm.heap).toBeLessThan(2 * 2 ** 20);
    expect(end.rss - warm.rss).toBeLessThan(64 * 2 ** 20);
    expect(lastLoss).toBeLessThan(firstLoss);
  });
});
