/**
 * The gpu.js backend's contract beyond numerics (those are in conformance.test.ts): mode selection and its
 * errors, no readback inside a forward/backward pass, and device memory that follows tensor lifetimes over a
 * 1,000-step training loop.
 */
import * as gpujsModule from "gpu.js";
import { afterEach, describe, expect, it } from "vitest";
import { miniMindBlock } from "./conformance/cases.js";
import { type GpuJsBackend, type GpuJsConstructor, type GpuJsMode, unavailableReason } from "./gpujs.js";
import {
  adamwUpdate,
  add,
  arange,
  contiguous,
  crossEntropy,
  embedding,
  keep,
  matmul,
  memory,
  randn,
  rmsnorm,
  scope,
  setBackend,
  silu,
  softmax,
  type Tensor,
  tensor,
  transpose,
  zeros,
} from "./index.js";

const GPU = (gpujsModule as unknown as { GPU: GpuJsConstructor }).GPU;
const requireAll = Boolean(process.env.CI);

/** Node modes usable here: cpu and webasm always, headlessgl when the addon loaded under a display. */
function nodeModes(): GpuJsMode[] {
  const modes: GpuJsMode[] = ["cpu", "webasm"];
  const reason = unavailableReason(GPU, "headlessgl");
  if (!reason) modes.push("headlessgl");
  else if (requireAll) throw new Error(`CI requires gpujs mode "headlessgl": ${reason}`);
  else console.warn(`[gpujs] headlessgl not tested here: ${reason}`);
  return modes;
}

afterEach(() => {
  setBackend("cpu");
});

interface GlTextureApi {
  createTexture(): unknown;
  deleteTexture(texture: unknown): void;
}

