/**
 * The backend conformance suite: every op of the backend interface, forward and backward, run on a candidate
 * backend and on the CPU backend (the oracle) from the same seeded inputs, compared with a per-case tolerance.
 * Framework-free so the same cases run under vitest in Node (cpu / webasm / headlessgl modes) and inside
 * Chromium (webgl2 / webgpu) through `browser-entry.ts`. Readback only through `await tensor.data()`, the
 * one path WebGPU supports.
 *
 * Tolerances (max |candidate − cpu| / max |cpu| per output, so relative to the output's largest magnitude):
 * exact for integer/bool outputs and pure data movement; 1e-5 for float32 arithmetic; 1e-4 where the device
 * evaluates transcendental functions (exp, log, sqrt) with its own approximations or sums long rows in
 * another order (reductions, softmax, cross-entropy, the model block).
 */
import { backward } from "../autograd.js";
import { randn, tensor } from "../creation.js";
import { logSoftmax, mean, softmax, transpose } from "../ops/compound.js";
import {
  abs,
  add,
  div,
  equal,
  exp,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log,
  maximum,
  mul,
  neg,
  notEqual,
  pow,
  rsqrt,
  sigmoid,
  silu,
  sqrt,
  sub,
  where,
} from "../ops/elementwise.js";
import { adamwUpdate } from "../ops/fused.js";
import { embedding, takeAlongLastAxis } from "../ops/indexing.js";
import { matmul } from "../ops/matmul.js";
import { cast, concat, contiguous, expand, permute, reshape, slice } from "../ops/movement.js";
import { crossEntropy, rmsnorm, rope, swiglu } from "../ops/nn.js";
import { argmax, multinomial, topk } from "../ops/non-differentiable.js";
import { max, sum } from "../ops/reduce.js";
import type { Tensor } from "../tensor.js";

export type Outputs = Record<string, Tensor>;

export interface ConformanceCase {
  name: string;
  /** Allowed max |candidate − cpu| / max |cpu| over each output. 0 = exact. */
  tolerance: number;
  /** Build seeded inputs on the current backend and return named outputs (gradients included). */
  build(): Outputs;
}

const parameter = (shape: number[], seed: number, std = 1) => randn(shape, { seed, std }).requireGrad();

/** Σ y·w with a seeded w: a scalar whose gradient flows into every element of y with distinct weights. */
function probe(y: Tensor, seed: number): Tensor {
  return sum(mul(y, randn(y.shape, { seed })));
}

function gradients(loss: Tensor, named: Record<string, Tensor>): Outputs {
  backward(loss);
  const out: Outputs = {};
  for (const [name, leaf] of Object.entries(named)) {
    if (!leaf.grad) throw new Error(`[conformance] ${name} received no gradient`);
    out[`grad ${name}`] = leaf.grad;
  }
  return out;
}

