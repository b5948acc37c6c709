/**
 * The fused neural-network ops: softmax and log-softmax over the last axis, RMSNorm, rotary embedding and
 * cross-entropy, with derivatives in one table typed `Rules<NnOp>`. Both directions run fused kernels
 * through `fusedOp` (fused.ts): the backend's kernel where it has one, else its composition from primitives
 * (composed.ts). Not here: softmax along another axis (compound.ts), the AdamW update (fused.ts).
 */
import { formatShape, normalizeAxis, shapeSize, shapesEqual } from "../shape.js";
import type { Tensor } from "../tensor.js";
import {
  apply,
  backendOf,
  lastAxisWidth,
  type OpAttributes,
  type Rules,
  requireFloat,
  requireIndices,
  requireSameDType,
} from "./apply.js";
import { fusedOp } from "./fused.js";

export type NnOp = "softmax" | "logSoftmax" | "rmsnorm" | "rope" | "crossEntropy" | "swiglu";

export const nnRules: Rules<NnOp> = {
  softmax: {
    forward: ([x]) => softmaxRaw(x, false),
    backward: (g, { output }) => [softmaxBackwardRaw(output, g, false)],
    saveInputs: false,
    saveOutput: true,
  },
  logSoftmax: {
    forward: ([x]) => softmaxRaw(x, true),
    backward: (g, { output }) => [softmaxBackwardRaw(output, g, true)],
    saveInputs: false,
    saveOutput: true,
  },
  rmsnorm: {
    forward: ([x, weight], { epsilon }) => {
      const backend = backendOf("rmsnorm", [x, weight]);
      requireFloat("rmsnorm", x);
      requireSameDType("rmsnorm", x, weight);
      if (weight.rank !== 1 || weight.shape[0] !== lastAxisWidth(x)) {
        throw new Error(
          `[rmsnorm] shapes ${formatShape(x.shape)} and ${formatShape(weight.shape)} are incompatible: weight must be [${lastAxisWidth(x)}]`,
        );
      }
      return fusedOp(backend, "rmsnorm")(x, weight, epsilon);
    },
    backward: (g, { inputs: [x, weight], attributes: { epsilon } }) =>
      fusedOp(x.backend, "rmsnormBackward")(x, weight, g, epsilon),
  },
  rope: {
    forward: ([x, cos, sin], { rowsPerPosition }) => ropeRaw(x, cos, sin, rowsPerPosition, false),
    // The rotation is orthogonal: its transpose is the rotation by −θ.
    backward: (g, { inputs: [, cos, sin], attributes: { rowsPerPosition } }) => [
      ropeRaw(g, cos, sin, rowsPerPosition, true),
      null,
      null,
    ],
  },
  crossEntropy: {
    forward: ([logits, targets], { ignoreIndex }) =>
      fusedOp(backendOf("crossEntropy", [logits, targets]), "crossEntropy")(logits, targets, ignoreIndex),
    backward: (g, { inputs: [logits, targets], attributes: { ignoreIndex } }) => [
      fusedOp(logits.backend, "crossEntropyBackward")(logits, targets, ignoreIndex, g),
      null,
    ],
  },
  swiglu: {
    forward: ([gate, up]) => {
      const backend = backendOf("swiglu", [gate, up]);
      requireFloat("swiglu", gate);
      requireSameDType("swiglu", gate, up);
      if (!shapesEqual(gate.shape, up.shape)) {
        throw new Error(
          `[swiglu] shapes ${formatShape(gate.shape)} and ${formatShape(up.shape)} are incompatible: gate and up must have one shape`,
        );
      }
      return fusedOp(backend, "swiglu")(gate, up);
    },
    backward: (g, { inputs: [gate, up] }) => fusedOp(gate.backend, "swigluBackward")(gate, up, g),
  },
};

function run<P extends NnOp>(op: P, inputs: readonly Tensor[], attributes: OpAttributes[P]): Tensor {
  return apply(op, nnRules[op], inputs, attributes);
}

