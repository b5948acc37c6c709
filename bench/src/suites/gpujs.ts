/**
 * gpujs: @minimind/tensor's gpu.js backend per mode — a float32 matmul (GFLOP/s) and the forward pass of one
 * MiniMind-shaped decoder block (ms) — against @minimind/tensor's CPU backend doing the same work in the
 * same run. Modes: `cpu` and `webasm` always, `headlessgl` where the gl addon loads under a display
 * (`xvfb-run`), `webgpu` where gpu.js finds an adapter. Every timed run ends with a readback (`await data()`),
 * so GPU modes are timed to completion, readback included. On this project's CI machine the "GPU" modes are
 * software renderers; `bench/device.sh` runs the same suite on a machine with an NVIDIA GPU.
 */
import {
  add,
  embedding,
  expand,
  matmul,
  mul,
  permute,
  randn,
  reshape,
  rmsnorm,
  rope,
  scope,
  setBackend,
  silu,
  softmax,
  type Tensor,
  tensor,
  transpose,
} from "@minimind/tensor";
import {
  enableNodeWebGPU,
  type GpuJsBackend,
  type GpuJsConstructor,
  type GpuJsMode,
  unavailableReason,
} from "@minimind/tensor/gpujs";
import * as gpujsModule from "gpu.js";
import { type BenchResult, medianMs, type Suite } from "../suite.js";

const PEER = "@minimind/tensor cpu backend";
const RUNS = 5;

interface BlockShape {
  hidden: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  steps: number;
  vocab: number;
}

const BLOCK: BlockShape = { hidden: 256, heads: 4, kvHeads: 2, ffn: 704, steps: 64, vocab: 6400 };

/** Block weights and inputs, created on the current backend from fixed seeds. */
function blockInputs(shape: BlockShape) {
  const { hidden, heads, kvHeads, ffn, steps, vocab } = shape;
  const headDim = hidden / heads;
  const w = (dims: number[], seed: number) => randn(dims, { seed, std: 0.02 });
  const angles = Float32Array.from(
    { length: steps * (headDim / 2) },
    (_, i) => Math.floor(i / (headDim / 2)) * 1e6 ** (-(2 * (i % (headDim / 2))) / headDim),
  );
  return {
    shape,
    embed: w([vocab, hidden], 1),
    norm: randn([hidden], { seed: 2, std: 0.1 }).add(1),
    wq: w([hidden, heads * headDim], 3),
    wk: w([hidden, kvHeads * headDim], 4),
    wv: w([hidden, kvHeads * headDim], 5),
    wo: w([heads * headDim, hidden], 6),
    gate: w([hidden, ffn], 7),
    up: w([hidden, ffn], 8),
    down: w([ffn, hidden], 9),
    ids: tensor(
      Int32Array.from({ length: steps }, (_, i) => (i * 97) % vocab),
      { shape: [1, steps] },
    ),
    cos: tensor(Float32Array.from(angles, Math.cos), { shape: [steps, headDim / 2] }),
    sin: tensor(Float32Array.from(angles, Math.sin), { shape: [steps, headDim / 2] }),
    causal: tensor(
      Float32Array.from({ length: steps * steps }, (_, i) => (i % steps <= Math.floor(i / steps) ? 0 : -1e9)),
      { shape: [steps, steps] },
    ),
  };
}

/** One pre-norm block (attention with GQA and rope, SwiGLU MLP) and the tied head: the logits. */
function blockForward(p: ReturnType<typeof blockInputs>): Tensor {
  const { hidden, heads, kvHeads, steps } = p.shape;
  const headDim = hidden / heads;
  const group = heads / kvHeads;
  const x = embedding(p.embed, p.ids);
  const h = rmsnorm(x, p.norm, 1e-5);
  const q = permute(
    rope(reshape(matmul(h, p.wq), [1, steps, heads, headDim]), p.cos, p.sin, { sequenceAxis: 1 }),
    [0, 2, 1, 3],
  );
  const k = permute(
    rope(reshape(matmul(h, p.wk), [1, steps, kvHeads, headDim]), p.cos, p.sin, { sequenceAxis: 1 }),
    [0, 2, 1, 3],
  );
  const v = permute(reshape(matmul(h, p.wv), [1, steps, kvHeads, headDim]), [0, 2, 1, 3]);
  const repeat = (t: Tensor) =>
    reshape(expand(reshape(t, [1, kvHeads, 1, steps, headDim]), [1, kvHeads, group, steps, headDim]), [
      1,
      heads,
      steps,
      headDim,
    ]);
  const scores = add(mul(matmul(q, transpose(repeat(k))), 1 / Math.sqrt(headDim)), p.causal);
  const attended = reshape(permute(matmul(softmax(scores), repeat(v)), [0, 2, 1, 3]), [1, steps, hidden]);
  const residual = add(x, matmul(attended, p.wo));
  const h2 = rmsnorm(residual, p.norm, 1e-5);
  const out = add(residual, matmul(mul(silu(matmul(h2, p.gate)), matmul(h2, p.up)), p.down));
  return matmul(out, transpose(p.embed));
}