export const conformanceCases: ConformanceCase[] = [
  {
    name: "unary ops and their gradients",
    tolerance: 1e-4,
    build() {
      const x = parameter([3, 7], 1);
      const p = add(abs(randn([3, 7], { seed: 2 })), 0.1).requireGrad();
      const outputs: Outputs = {
        neg: neg(x),
        exp: exp(x),
        abs: abs(x),
        sigmoid: sigmoid(x),
        silu: silu(x),
        square: mul(x, x),
        log: log(p),
        sqrt: sqrt(p),
        rsqrt: rsqrt(p),
        reciprocal: div(1, p),
      };
      const loss = Object.values(outputs).reduce((total, y, index) => add(total, probe(y, 10 + index)), sum(x));
      return { ...outputs, ...gradients(loss, { x, p }) };
    },
  },
  {
    name: "binary ops with broadcasting and strided operands",
    tolerance: 1e-5,
    build() {
      const a = parameter([2, 3, 4], 3);
      const b = parameter([3, 1], 4);
      const c = transpose(parameter([4, 3], 5)); // a strided [3, 4] view
      const positive = add(abs(randn([2, 3, 4], { seed: 6 })), 0.5);
      const outputs: Outputs = {
        add: add(a, b),
        sub: sub(b, a),
        mul: mul(a, c),
        div: div(a, add(abs(b), 1)),
        maximum: maximum(a, c),
        powPositive: pow(positive, 1.7),
      };
      const loss = Object.values(outputs).reduce((total, y, index) => add(total, probe(y, 20 + index)), sum(a));
      return { ...outputs, ...gradients(loss, { a, b }) };
    },
  },
  {
    name: "pow edge cases: negative bases, zero, integer exponents",
    tolerance: 1e-5,
    build() {
      const base = tensor([-2, -1.5, 0, 0, 2, 3, -3]);
      const exponent = tensor([3, 2, 0, 2, 0.5, -1, 0]);
      return { pow: pow(base, exponent) };
    },
  },
  {
    name: "comparisons and where (bool outputs, exact)",
    tolerance: 0,
    build() {
      const a = tensor([
        [1, 2, 3],
        [3, 2, 1],
      ]);
      const b = tensor([2, 2, 2]);
      const mask = greater(a, b);
      return {
        equal: equal(a, b),
        notEqual: notEqual(a, b),
        greater: mask,
        greaterEqual: greaterEqual(a, b),
        less: less(a, b),
        lessEqual: lessEqual(a, b),
        where: where(mask, a, neg(a)),
      };
    },
  },
  {
    name: "int32 arithmetic and casts (exact)",
    tolerance: 0,
    build() {
      const i = tensor(new Int32Array([7, -7, 5, 1000000]));
      const f = tensor([2.7, -2.7, 0, -0.4]);
      return {
        add: add(i, 3),
        mul: mul(i, 2),
        div: div(i, tensor(new Int32Array([2, 2, 3, 7]))),
        castToInt: cast(f, "int32"),
        castToBool: cast(f, "bool"),
        castToFloat: cast(i, "float32"),
      };
    },
  },
  {
    name: "views, copies, concat and slices",
    tolerance: 0,
    build() {
      const x = parameter([2, 3, 4], 7);
      const y = parameter([2, 2, 4], 8);
      const permuted = permute(x, [2, 0, 1]);
      const joined = concat([x, y], 1); // copy into strided views of one buffer
      const sliced = slice(joined, [0, 1, 1], [2, 4, 3]);
      const expanded = expand(reshape(slice(x, [0, 0, 0], [1, 3, 4]), [3, 1, 4]), [3, 2, 4]);
      const outputs: Outputs = {
        permuted: contiguous(permuted),
        reshapedView: reshape(permuted, [4, 6]),
        joined,
        sliced: contiguous(sliced),
        expanded: contiguous(expanded),
      };
      const loss = add(add(probe(joined, 30), probe(sliced, 31)), probe(expanded, 32));
      return { ...outputs, ...gradients(loss, { x, y }) };
    },
  },
  {
    name: "reductions: sum, max, mean over axes",
    tolerance: 1e-5,
    build() {
      const x = parameter([3, 4, 5], 9);
      const outputs: Outputs = {
        sumAll: sum(x),
        sum0: sum(x, 0),
        sum12: sum(x, [1, 2]),
        sumKeep: sum(x, 1, true),
        max2: max(x, 2),
        max02: max(x, [0, 2]),
        meanTransposed: mean(transpose(x, 0, 2), 1),
      };
      const loss = Object.values(outputs).reduce((total, y, index) => add(total, probe(y, 40 + index)), sum(x));
      return { ...outputs, ...gradients(loss, { x }) };
    },
  },
  {
    name: "matmul: plain, batched with broadcasting, transposed operands",
    tolerance: 1e-5,
    build() {
      const a = parameter([5, 7], 11);
      const b = parameter([7, 6], 12);
      const batched = parameter([2, 3, 5, 7], 13);
      const shared = parameter([3, 7, 4], 14);
      const outputs: Outputs = {
        plain: matmul(a, b),
        transposed: matmul(transpose(b), transpose(a)),
        broadcast: matmul(batched, b),
        batchBroadcast: matmul(batched, shared),
        gqaLike: matmul(batched, transpose(expand(reshape(a, [1, 1, 5, 7]), [2, 3, 5, 7]))),
      };
      const loss = Object.values(outputs).reduce((total, y, index) => add(total, probe(y, 50 + index)), sum(a));
      return { ...outputs, ...gradients(loss, { a, b, batched, shared }) };
    },
  },
  {
    name: "embedding (gatherRows) and its gradient (indexAddRows)",
    tolerance: 1e-5,
    build() {
      const table = parameter([9, 6], 15);
      const ids = tensor(new Int32Array([3, 0, 8, 3, 3, 5, 1, 0]), { shape: [2, 4] });
      const looked = embedding(table, ids);
      return { embedding: looked, ...gradients(probe(looked, 60), { table }) };
    },
  },
  {
    name: "takeAlongLastAxis and its gradient (scatterAddAlongLastAxis)",
    tolerance: 1e-5,
    build() {
      const x = parameter([3, 6], 16);
      const indices = tensor(new Int32Array([0, 5, 5, 2, 1, 1, 3, 3, 0]), { shape: [3, 3] });
      const taken = takeAlongLastAxis(x, indices);
      return { taken, ...gradients(probe(taken, 61), { x }) };
    },
  },
  {
    name: "softmax and log-softmax, forward and backward",
    tolerance: 1e-4,
    build() {
      const x = parameter([4, 33], 17, 3);
      const soft = softmax(x);
      const logSoft = logSoftmax(x);
      const loss = add(probe(soft, 62), probe(logSoft, 63));
      // Large logits: a device that folded max and log Σ into one float32 would lose ~1e-4 here.
      const large = tensor([
        [1000, 1000, 999],
        [-1000, 20, 0],
      ]);
      return {
        softmax: soft,
        logSoftmax: logSoft,
        largeSoftmax: softmax(large),
        largeLogSoftmax: logSoftmax(large),
        largeCrossEntropy: crossEntropy(large, tensor(new Int32Array([2, 1]))),
        ...gradients(loss, { x }),
      };
    },
  },
  {
    name: "rmsnorm, forward and backward",
    tolerance: 1e-4,
    build() {
      const x = parameter([2, 5, 16], 18);
      const weight = parameter([16], 19);
      const y = rmsnorm(x, weight, 1e-6);
      return { rmsnorm: y, ...gradients(probe(y, 64), { x, weight }) };
    },
  },
  {
    name: "swiglu, forward and backward (one operand strided)",
    tolerance: 1e-4,
    build() {
      const gate = parameter([2, 5, 16], 21);
      const up = parameter([16, 5, 2], 22);
      const y = swiglu(gate, permute(up, [2, 1, 0]));
      return { swiglu: y, ...gradients(probe(y, 65), { gate, up }) };
    },
  },
  {
    name: "rope over [batch, positions, heads, headDim], forward and backward",
    tolerance: 1e-5,
    build() {
      const x = parameter([2, 5, 3, 8], 20);
      const angles = Float32Array.from({ length: 5 * 4 }, (_, i) => Math.floor(i / 4) * 10000 ** (-(i % 4) / 4));
      const cosTable = tensor(Float32Array.from(angles, Math.cos), { shape: [5, 4] });
      const sinTable = tensor(Float32Array.from(angles, Math.sin), { shape: [5, 4] });
      const y = rope(x, cosTable, sinTable, { sequenceAxis: 1 });
      return { rope: y, ...gradients(probe(y, 65), { x }) };
    },
  },
  {
    name: "rope over [batch, heads, positions, headDim] (the default sequence axis), forward and backward",
    tolerance: 1e-5,
    build() {
      const x = parameter([2, 3, 4, 6], 25);
      const angles = Float32Array.from({ length: 4 * 3 }, (_, i) => Math.floor(i / 3) * 10000 ** (-(i % 3) / 3));
      const cosTable = tensor(Float32Array.from(angles, Math.cos), { shape: [4, 3] });
      const sinTable = tensor(Float32Array.from(angles, Math.sin), { shape: [4, 3] });
      const y = rope(x, cosTable, sinTable);
      return { rope: y, ...gradients(probe(y, 66), { x }) };
    },
  },
  {
    name: "cross-entropy with every target ignored: loss 0, gradient 0",
    tolerance: 0,
    build() {
      const logits = parameter([3, 4], 26);
      const loss = crossEntropy(logits, tensor(new Int32Array([-100, -100, -100])));
      return { loss, ...gradients(loss, { logits }) };
    },
  },
  {
    name: "cross-entropy with ignored rows, forward and backward",
    tolerance: 1e-4,
    build() {
      const logits = parameter([2, 5, 11], 21, 2);
      const targets = tensor(new Int32Array([3, -100, 0, 10, 7, 7, -100, 1, 2, 9]), { shape: [2, 5] });
      const loss = crossEntropy(logits, targets);
      return { loss, ...gradients(mul(loss, 3), { logits }) };
    },
  },
  {
    name: "AdamW: three in-place steps",
    tolerance: 1e-5,
    build() {
      const param = randn([4, 9], { seed: 22 });
      const m = randn([4, 9], { seed: 23, std: 0.1 });
      const v = mul(randn([4, 9], { seed: 24, std: 0.1 }), randn([4, 9], { seed: 24, std: 0.1 }));
      for (let step = 1; step <= 3; step++) {
        const grad = randn([4, 9], { seed: 30 + step });
        adamwUpdate(param, grad, m, v, { learningRate: 1e-2, weightDecay: 0.1, step });
      }
      return { param, m, v };
    },
  },
  {
    name: "argmax, topk (ties in index order, int32, k = width) and multinomial (exact)",
    tolerance: 0,
    build() {
      const x = tensor([
        [1, 5, 5, 2, 0, 5],
        [-1, -2, -3, -4, -5, -6],
        [0, 0, 0, 0, 0, 0],
      ]);
      const best = topk(x, 4);
      const weights = tensor([
        [0, 1, 0, 3, 0, 0],
        [1, 1, 1, 1, 1, 1],
        [0, 0, 0, 0, 0, 2],
      ]);
      const integers = tensor(new Int32Array([-5, -2, -2, -9, -7, -7, -7, -7]), { shape: [2, 4] });
      const all = topk(integers, 4);
      return {
        argmax: argmax(x),
        topkValues: best.values,
        topkIndices: best.indices,
        multinomial: multinomial(weights, { samples: 5, seed: 7 }),
        argmaxInt32: argmax(integers),
        topkAllValues: all.values,
        topkAllIndices: all.indices,
      };
    },
  },
  {
    name: "a MiniMind-shaped block: embedding, q/k-norm GQA attention with rope, SwiGLU, tied head, loss",
    tolerance: 1e-4,
    build() {
      return miniMindBlock();
    },
  },
];

