/**
 * The fused kernels' compositions from primitive ops (like mlx's `fast` fallbacks): what runs where a backend
 * lacks a fused kernel, and the reference the fused kernels are tested against. One function per fused kernel
 * of backend.ts, forward and backward alike, over tensors instead of buffers. Each is built only from ops
 * whose kernels are primitive (elementwise, where, copy, fill, reduce, gathers and scatters), so a backend
 * with the primitive kernels alone runs every op. They compute in the inputs' dtype (the CPU's fused kernels
 * accumulate rows in float64), so they agree with the fused kernels to float32 rounding.
 *
 * What the compositions do not do: data-dependent checks that need a readback (a target or weight out of
 * range is diagnosed by the CPU's fused kernels only), and NaN ordering (argmax and top-k here rank NaN below
 * every number).
 * Not here: the choice between kernel and composition (fused.ts), the fused ops' autograd rules
 * (nn.ts: each has a backward of its own, itself a fused kernel with a composition here).
 */
import type { AdamWHyperparameters } from "../backend.js";
import type { DType } from "../dtype.js";
import { scope } from "../memory.js";
import { normalizeAxis, shapeSize } from "../shape.js";
import { emptyTensor, noGrad, type Tensor } from "../tensor.js";
import { lastAxisWidth } from "./apply.js";
import {
  add,
  div,
  equal,
  exp,
  greater,
  lessEqual,
  log,
  maximum,
  mul,
  neg,
  notEqual,
  rsqrt,
  sigmoid,
  silu,
  sqrt,
  sub,
  where,
} from "./elementwise.js";
import { takeAlongLastAxis } from "./indexing.js";
import { assign, cast, concat, reshape, slice } from "./movement.js";
import { max, sum } from "./reduce.js";

/** Mean over the last axis, kept as a size-1 axis. */
function rowMean(x: Tensor): Tensor {
  return div(sum(x, -1, true), lastAxisWidth(x));
}

/** int32 [0, 1, …, length − 1] (or reversed) on x's backend, uploaded from the host. */
function positions(like: Tensor, length: number, reversed = false): Tensor {
  const values = new Int32Array(length);
  for (let index = 0; index < length; index++) values[index] = reversed ? length - 1 - index : index;
  const out = emptyTensor([length], "int32", like.backend);
  like.backend.write(out.storage.buffer, values);
  return out;
}

/** x with a size-1 axis appended. */
function column(x: Tensor): Tensor {
  return reshape(x, [...x.shape, 1]);
}

// ---------------------------------------------------------------------------------------------------------
// softmax

/** softmax over the last axis: exp(x − max) / Σ exp(x − max). */
export function softmaxComposed(x: Tensor): Tensor {
  return scope(() => {
    const shifted = exp(sub(x, max(x, -1, true)));
    return div(shifted, sum(shifted, -1, true));
  });
}

/** log-softmax over the last axis: (x − max) − log Σ exp(x − max). */
export function logSoftmaxComposed(x: Tensor): Tensor {
  return scope(() => {
    const shifted = sub(x, max(x, -1, true));
    return sub(shifted, log(sum(exp(shifted), -1, true)));
  });
}

/** From the output y and its gradient: softmax y ⊙ (g − Σ g⊙y); log-softmax g − exp(y)·Σ g. */
export function softmaxBackwardComposed(y: Tensor, gradY: Tensor, isLog: boolean): Tensor {
  return scope(() =>
    isLog ? sub(gradY, mul(exp(y), sum(gradY, -1, true))) : mul(y, sub(gradY, sum(mul(gradY, y), -1, true))),
  );
}

// ---------------------------------------------------------------------------------------------------------
// rmsnorm

export function rmsnormComposed(x: Tensor, weight: Tensor, epsilon = 1e-6): Tensor {
  return scope(() => mul(mul(x, rsqrt(add(rowMean(mul(x, x)), epsilon))), weight));
}

/** With r = (mean(x²) + ε)^(-1/2) and u = g ⊙ w: dx = r·u − r³·x·mean(u ⊙ x); dw = Σ_rows g ⊙ x · r. */
export function rmsnormBackwardComposed(
  x: Tensor,
  weight: Tensor,
  gradY: Tensor,
  epsilon: number,
): [gradX: Tensor, gradWeight: Tensor] {
  return scope(() => {
    const r = rsqrt(add(rowMean(mul(x, x)), epsilon));
    const u = mul(gradY, weight);
    const gradX = sub(mul(u, r), mul(mul(x, mul(mul(r, r), r)), rowMean(mul(u, x))));
    const gradWeight = sum(reshape(mul(mul(gradY, x), r), [-1, lastAxisWidth(x)]), 0);
    return [gradX, gradWeight];
  });
}