/** Median ms of `work` (its result read back) on the current backend. */
async function timed(work: () => Tensor, runs: number): Promise<number> {
  return medianMs(async () => {
    const result = scope(() => work().detach());
    await result.data();
    result.dispose();
  }, runs);
}

interface Measured {
  matmul: number;
  block: number;
}

async function measure(matmulSize: number, runs: number): Promise<Measured> {
  const a = randn([matmulSize, matmulSize], { seed: 11 });
  const b = randn([matmulSize, matmulSize], { seed: 12 });
  const inputs = blockInputs(BLOCK);
  try {
    const matmulMs = await timed(() => matmul(a, b), runs);
    const blockMs = await timed(() => blockForward(inputs), runs);
    return { matmul: matmulMs, block: blockMs };
  } finally {
    a.dispose();
    b.dispose();
    for (const value of Object.values(inputs)) if (typeof value === "object" && "dispose" in value) value.dispose();
  }
}

function glRenderer(backend: GpuJsBackend): string {
  interface GlContext {
    getParameter(name: number): unknown;
    RENDERER: number;
    VERSION: number;
  }
  const context = (backend as unknown as { gpu?: { context?: GlContext } }).gpu?.context;
  if (!context?.getParameter) return "";
  try {
    return ` (GL renderer: ${String(context.getParameter(context.RENDERER))}, ${String(context.getParameter(context.VERSION))})`;
  } catch {
    return "";
  }
}

export const gpujsSuite: Suite = {
  name: "gpujs",
  description: `gpu.js backend per mode: matmul GFLOP/s and a MiniMind block forward (hidden ${BLOCK.hidden}, T ${BLOCK.steps}, vocab ${BLOCK.vocab}) vs ${PEER}, median of ${RUNS}`,
  async *run({ log }) {
    const GPU = (gpujsModule as unknown as { GPU: GpuJsConstructor }).GPU;
    const modes: GpuJsMode[] = ["cpu", "webasm", "headlessgl", "webgpu"];
    const webgpu = await enableNodeWebGPU(process.env.GPUJS_MODULES_DIR);
    log(
      webgpu.ok ? `gpujs: Node WebGPU adapter: ${webgpu.adapter}` : `gpujs: Node WebGPU unavailable: ${webgpu.reason}`,
    );
    setBackend("cpu");
    const matmulSize = Number(process.env.GPUJS_BENCH_MATMUL ?? 256);
    const reference = await measure(matmulSize, RUNS);
    log(`gpujs: cpu backend matmul ${reference.matmul.toFixed(2)} ms, block ${reference.block.toFixed(2)} ms`);
    const gigaflop = (2 * matmulSize ** 3) / 1e9;
    for (const mode of modes) {
      const reason = unavailableReason(GPU, mode);
      if (reason) {
        log(`gpujs: mode ${mode} skipped: ${reason}`);
        continue;
      }
      let backend: GpuJsBackend;
      try {
        backend = setBackend("gpujs", { mode }) as GpuJsBackend;
      } catch (error) {
        log(`gpujs: mode ${mode} skipped: ${(error as Error).message}`);
        continue;
      }
      // Compile every kernel outside the timing (gpu.js compiles on first use).
      const runs = mode === "cpu" ? 3 : RUNS;
      const ours = await measure(matmulSize, runs);
      log(
        `gpujs: mode ${backend.mode}${glRenderer(backend)}: matmul ${ours.matmul.toFixed(2)} ms, block ${ours.block.toFixed(2)} ms, ${backend.launches} launches, ${backend.readbacks} readbacks`,
      );
      const results: BenchResult[] = [
        {
          suite: "gpujs",
          case: `${backend.mode} matmul ${matmulSize}³`,
          metric: "throughput",
          unit: "GFLOP/s",
          value: gigaflop / (ours.matmul / 1000),
          peer: PEER,
          peerValue: gigaflop / (reference.matmul / 1000),
          ratio: reference.matmul / ours.matmul,
        },
        {
          suite: "gpujs",
          case: `${backend.mode} block forward`,
          metric: "forward",
          unit: "ms",
          value: ours.block,
          peer: PEER,
          peerValue: reference.block,
          ratio: reference.block / ours.block,
        },
      ];
      yield* results;
      setBackend("cpu");
      await backend.destroy();
    }
    setBackend("cpu");
  },
};
