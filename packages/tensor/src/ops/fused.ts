/**
 * The fused ops' compositions from primitives (like mlx's `fast` fallbacks): what a backend without the
 * fused kernel runs, and the reference the fused kernels are tested against. Also the AdamW update, fused
 * in one in-place kernel with a composed fallback.
 * Not here: the fused kernels and their backward rules (primitives.ts, the backends).
 */
import { type AdamWHyperparameters, kernel } from "../backend.js";
import { scope } from "../memory.js";
import { normalizeAxis } from "../shape.js";
import { noGrad, type Tensor } from "../tensor.js";
import { mean } from "./compound.js";
import { assign, notEqual } from "./non-differentiable.js";
import {
  add,
  cast,
  concat,
  div,
  exp,
  log,
  max,
  maximum,
  mul,
  neg,
  type RopeOptions,
  reshape,
  rsqrt,
  slice,
  sqrt,
  sub,
  sum,
  takeAlongLastAxis,
  where,
} from "./primitives.js";

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

export function rmsnormComposed(x: Tensor, weight: Tensor, epsilon = 1e-6): Tensor {
  return scope(() => mul(mul(x, rsqrt(add(mean(mul(x, x), -1, true), epsilon))), weight));
}

/** Rotate-half rotary embedding from slices, products and a concat. */
export function ropeComposed(x: Tensor, cos: Tensor, sin: Tensor, options: RopeOptions = {}): Tensor {
  return scope(() => {
    const axis = normalizeAxis("rope", options.sequenceAxis ?? -2, x.rank);
    const half = x.shape[x.rank - 1] / 2;
    // Tables [positions, half] → [positions, 1, …, 1, half] so they broadcast against x's trailing axes.
    const tableShape = [x.shape[axis], ...new Array<number>(x.rank - axis - 2).fill(1), half];
    const c = reshape(cos, tableShape);
    const s = reshape(sin, tableShape);
    const first = slice(
      x,
      x.shape.map(() => 0),
      [...x.shape.slice(0, -1), half],
    );
    const second = slice(x, [...x.shape.slice(0, -1).map(() => 0), half]);
    return concat([sub(mul(first, c), mul(second, s)), add(mul(second, c), mul(first, s))], -1);
  });
}

/** Mean cross-entropy over kept targets: −Σ log-softmax[target] · kept / max(Σ kept, 1). */
export function crossEntropyComposed(logits: Tensor, targets: Tensor, options: { ignoreIndex?: number } = {}): Tensor {
  const ignoreIndex = options.ignoreIndex ?? -100;
  return scope(() => {
    const keptMask = notEqual(targets, ignoreIndex);
    const safeTargets = reshape(where(keptMask, targets, 0), [...targets.shape, 1]);
    const picked = reshape(takeAlongLastAxis(logSoftmaxComposed(logits), safeTargets), targets.shape);
    const kept = cast(keptMask, logits.dtype);
    return div(neg(sum(mul(picked, kept))), maximum(sum(kept), 1));
  });
}

export interface AdamWOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
  /** 1-based step count (bias correction). */
  step: number;
}

function hyperparameters(options: AdamWOptions): AdamWHyperparameters {
  if (!(options.step >= 1)) throw new Error(`[adamw] step ${options.step} must be ≥ 1 (it counts from 1)`);
  return {
    learningRate: options.learningRate,
    beta1: options.beta1 ?? 0.9,
    beta2: options.beta2 ?? 0.999,
    epsilon: options.epsilon ?? 1e-8,
    weightDecay: options.weightDecay ?? 0.01,
    step: options.step,
  };
}

function checkAdamW(param: Tensor, grad: Tensor, m: Tensor, v: Tensor): void {
  for (const [name, tensor] of [
    ["grad", grad],
    ["m", m],
    ["v", v],
  ] as const) {
    if (tensor.size !== param.size || tensor.dtype !== param.dtype) {
      throw new Error(
        `[adamw] shapes [${param.shape.join(",")}] and [${tensor.shape.join(",")}] (${name}) are incompatible: ${name} must match the parameter's shape and dtype`,
      );
    }
  }
  for (const [name, tensor] of [
    ["param", param],
    ["m", m],
    ["v", v],
  ] as const) {
    if (!tensor.isContiguous || tensor.offset !== 0 || tensor.size !== tensor.storage.buffer.length) {
      throw new Error(`[adamw] ${name} must own a whole contiguous buffer (it is updated in place)`);
    }
  }
}

/**
 * One decoupled-weight-decay Adam step, in place on param, m and v (PyTorch's AdamW):
 * p ← p·(1 − lr·wd) − lr·m̂/(√v̂ + ε), with m̂, v̂ the bias-corrected moments.
 */
export function adamwUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, options: AdamWOptions): void {
  checkAdamW(param, grad, m, v);
  kernel(param.backend, "adamw")(
    param.storage.buffer,
    grad.view("adamw"),
    m.storage.buffer,
    v.storage.buffer,
    hyperparameters(options),
  );
}

/** The same update composed of primitives (then assigned in place). */
export function adamwUpdateComposed(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, options: AdamWOptions): void {
  checkAdamW(param, grad, m, v);
  const { learningRate, beta1, beta2, epsilon, weightDecay, step } = hyperparameters(options);
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