// ---------------------------------------------------------------------------------------------------------
// swiglu

/** silu(gate)·up: the unfused MLP product. */
export function swigluComposed(gate: Tensor, up: Tensor): Tensor {
  return scope(() => mul(silu(gate), up));
}

/** swiglu's gradients as the unfused ops' rules give them (mul's, then silu's), in the same order. */
export function swigluBackwardComposed(gate: Tensor, up: Tensor, gradOut: Tensor): [gradGate: Tensor, gradUp: Tensor] {
  return scope(() => {
    const s = sigmoid(gate);
    const gradGate = mul(mul(gradOut, up), mul(s, add(1, mul(gate, sub(1, s)))));
    const gradUp = mul(gradOut, silu(gate));
    return [gradGate, gradUp];
  });
}

// ---------------------------------------------------------------------------------------------------------
// rope

/**
 * The rope kernel's contract from slices, products and a concat: rows of x (its last axis is the width) take
 * their position as ⌊row / rowsPerPosition⌋ mod positions, where the tables are [positions, width/2] and x
 * holds whole groups of positions · rowsPerPosition rows (as `rope` guarantees). `inverse` rotates by −θ.
 */
export function ropeRowsComposed(
  x: Tensor,
  cos: Tensor,
  sin: Tensor,
  rowsPerPosition: number,
  inverse: boolean,
): Tensor {
  return scope(() => {
    const width = lastAxisWidth(x);
    const half = width / 2;
    const count = cos.shape[0];
    const group = count * rowsPerPosition * width;
    // [groups, positions, rowsPerPosition, width]; tables [positions, 1, half] broadcast against it.
    const grouped = reshape(x, [group === 0 ? 0 : x.size / group, count, rowsPerPosition, width]);
    const c = reshape(cos, [count, 1, half]);
    const s = reshape(inverse ? neg(sin) : sin, [count, 1, half]);
    const first = slice(grouped, [0, 0, 0, 0], [...grouped.shape.slice(0, -1), half]);
    const second = slice(grouped, [0, 0, 0, half]);
    const rotated = concat([sub(mul(first, c), mul(second, s)), add(mul(second, c), mul(first, s))], -1);
    return reshape(rotated, x.shape);
  });
}

/** Rotate-half rotary embedding from slices, products and a concat (the options of `rope`). */
export function ropeComposed(x: Tensor, cos: Tensor, sin: Tensor, options: { sequenceAxis?: number } = {}): Tensor {
  const axis = normalizeAxis("rope", options.sequenceAxis ?? -2, x.rank);
  return ropeRowsComposed(x, cos, sin, shapeSize(x.shape.slice(axis + 1, -1)), false);
}

// ---------------------------------------------------------------------------------------------------------
// cross-entropy

/** Mean cross-entropy over kept targets: Σ −log-softmax[target] · kept / max(Σ kept, 1). */
export function crossEntropyComposed(logits: Tensor, targets: Tensor, options: { ignoreIndex?: number } = {}): Tensor {
  const ignoreIndex = options.ignoreIndex ?? -100;
  return scope(() => {
    const keptMask = notEqual(targets, ignoreIndex);
    const safeTargets = column(where(keptMask, targets, 0));
    const picked = reshape(takeAlongLastAxis(logSoftmaxComposed(logits), safeTargets), targets.shape);
    const kept = cast(keptMask, logits.dtype);
    // −picked before the sum, so a loss with every target ignored is +0 (the sum starts from +0).
    return div(sum(mul(neg(picked), kept)), maximum(sum(kept), 1));
  });
}

/** (softmax(logits) − one-hot(target)) · kept · gradLoss / max(Σ kept, 1); gradLoss stays a tensor. */
export function crossEntropyBackwardComposed(
  logits: Tensor,
  targets: Tensor,
  ignoreIndex: number,
  gradLoss: Tensor,
): Tensor {
  return scope(() => {
    const kept = cast(notEqual(targets, ignoreIndex), logits.dtype);
    const scale = div(reshape(gradLoss, []), maximum(sum(kept), 1));
    const oneHot = cast(equal(column(targets), positions(logits, lastAxisWidth(logits))), logits.dtype);
    return mul(sub(softmaxComposed(logits), oneHot), mul(column(kept), scale));
  });
}

// ---------------------------------------------------------------------------------------------------------
// AdamW