describe("mode selection", () => {
  it("reports the mode gpu.js actually runs", () => {
    const backend = setBackend("gpujs", { mode: "webasm" }) as GpuJsBackend;
    expect(backend.requestedMode).toBe("webasm");
    expect(backend.mode).toBe("webasm");
    const auto = setBackend("gpujs", { mode: "gpu" }) as GpuJsBackend;
    expect(auto.requestedMode).toBe("gpu");
    expect(["headlessgl", "webasm", "cpu"]).toContain(auto.mode);
  });

  it("says why a requested mode is unavailable", () => {
    expect(() => setBackend("gpujs", { mode: "webgl2" })).toThrow(
      /mode "webgl2" is unavailable here: no WebGL2 context/,
    );
    expect(() => setBackend("gpujs", { mode: "webgpu" })).toThrow(/mode "webgpu" is unavailable here: navigator\.gpu/);
    expect(() => setBackend("gpujs", { mode: "metal" as GpuJsMode })).toThrow(
      /unknown mode "metal"; expected one of gpu, webgl2, webgl, webgpu, headlessgl, webasm, cpu/,
    );
  });

  it("rejects float64 and tensors beyond 2^24 elements with the reason", () => {
    setBackend("gpujs", { mode: "cpu" });
    expect(() => tensor(new Float64Array([1, 2]))).toThrow(/dtype float64 is not supported on the gpujs backend/);
    expect(() => zeros([4097, 4097])).toThrow(/16785409 elements exceeds the gpujs backend's limit of 16777216/);
  });

  it("refuses buffers of another gpujs instance instead of reading the wrong device", () => {
    setBackend("gpujs", { mode: "cpu" });
    const a = tensor([1, 2, 3]);
    setBackend("gpujs", { mode: "webasm" });
    const b = tensor([1, 2, 3]);
    expect(() => a.add(b)).toThrow(/\[add\] inputs live on two instances of backend "gpujs"/);
  });
});

describe.each(nodeModes())("on mode %s", (mode) => {
  it("knows its size limit (GL modes: from the context's texture limit)", () => {
    const backend = setBackend("gpujs", { mode }) as GpuJsBackend;
    expect(backend.maxElements).toBeLessThanOrEqual(2 ** 24);
    if (mode === "headlessgl") {
      expect(backend.maxTextureSize).toBeGreaterThanOrEqual(1024);
      expect(backend.maxElements).toBe(Math.min(2 ** 24, (backend.maxTextureSize as number) ** 2));
    } else {
      expect(backend.maxTextureSize).toBeNull();
    }
  });

  it("a block's forward and backward read nothing back until asked", async () => {
    const backend = setBackend("gpujs", { mode }) as GpuJsBackend;
    const before = backend.readbacks;
    const launchesBefore = backend.launches;
    const outputs = scope(() => {
      const result = miniMindBlock();
      return Object.fromEntries(Object.entries(result).map(([name, value]) => [name, value.detach()]));
    });
    expect(backend.launches - launchesBefore).toBeGreaterThan(50);
    expect(backend.readbacks).toBe(before);
    const loss = await (outputs.loss as Tensor).data();
    expect(backend.readbacks).toBe(before + 1);
    expect(Number.isFinite(loss[0])).toBe(true);
    for (const value of Object.values(outputs)) value.dispose();
  });

  it("addresses every element of the largest allowed tensor (2^24) exactly, through a strided view too", () => {
    setBackend("gpujs", { mode });
    const side = 4096;
    const { plusOne, transposed } = scope(() => {
      const x = arange(0, side * side).reshape([side, side]);
      return { plusOne: add(x, 1).dataSync(), transposed: contiguous(transpose(x)).dataSync() };
    });
    let wrong = 0;
    for (let i = 0; i < side * side; i++) {
      if (plusOne[i] !== i + 1) wrong++;
      const row = Math.floor(i / side);
      if (transposed[i] !== (i - row * side) * side + row) wrong++;
    }
    expect(wrong).toBe(0);
    expect(plusOne[side * side - 1]).toBe(2 ** 24);
  });

  it("1,000 training steps: device values and buffers stay flat, the loss falls", () => {
    const backend = setBackend("gpujs", { mode }) as GpuJsBackend;
    const vocabulary = 16;
    const width = 8;
    const hidden = 16;
    const init = (shape: number[], seed: number) => keep(randn(shape, { seed, std: 0.3 }).requireGrad());
    const parameters = [
      init([vocabulary, width], 1),
      init([width], 2),
      init([width, width], 3),
      init([width, hidden], 4),
      init([hidden, width], 5),
    ];
    const [embeddingWeight, normWeight, mix, up, down] = parameters;
    const moments = parameters.map((p) => [keep(zeros(p.shape)), keep(zeros(p.shape))]);
    const ids = tensor(
      Int32Array.from({ length: 12 }, (_, i) => (i * 5) % vocabulary),
      { shape: [2, 6] },
    );
    const labels = tensor(
      Int32Array.from({ length: 12 }, (_, i) => (i % 6 === 5 ? -100 : (i * 5 + 1) % vocabulary)),
      {
        shape: [2, 6],
      },
    );
    const step = (stepNumber: number): Tensor =>
      scope(() => {
        const x = embedding(embeddingWeight, ids);
        const h = rmsnorm(x, normWeight);
        const mixed = x.add(matmul(softmax(matmul(h, mix)), transpose(mix)));
        const out = mixed.add(matmul(silu(matmul(mixed, up)), down));
        const loss = crossEntropy(matmul(out, transpose(embeddingWeight)), labels);
        loss.backward();
        parameters.forEach((parameter, index) => {
          const [m, v] = moments[index];
          adamwUpdate(parameter, parameter.grad as Tensor, m, v, { learningRate: 1e-2, step: stepNumber });
          parameter.zeroGrad();
        });
        return loss.detach();
      });
    // headless-gl: count the GL textures gpu.js itself creates and deletes, not only our own handles.
    let glTextures = 0;
    const gl = (backend as unknown as { gpu: { context?: GlTextureApi } }).gpu.context;
    if (mode === "headlessgl" && gl) {
      const [create, remove] = [gl.createTexture.bind(gl), gl.deleteTexture.bind(gl)];
      gl.createTexture = () => {
        glTextures++;
        return create();
      };
      gl.deleteTexture = (texture: unknown) => {
        glTextures--;
        return remove(texture);
      };
    }
    const snapshot = () => ({
      glTextures,
      deviceValues: backend.deviceValues,
      buffers: backend.memory().buffersInUse,
      bytes: backend.memory().bytesInUse,
      tensors: memory().tensors,
    });
    const first = step(1);
    const firstLoss = first.item();
    first.dispose();
    for (let n = 2; n <= 100; n++) step(n).dispose();
    const warm = snapshot();
    const readbacks = backend.readbacks;
    let last = step(101);
    for (let n = 102; n <= 1000; n++) {
      last.dispose();
      last = step(n);
    }
    expect(backend.readbacks).toBe(readbacks);
    const lastLoss = last.item();
    last.dispose();
    const end = snapshot();
    console.log(
      `[gpujs ${mode}] after step 100: ${JSON.stringify(warm)}; after step 1000: ${JSON.stringify(end)}; loss ${firstLoss.toFixed(3)} → ${lastLoss.toFixed(3)}; ${backend.launches} kernel launches`,
    );
    expect(end).toEqual(warm);
    // The GL counter is live (kernels' own textures count too), so "flat" above is a measurement.
    if (mode === "headlessgl") expect(warm.glTextures).toBeGreaterThan(0);
    expect(lastLoss).toBeLessThan(firstLoss / 2);
    for (const leftover of [...parameters, ...moments.flat(), ids, labels]) leftover.dispose();
    expect(backend.deviceValues).toBe(0);
  });
});
