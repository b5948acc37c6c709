/**
 * The MiniMind decoder's building blocks below attention: `Linear` (a bias-free projection with an optional
 * additive adapter — the hook LoRA uses), `RMSNorm`, the SwiGLU `FeedForward` and the mixture-of-experts
 * feed-forward (softmax router, top-k, renormalised weights, load-balancing aux loss), as upstream
 * `model/model_minimind.py` defines them. Not here: attention, the block and the model (model.ts).
 */
import {
  add,
  arange,
  cast,
  concat,
  equal,
  gatherRows,
  indexAddRows,
  linear,
  matmulQuantized,
  mean,
  mul,
  noGrad,
  type QuantizedFormat,
  type QuantizedWeight,
  quantizeWeight,
  rmsnorm,
  slice,
  softmax,
  sum,
  swiglu,
  type Tensor,
  takeAlongLastAxis,
  tensor,
  topk,
  zeros,
} from "@minimind/tensor";
import type { MiniMindConfig } from "./config.js";

/** Adds a low-rank (or any) correction to a projection's output: y = x·Wᵀ + adapter(x). */
export type LinearAdapter = (x: Tensor) => Tensor;

/**
 * y = x·Wᵀ for W [out, in] (upstream's bias-free nn.Linear), plus an adapter when one is attached. With
 * `quantized` set (an inference-only int8/bf16 copy of W, quantized-projections.ts), that copy is used and
 * `weight` may have been released.
 */
export class Linear {
  adapter: LinearAdapter | undefined;
  quantized: QuantizedWeight | undefined;
  /** Set when this projection's weight is stored as part of a `FusedProjections` (then `weight` is released). */
  fused: { readonly group: FusedProjections; readonly index: number } | undefined;

  constructor(readonly weight: Tensor) {}

  forward(x: Tensor): Tensor {
    if (this.fused !== undefined) return this.fused.group.forward(x)[this.fused.index] as Tensor;
    const output = this.quantized === undefined ? linear(x, this.weight) : matmulQuantized(x, this.quantized);
    return this.adapter === undefined ? output : add(output, this.adapter(x));
  }
}

/**
 * Projections of the same input (q/k/v; gate/up) stored as one inference-only weight, their rows stacked:
 * one GEMV per step instead of one each (in a decode step, the fixed cost of a call is comparable to a small
 * projection's arithmetic), and one activation quantization. Quantization is per row (int8 blocks run along
 * a row; bf16 per value), so each part's output is bit-identical to its own quantized projection's.
 */
export class FusedProjections {
  readonly widths: readonly number[];

  private constructor(
    readonly parts: readonly Linear[],
    readonly weight: QuantizedWeight,
  ) {
    this.widths = parts.map((part) => part.weight.shape[0] as number);
  }

  /** Quantizes the parts' stacked float32 weights to `format` and points each part at the group. */
  static quantize(parts: readonly Linear[], format: QuantizedFormat): FusedProjections {
    const stacked = noGrad(() =>
      concat(
        parts.map((part) => part.weight),
        0,
      ),
    );
    let weight: QuantizedWeight;
    try {
      weight = quantizeWeight(stacked, format);
    } finally {
      stacked.dispose();
    }
    const group = new FusedProjections(parts, weight);
    parts.forEach((part, index) => {
      part.fused = { group, index };
    });
    return group;
  }

  /** Each part's output x·Wᵢᵀ (+ its adapter), cut from one [..., Σ widths] product. */
  forward(x: Tensor): Tensor[] {
    const stacked = matmulQuantized(x, this.weight);
    const last = stacked.shape.length - 1;
    const begin = new Array<number>(stacked.shape.length).fill(0);
    const end = [...stacked.shape];
    let start = 0;
    return this.parts.map((part, index) => {
      const width = this.widths[index] as number;
      begin[last] = start;
      end[last] = start + width;
      start += width;
      // Contiguous, as a projection's own output is: the ops after it (norms, RoPE) then take the same kernels.
      const output = slice(stacked, begin, end).contiguous();
      return part.adapter === undefined ? output : add(output, part.adapter(x));
    });
  }
}

/** The outputs of `parts` on x from their shared fused weight, when exactly these parts form one group. */
export function fusedOutputs(parts: readonly Linear[], x: Tensor): Tensor[] | undefined {
  const group = parts[0]?.fused?.group;
  if (group === undefined || group.parts.length !== parts.length) return undefined;
  if (!group.parts.every((part, index) => part === parts[index])) return undefined;
  return group.forward(x);
}

export class RMSNorm {
  constructor(
    readonly weight: Tensor,
    readonly epsilon: number,
  ) {}

  forward(x: Tensor): Tensor {
    return rmsnorm(x, this.weight, this.epsilon); // over the last axis
  }
}

export class FeedForward {
  constructor(
    readonly gateProj: Linear,
    readonly upProj: Linear,
    readonly downProj: Linear,
  ) {}