/** One AdamW step from primitives, assigned in place to param, m and v (what the `adamw` kernel does). */
export function adamwComposed(
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  hyperparameters: AdamWHyperparameters,
): void {
  const { learningRate, beta1, beta2, epsilon, weightDecay, step } = hyperparameters;
  noGrad(() =>
    scope(() => {
      const g = reshape(grad, param.shape);
      const nextM = add(mul(m, beta1), mul(g, 1 - beta1));
      const nextV = add(mul(v, beta2), mul(mul(g, g), 1 - beta2));
      const mHat = div(nextM, 1 - beta1 ** step);
      const vHat = div(nextV, 1 - beta2 ** step);
      const decayed = mul(param, 1 - learningRate * weightDecay);
      const nextParam = sub(decayed, div(mul(mHat, learningRate), add(sqrt(vHat), epsilon)));
      assign(m, nextM);
      assign(v, nextV);
      assign(param, nextParam);
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------
// argmax, top-k, multinomial

function lowestValue(dtype: DType): number {
  return dtype === "int32" ? -(2 ** 31) : Number.NEGATIVE_INFINITY;
}

/** x with NaN replaced by the lowest value of its dtype (NaN ranks below every number). */
function withoutNaN(x: Tensor): Tensor {
  return x.dtype === "int32" ? x : where(notEqual(x, x), lowestValue(x.dtype), x);
}

/** The first index along the last axis where `hits` is set (int32, keepdim); `reversed` = positions reversed. */
function firstHit(hits: Tensor, reversed: Tensor): Tensor {
  const width = reversed.shape[0];
  return sub(width - 1, max(where(hits, reversed, -1), -1, true));
}

/** Index of the largest element along the last axis, first on ties. */
export function argmaxComposed(x: Tensor): Tensor {
  return scope(() => {
    const values = withoutNaN(x);
    const hits = equal(values, max(values, -1, true));
    return reshape(firstHit(hits, positions(x, lastAxisWidth(x), true)), x.shape.slice(0, -1));
  });
}

/** The k largest along the last axis, descending, ties in index order: k passes of "first maximum not taken". */
export function topkComposed(x: Tensor, k: number): { values: Tensor; indices: Tensor } {
  return scope(() => {
    const values = withoutNaN(x);
    const width = lastAxisWidth(x);
    const all = positions(x, width);
    const reversed = positions(x, width, true);
    let taken = emptyTensor(x.shape, "bool", x.backend, true);
    const pickedValues: Tensor[] = [];
    const pickedIndices: Tensor[] = [];
    for (let pass = 0; pass < k; pass++) {
      const picked = scope(() => {
        const candidates = where(taken, lowestValue(x.dtype), values);
        const hits = where(taken, 0, equal(candidates, max(candidates, -1, true)));
        const index = firstHit(hits, reversed);
        return { index, value: takeAlongLastAxis(x, index), taken: where(equal(all, index), 1, taken) };
      });
      taken.dispose();
      taken = picked.taken;
      pickedValues.push(picked.value);
      pickedIndices.push(picked.index);
    }
    return { values: concat(pickedValues, -1), indices: concat(pickedIndices, -1) };
  });
}

/** Inclusive prefix sums along the last axis in ⌈log₂ width⌉ shifted adds (Hillis–Steele). */
function cumulativeSum(x: Tensor): Tensor {
  const width = lastAxisWidth(x);
  let total = x;
  for (let shift = 1; shift < width; shift *= 2) {
    const zeros = emptyTensor([...x.shape.slice(0, -1), shift], x.dtype, x.backend, true);
    const shifted = concat([zeros, slice(total, [], [...x.shape.slice(0, -1), width - shift])], -1);
    total = add(total, shifted);
  }
  return total;
}

/**
 * Inverse-CDF draws: the class is the number of cumulative weights ≤ uniform · total (at most classes − 1),
 * then moved down to the nearest class of positive weight (never a zero-weight class through rounding).
 * Weights accumulate in the uniforms' dtype (float64 where the backend stores it, as the CPU kernel does).
 */
export function multinomialComposed(weights: Tensor, uniforms: Tensor): Tensor {
  return scope(() => {
    const classes = lastAxisWidth(weights);
    const w = cast(weights, uniforms.dtype);
    const cumulative = cumulativeSum(w);
    const total = slice(cumulative, [...cumulative.shape.slice(0, -1).map(() => 0), classes - 1]);
    const threshold = column(mul(uniforms, total)); // [..., samples, 1]
    const rowShape = [...w.shape.slice(0, -1), 1, classes]; // [..., 1, classes]
    const below = sum(cast(lessEqual(reshape(cumulative, rowShape), threshold), "int32"), -1);
    const chosen = where(greater(below, classes - 1), classes - 1, below); // [..., samples]
    const all = positions(weights, classes);
    const eligible = where(lessEqual(all, column(chosen)), greater(reshape(w, rowShape), 0), 0);
    return max(where(eligible, all, 0), -1);
  });
}