/**
 * One pre-norm decoder block with MiniMind's structure at toy size, forward + backward: vocab 32, hidden 16,
 * 4 query heads / 2 key-value heads of width 4, causal mask, SwiGLU width 24, tied embedding head.
 */
export function miniMindBlock(): Outputs {
  const vocab = 32;
  const hidden = 16;
  const heads = 4;
  const kvHeads = 2;
  const headDim = 4;
  const ffn = 24;
  const batch = 2;
  const steps = 6;
  const w = (shape: number[], seed: number) => parameter(shape, seed, 0.3);
  const params = {
    embed: w([vocab, hidden], 100),
    norm1: add(mul(randn([hidden], { seed: 101 }), 0.1), 1).requireGrad(),
    wq: w([hidden, heads * headDim], 102),
    wk: w([hidden, kvHeads * headDim], 103),
    wv: w([hidden, kvHeads * headDim], 104),
    qNorm: add(mul(randn([headDim], { seed: 105 }), 0.1), 1).requireGrad(),
    kNorm: add(mul(randn([headDim], { seed: 106 }), 0.1), 1).requireGrad(),
    wo: w([heads * headDim, hidden], 107),
    norm2: add(mul(randn([hidden], { seed: 108 }), 0.1), 1).requireGrad(),
    gate: w([hidden, ffn], 109),
    up: w([hidden, ffn], 110),
    down: w([ffn, hidden], 111),
  };
  const ids = tensor(
    Int32Array.from({ length: batch * steps }, (_, i) => (i * 11 + 3) % vocab),
    {
      shape: [batch, steps],
    },
  );
  const labels = tensor(
    Int32Array.from({ length: batch * steps }, (_, i) => (i % steps === 0 ? -100 : (i * 5 + 1) % vocab)),
    { shape: [batch, steps] },
  );
  const positions = Float32Array.from({ length: steps * (headDim / 2) }, (_, i) => {
    const position = Math.floor(i / (headDim / 2));
    const pair = i % (headDim / 2);
    return position * 1e6 ** (-(2 * pair) / headDim);
  });
  const cosTable = tensor(Float32Array.from(positions, Math.cos), { shape: [steps, headDim / 2] });
  const sinTable = tensor(Float32Array.from(positions, Math.sin), { shape: [steps, headDim / 2] });
  const causal = tensor(
    Float32Array.from({ length: steps * steps }, (_, i) => (i % steps <= Math.floor(i / steps) ? 0 : -1e9)),
    { shape: [steps, steps] },
  );

  const x = embedding(params.embed, ids); // [B, T, H]
  const h = rmsnorm(x, params.norm1, 1e-5);
  const q = rmsnorm(reshape(matmul(h, params.wq), [batch, steps, heads, headDim]), params.qNorm, 1e-5);
  const k = rmsnorm(reshape(matmul(h, params.wk), [batch, steps, kvHeads, headDim]), params.kNorm, 1e-5);
  const v = reshape(matmul(h, params.wv), [batch, steps, kvHeads, headDim]);
  const qr = permute(rope(q, cosTable, sinTable, { sequenceAxis: 1 }), [0, 2, 1, 3]); // [B, heads, T, d]
  const kr = permute(rope(k, cosTable, sinTable, { sequenceAxis: 1 }), [0, 2, 1, 3]); // [B, kv, T, d]
  const vr = permute(v, [0, 2, 1, 3]);
  const group = heads / kvHeads;
  const repeat = (t: Tensor) =>
    reshape(expand(reshape(t, [batch, kvHeads, 1, steps, headDim]), [batch, kvHeads, group, steps, headDim]), [
      batch,
      heads,
      steps,
      headDim,
    ]);
  const scores = add(mul(matmul(qr, transpose(repeat(kr))), 1 / Math.sqrt(headDim)), causal);
  const attention = matmul(softmax(scores), repeat(vr)); // [B, heads, T, d]
  const merged = reshape(permute(attention, [0, 2, 1, 3]), [batch, steps, heads * headDim]);
  const residual = add(x, matmul(merged, params.wo));
  const h2 = rmsnorm(residual, params.norm2, 1e-5);
  const mlp = matmul(mul(silu(matmul(h2, params.gate)), matmul(h2, params.up)), params.down);
  const out = add(residual, mlp);
  const logits = matmul(out, transpose(params.embed));
  const loss = crossEntropy(logits, labels);
  return { logits, loss, ...gradients(loss, params) };
}