  /** down(silu(gate(x)) · up(x)) for x [..., hidden], the product fused (`swiglu`). */
  forward(x: Tensor): Tensor {
    const [gate, up] = fusedOutputs([this.gateProj, this.upProj], x) ?? [
      this.gateProj.forward(x),
      this.upProj.forward(x),
    ];
    return this.downProj.forward(swiglu(gate as Tensor, up as Tensor));
  }
}

export class MoEFeedForward {
  constructor(
    private readonly config: MiniMindConfig,
    readonly gate: Linear,
    readonly experts: readonly FeedForward[],
  ) {}

  /**
   * Routes each token to its top-k experts by softmax router probability (renormalised over the k when
   * `norm_topk_prob`) and sums their weighted outputs. The aux loss (training only, as upstream):
   * Σ_e load_e · meanProbability_e · E · coefficient, with load_e the share of (token, slot) picks of e.
   */
  forward(x: Tensor, training: boolean): { output: Tensor; auxLoss: Tensor | undefined } {
    const [batch, length, hidden] = x.shape as [number, number, number];
    const { num_experts: expertCount, num_experts_per_tok: topK } = this.config;
    const tokens = batch * length;
    const flat = x.reshape([tokens, hidden]); // [N, hidden]
    const probabilities = softmax(this.gate.forward(flat)); // [N, E]
    const indices = noGrad(() => topk(probabilities, topK).indices); // [N, k] int32
    let weights = takeAlongLastAxis(probabilities, indices); // [N, k]
    if (this.config.norm_topk_prob) weights = weights.div(add(sum(weights, -1, true), 1e-20));
    if (x.backend.synchronousReadback === false)
      return this.forwardWithoutReadback(flat, probabilities, indices, weights, training, [batch, length, hidden]);
    const slotWeights = weights.reshape([tokens * topK, 1]); // [N·k, 1]
    const picks = Int32Array.from(indices.dataSync() as Int32Array);
    indices.dispose();
    let output = zeros([tokens, hidden]); // [N, hidden]
    const load = new Float32Array(expertCount);
    for (let expert = 0; expert < expertCount; expert++) {
      const tokenIndices: number[] = [];
      const slotIndices: number[] = [];
      for (let slot = 0; slot < picks.length; slot++) {
        if (picks[slot] === expert) {
          tokenIndices.push(Math.floor(slot / topK));
          slotIndices.push(slot);
        }
      }
      load[expert] = tokenIndices.length / tokens;
      if (tokenIndices.length === 0) continue;
      const rows = tensor(Int32Array.from(tokenIndices), { dtype: "int32" }); // [n_e]
      const slots = tensor(Int32Array.from(slotIndices), { dtype: "int32" }); // [n_e]
      const expertOutput = (this.experts[expert] as FeedForward).forward(gatherRows(flat, rows)); // [n_e, hidden]
      output = indexAddRows(output, rows, mul(expertOutput, gatherRows(slotWeights, slots))); // [N, hidden]
    }
    let auxLoss: Tensor | undefined;
    if (training && this.config.router_aux_loss_coef > 0) {
      const balance = sum(mul(mean(probabilities, 0), tensor(load))); // scalar
      auxLoss = balance.mul(expertCount).mul(this.config.router_aux_loss_coef);
    }
    return { output: output.reshape([batch, length, hidden]), auxLoss }; // [B, T, hidden]
  }

  /**
   * The same routing on a backend that cannot read the picks back synchronously (gpujs on WebGPU): every
   * expert runs on every token and is weighted by its routing weight, 0 where the token did not pick it — the
   * same sum as the dispatch above (E/k times the expert FLOPs, no host round trip).
   */
  private forwardWithoutReadback(
    flat: Tensor,
    probabilities: Tensor,
    indices: Tensor,
    weights: Tensor,
    training: boolean,
    shape: [number, number, number],
  ): { output: Tensor; auxLoss: Tensor | undefined } {
    const { num_experts: expertCount, num_experts_per_tok: topK } = this.config;
    const tokens = shape[0] * shape[1];
    const experts = arange(0, expertCount, 1, { dtype: "int32" }).reshape([1, 1, expertCount]);
    const hits = noGrad(() => cast(equal(indices.reshape([tokens, topK, 1]), experts), "float32")); // [N, k, E]
    indices.dispose();
    const expertWeights = sum(mul(hits, weights.reshape([tokens, topK, 1])), 1); // [N, E]
    let output: Tensor | undefined;
    for (let expert = 0; expert < expertCount; expert++) {
      const weight = slice(expertWeights, [0, expert], [tokens, expert + 1]); // [N, 1]
      const contribution = mul((this.experts[expert] as FeedForward).forward(flat), weight);
      output = output ? add(output, contribution) : contribution;
    }
    let auxLoss: Tensor | undefined;
    if (training && this.config.router_aux_loss_coef > 0) {
      const load = noGrad(() => sum(hits, [0, 1]).div(tokens)); // [E]
      const balance = sum(mul(mean(probabilities, 0), load));
      auxLoss = balance.mul(expertCount).mul(this.config.router_aux_loss_coef);
    }
    return { output: (output as Tensor).reshape(shape), auxLoss };
  }
}
