/**
 * Fused kernels, called with tensors: `fusedOp(backend, name)` gives the backend's kernel where it has one
 * (allocating the outputs), else the kernel's composition from primitives (composed.ts), run without
 * recording a graph and inside a scope. This is the one place that chooses, so every op built on a fused
 * kernel — the fused ops' rules in nn.ts, argmax / top-k / multinomial, AdamW — runs on a backend
 * that has the primitive kernels only. Also the public AdamW update.
 * Not here: the compositions themselves (composed.ts), the ops' validation (their front ends).
 */
import {
  type AdamWHyperparameters,
  type Backend,
  type FusedKernelName,
  type FusedKernels,
  fusedKernel,
} from "../backend.js";
import { scope } from "../memory.js";
import { emptyTensor, noGrad, type Tensor } from "../tensor.js";
import {
  adamwComposed,
  argmaxComposed,
  crossEntropyBackwardComposed,
  crossEntropyComposed,
  logSoftmaxComposed,
  multinomialComposed,
  rmsnormBackwardComposed,
  rmsnormComposed,
  ropeRowsComposed,
  softmaxBackwardComposed,
  softmaxComposed,
  swigluBackwardComposed,
  swigluComposed,
  topkComposed,
} from "./composed.js";

/** Each fused kernel's signature over tensors: outputs are returned instead of passed in. */
interface FusedOpSignatures {
  softmax(x: Tensor, log: boolean): Tensor;
  softmaxBackward(y: Tensor, gradY: Tensor, log: boolean): Tensor;
  rmsnorm(x: Tensor, weight: Tensor, epsilon: number): Tensor;
  rmsnormBackward(x: Tensor, weight: Tensor, gradY: Tensor, epsilon: number): [gradX: Tensor, gradWeight: Tensor];
  rope(x: Tensor, cos: Tensor, sin: Tensor, rowsPerPosition: number, inverse: boolean): Tensor;
  crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex: number): Tensor;
  crossEntropyBackward(logits: Tensor, targets: Tensor, ignoreIndex: number, gradLoss: Tensor): Tensor;
  swiglu(gate: Tensor, up: Tensor): Tensor;
  swigluBackward(gate: Tensor, up: Tensor, gradOut: Tensor): [gradGate: Tensor, gradUp: Tensor];
  /** In place on param, m and v. */
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hyperparameters: AdamWHyperparameters): void;
  argmax(x: Tensor): Tensor;
  topk(x: Tensor, k: number): { values: Tensor; indices: Tensor };
  multinomial(weights: Tensor, uniforms: Tensor): Tensor;
}

/** One entry per fused kernel of backend.ts (a kernel without an entry fails `tsc`). */
export type FusedOps = { [K in FusedKernelName]: FusedOpSignatures[K] };

function present<K extends FusedKernelName>(backend: Backend, name: K): FusedKernels[K] {
  return fusedKernel(backend, name) as FusedKernels[K];
}

function like(x: Tensor, shape: readonly number[] = x.shape, dtype = x.dtype): Tensor {
  return emptyTensor(shape, dtype, x.backend);
}

