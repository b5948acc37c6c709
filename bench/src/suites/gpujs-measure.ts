/**
 * The gpujs suite's measurements, shared by the Node suite (`gpujs.ts`) and the page it runs in headless Chromium
 * (`../browser/gpujs.browser.ts`): a float32 matmul and the forward pass of one MiniMind-shaped decoder block, each
 * timed on the current backend as a median of runs with the result read back (`await data()`), so GPU modes are
 * timed to completion. No Node-only imports: esbuild bundles this file for the browser.
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
  silu,
  softmax,
  type Tensor,
  tensor,
  transpose,
} from "@minimind/tensor";
import { medianMs } from "../suite.js";

export interface BlockShape {
  hidden: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  steps: number;
  vocab: number;
}

export const BLOCK: BlockShape = { hidden: 256, heads: 4, kvHeads: 2, ffn: 704, steps: 64, vocab: 6400 };

/** Timed runs per figure (the median is reported), after one untimed warm-up that also compiles gpu.js kernels. */
export const RUNS = 5;

/** Block weights and inputs, created on the current backend from fixed seeds. */
export function blockInputs(shape: BlockShape) {
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
export function blockForward(p: ReturnType<typeof blockInputs>): Tensor {
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
export async function timed(work: () => Tensor, runs: number): Promise<number> {
  return medianMs(async () => {
    const result = scope(() => work().detach());
    await result.data();
    result.dispose();
  }, runs);
}

/** Median ms per figure: a `matmulSize`³ matmul and the block forward (BLOCK), both read back. */
export interface Measured {
  matmul: number;
  block: number;
}

/** Measures the matmul and the block forward on the current backend (see setBackend). */
export async function measure(matmulSize: number, runs: number): Promise<Measured> {
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

/** GFLOP of one `size`³ matmul (2·n³ multiply-adds counted as two operations). */
export function matmulGigaflop(size: number): number {
  return (2 * size ** 3) / 1e9;
}