export function softmaxLastAxis(x: Tensor): Tensor {
  return run("softmax", [x], {});
}
export function logSoftmaxLastAxis(x: Tensor): Tensor {
  return run("logSoftmax", [x], {});
}
/** RMSNorm over the last axis: x / sqrt(mean(x²) + epsilon) · weight. */
export function rmsnorm(x: Tensor, weight: Tensor, epsilon = 1e-6): Tensor {
  return run("rmsnorm", [x, weight], { epsilon });
}

/**
 * SwiGLU's gated product silu(gate)·up, elementwise over two tensors of one shape: the MLP of Llama, Qwen3 and
 * MiniMind is down(swiglu(gate(x), up(x))). Fused: one pass forward and one backward, without the unfused
 * ops' intermediate tensors; on the CPU backend bit for bit what `mul(silu(gate), up)` computes, gradients
 * included.
 */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  return run("swiglu", [gate, up], {});
}

export interface RopeOptions {
  /** The axis of x that indexes positions (default -2, as in [batch, heads, positions, headDim]). */
  sequenceAxis?: number;
}

/**
 * Rotary position embedding, rotate-half convention (Qwen3 / MiniMind): with x1, x2 the two halves of the
 * last axis, out = [x1·cos − x2·sin, x2·cos + x1·sin]. cos and sin are [positions, headDim/2] tables whose
 * rows match x's sequence axis (slice them for an offset, e.g. decoding with a KV cache). Gradients flow to
 * x only: the tables are constants.
 */
export function rope(x: Tensor, cos: Tensor, sin: Tensor, options: RopeOptions = {}): Tensor {
  const axis = normalizeAxis("rope", options.sequenceAxis ?? -2, x.rank);
  const width = lastAxisWidth(x);
  if (axis === x.rank - 1 || width % 2 !== 0) {
    throw new Error(`[rope] x of shape ${formatShape(x.shape)} needs an even last axis and a sequence axis before it`);
  }
  const expected = [x.shape[axis], width / 2];
  for (const [name, table] of [
    ["cos", cos],
    ["sin", sin],
  ] as const) {
    if (!shapesEqual(table.shape, expected)) {
      throw new Error(
        `[rope] shapes ${formatShape(x.shape)} and ${formatShape(table.shape)} (${name}) are incompatible: expected ${name} ${formatShape(expected)}`,
      );
    }
    requireSameDType("rope", x, table);
  }
  const rowsPerPosition = shapeSize(x.shape.slice(axis + 1, -1));
  return run("rope", [x, cos, sin], { rowsPerPosition });
}

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (default -100, as in PyTorch and MiniMind). */
  ignoreIndex?: number;
}

/**
 * Mean cross-entropy of logits [..., classes] against int32 targets [...], over the targets that are not
 * `ignoreIndex` (0 when every target is ignored). Fused: log-softmax is never materialised.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  requireFloat("crossEntropy", logits);
  requireIndices("crossEntropy", targets);
  if (!shapesEqual(logits.shape.slice(0, -1), targets.shape)) {
    throw new Error(
      `[crossEntropy] shapes ${formatShape(logits.shape)} and ${formatShape(targets.shape)} are incompatible: targets must be the logits' shape without the last axis`,
    );
  }
  return run("crossEntropy", [logits, targets], { ignoreIndex: options.ignoreIndex ?? -100 });
}

function softmaxRaw(x: Tensor, log: boolean): Tensor {
  const backend = backendOf(log ? "logSoftmax" : "softmax", [x]);
  requireFloat(log ? "logSoftmax" : "softmax", x);
  return fusedOp(backend, "softmax")(x, log);
}

function softmaxBackwardRaw(y: Tensor, g: Tensor, log: boolean): Tensor {
  return fusedOp(y.backend, "softmaxBackward")(y, g, log);
}

function ropeRaw(x: Tensor, cos: Tensor, sin: Tensor, rowsPerPosition: number, inverse: boolean): Tensor {
  const backend = backendOf("rope", [x, cos, sin]);
  requireFloat("rope", x);
  return fusedOp(backend, "rope")(x, cos, sin, rowsPerPosition, inverse);
}