/** The fused kernels themselves, behind tensor signatures. */
const viaKernels: FusedOps = {
  softmax(x, log) {
    const out = like(x);
    present(x.backend, "softmax")(x.view(), out.storage.buffer, log);
    return out;
  },
  softmaxBackward(y, gradY, log) {
    const out = like(y);
    present(y.backend, "softmaxBackward")(y.view(), gradY.view(), out.storage.buffer, log);
    return out;
  },
  rmsnorm(x, weight, epsilon) {
    const out = like(x);
    present(x.backend, "rmsnorm")(x.view(), weight.view(), epsilon, out.storage.buffer);
    return out;
  },
  rmsnormBackward(x, weight, gradY, epsilon) {
    const gradX = like(x);
    const gradWeight = like(weight);
    present(x.backend, "rmsnormBackward")(
      x.view(),
      weight.view(),
      gradY.view(),
      epsilon,
      gradX.storage.buffer,
      gradWeight.storage.buffer,
    );
    return [gradX, gradWeight];
  },
  rope(x, cos, sin, rowsPerPosition, inverse) {
    const out = like(x);
    present(x.backend, "rope")(x.view(), cos.view(), sin.view(), rowsPerPosition, inverse, out.storage.buffer);
    return out;
  },
  crossEntropy(logits, targets, ignoreIndex) {
    const out = like(logits, []);
    present(logits.backend, "crossEntropy")(logits.view(), targets.view(), ignoreIndex, out.storage.buffer);
    return out;
  },
  crossEntropyBackward(logits, targets, ignoreIndex, gradLoss) {
    const out = like(logits);
    present(logits.backend, "crossEntropyBackward")(
      logits.view(),
      targets.view(),
      ignoreIndex,
      gradLoss.view(),
      out.storage.buffer,
    );
    return out;
  },
  swiglu(gate, up) {
    const out = like(gate);
    present(gate.backend, "swiglu")(gate.view(), up.view(), out.storage.buffer);
    return out;
  },
  swigluBackward(gate, up, gradOut) {
    const gradGate = like(gate);
    const gradUp = like(up);
    present(gate.backend, "swigluBackward")(
      gate.view(),
      up.view(),
      gradOut.view(),
      gradGate.storage.buffer,
      gradUp.storage.buffer,
    );
    return [gradGate, gradUp];
  },
  adamw(param, grad, m, v, hyperparameters) {
    present(param.backend, "adamw")(
      param.storage.buffer,
      grad.view("adamw"),
      m.storage.buffer,
      v.storage.buffer,
      hyperparameters,
    );
  },
  argmax(x) {
    const out = like(x, x.shape.slice(0, -1), "int32");
    present(x.backend, "argmax")(x.view("argmax"), out.storage.buffer);
    return out;
  },
  topk(x, k) {
    const shape = [...x.shape.slice(0, -1), k];
    const values = like(x, shape);
    const indices = like(x, shape, "int32");
    present(x.backend, "topk")(x.view("topk"), k, values.storage.buffer, indices.storage.buffer);
    return { values, indices };
  },
  multinomial(weights, uniforms) {
    const out = like(weights, uniforms.shape, "int32");
    present(weights.backend, "multinomial")(weights.view("multinomial"), uniforms.view(), out.storage.buffer);
    return out;
  },
};

/** The compositions from primitives, behind the same signatures. */
const compositions: FusedOps = {
  softmax: (x, log) => (log ? logSoftmaxComposed(x) : softmaxComposed(x)),
  softmaxBackward: softmaxBackwardComposed,
  rmsnorm: rmsnormComposed,
  rmsnormBackward: rmsnormBackwardComposed,
  rope: ropeRowsComposed,
  crossEntropy: (logits, targets, ignoreIndex) => crossEntropyComposed(logits, targets, { ignoreIndex }),
  crossEntropyBackward: crossEntropyBackwardComposed,
  swiglu: swigluComposed,
  swigluBackward: swigluBackwardComposed,
  adamw: adamwComposed,
  argmax: argmaxComposed,
  topk: topkComposed,
  multinomial: multinomialComposed,
};

/**
 * The fused kernel `name` on `backend` over tensors: the backend's kernel, or — where it has none — the
 * composition from primitives (never recorded for autograd: the fused ops' rules differentiate themselves).
 */
export function fusedOp<K extends FusedKernelName>(backend: Backend, name: K): FusedOps[K] {
  if (fusedKernel(backend, name)) return viaKernels[name];
  const composition = compositions[name] as (...inputs: unknown[]) => unknown;
  return ((...inputs: unknown[]) => noGrad(() => scope(() => composition(...inputs)))) as FusedOps[K];
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
  fusedOp(param.backend, "adamw")(param, grad, m, v, hyperparameters(options));
}

/** The same update composed of primitives (then assigned in place), whatever the backend has. */
export function adamwUpdateComposed(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, options: AdamWOptions): void {
  checkAdamW(param, grad, m, v);
  adamwComposed(param, grad, m, v, hyperparameters(options));
}
