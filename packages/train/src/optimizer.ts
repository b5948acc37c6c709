/**
 * AdamW as PyTorch's `optim.AdamW` (decoupled weight decay, bias-corrected moments, one fused in-place
 * update per parameter through @minimind/tensor's `adamwUpdate`), with an optional no-decay group (norm
 * weights and embeddings), plus global-norm gradient clipping as `torch.nn.utils.clip_grad_norm_`. The
 * optimizer state is plain float32 moments under the parameters' names, so a checkpoint can store and
 * restore it bit for bit. Not here: the schedule (schedule.ts), gradient computation (trainer-step.ts).
 */
import { adamwUpdate, assign, gradientNorm, keep, mul, type Tensor, tensor, zeros } from "@minimind/tensor";

/** Which parameters skip weight decay: none (upstream), norms and embeddings, or a custom rule by name. */
export type NoDecayRule = "none" | "norms-and-embeddings" | ((name: string) => boolean);

export interface AdamWOptions {
  /** Default learning rate (each `step` may pass its own, e.g. from the schedule). */
  readonly learningRate: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  /** Decoupled weight decay (default 0.01, PyTorch's AdamW default, which upstream keeps). */
  readonly weightDecay?: number;
  /** Parameters without decay (default "none", as upstream). */
  readonly noDecay?: NoDecayRule;
}

/** The moments of one parameter. */
interface Moments {
  readonly firstMoment: Tensor;
  readonly secondMoment: Tensor;
}

function isNormOrEmbedding(name: string): boolean {
  return name.endsWith("norm.weight") || name.includes("embed_tokens");
}

export class AdamW {
  /** Updates applied so far (the bias-correction step count). */
  stepCount = 0;
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  private readonly moments = new Map<string, Moments>();
  private readonly decays = new Map<string, number>();

  constructor(
    readonly parameters: ReadonlyMap<string, Tensor>,
    options: AdamWOptions,
  ) {
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    const rule = options.noDecay ?? "none";
    const skipsDecay =
      rule === "none"
        ? () => false
        : rule === "norms-and-embeddings"
          ? isNormOrEmbedding
          : (name: string) => rule(name);
    for (const [name, value] of [
      ["learningRate", this.learningRate],
      ["weightDecay", this.weightDecay],
      ["epsilon", this.epsilon],
    ] as const) {
      if (!(Number.isFinite(value) && value >= 0))
        throw new RangeError(`[AdamW] ${name} is ${value}; use a number ≥ 0`);
    }
    for (const [name, value] of [
      ["beta1", this.beta1],
      ["beta2", this.beta2],
    ] as const) {
      if (!(value >= 0 && value < 1)) throw new RangeError(`[AdamW] ${name} is ${value}; use a number in [0, 1)`);
    }
    for (const [name, parameter] of parameters) {
      if (!parameter.requiresGrad) throw new Error(`[AdamW] parameter "${name}" does not require grad`);
      this.decays.set(name, skipsDecay(name) ? 0 : this.weightDecay);
      this.moments.set(name, {
        firstMoment: keep(zeros([...parameter.shape])),
        secondMoment: keep(zeros([...parameter.shape])),
      });
    }
  }

  /** The weight decay each parameter gets. */
  decayOf(name: string): number {
    const decay = this.decays.get(name);
    if (decay === undefined) throw new Error(`[AdamW] no parameter "${name}"`);
    return decay;
  }

  /** One update of every parameter that has a gradient (others are left alone, as PyTorch does). */
  step(learningRate = this.learningRate): void {
    if (!(Number.isFinite(learningRate) && learningRate >= 0)) {
      throw new RangeError(`[AdamW] learning rate ${learningRate} must be a finite number ≥ 0`);
    }
    this.stepCount++;
    for (const [name, parameter] of this.parameters) {
      const gradient = parameter.grad;
      if (gradient === null) continue;
      const { firstMoment, secondMoment } = this.moments.get(name) as Moments;
      adamwUpdate(parameter, gradient, firstMoment, secondMoment, {
        learningRate,
        beta1: this.beta1,
        beta2: this.beta2,
        epsilon: this.epsilon,
        weightDecay: this.decays.get(name) as number,
        step: this.stepCount,
      });
    }
  }

  /** Releases every parameter's gradient. */
  zeroGrad(): void {
    for (const parameter of this.parameters.values()) parameter.zeroGrad();
  }

  /** The moments as float32 arrays: `exp_avg.<name>` and `exp_avg_sq.<name>` (PyTorch's state names). */
  stateTensors(): Map<string, { shape: number[]; data: Float32Array }> {
    const state = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, { firstMoment, secondMoment }] of this.moments) {
      state.set(`exp_avg.${name}`, {
        shape: [...firstMoment.shape],
        data: firstMoment.dataSync() as Float32Array, // a copy
      });
      state.set(`exp_avg_sq.${name}`, {
        shape: [...secondMoment.shape],
        data: secondMoment.dataSync() as Float32Array,
      });
    }
    return state;
  }

  /** Restores moments saved by `stateTensors` and the step count; `source` names the file in errors. */
  loadState(
    tensors: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>,
    stepCount: number,
    source: string,
  ): void {
    const expected = new Set<string>();
    for (const [name, { firstMoment, secondMoment }] of this.moments) {
      for (const [key, target] of [
        [`exp_avg.${name}`, firstMoment],
        [`exp_avg_sq.${name}`, secondMoment],
      ] as const) {
        expected.add(key);
        const saved = tensors.get(key);
        if (saved === undefined) throw new Error(`[AdamW] ${source}: tensor "${key}" is missing`);
        if (saved.shape.join(",") !== target.shape.join(",")) {
          throw new Error(
            `[AdamW] ${source}: tensor "${key}" is [${saved.shape.join(", ")}]; the parameter is [${target.shape.join(", ")}]`,
          );
        }
        const value = tensor(Float32Array.from(saved.data), { shape: [...target.shape] });
        assign(target, value);
        value.dispose();
      }
    }
    const unexpected = [...tensors.keys()].filter((key) => !expected.has(key));
    if (unexpected.length > 0) throw new Error(`[AdamW] ${source}: unexpected tensors ${unexpected.join(", ")}`);
    if (!Number.isInteger(stepCount) || stepCount < 0)
      throw new Error(`[AdamW] ${source}: step count ${stepCount} is invalid`);
    this.stepCount = stepCount;
  }

  dispose(): void {
    for (const { firstMoment, secondMoment } of this.moments.values()) {
      firstMoment.dispose();
      secondMoment.dispose();
    }
    this.moments.clear();
  }
}

/**
 * Global-norm clipping as `clip_grad_norm_`: when the L2 norm of all gradients exceeds `maxNorm`, every
 * gradient is scaled by maxNorm / (norm + 1e-6). Returns the norm before clipping (NaN/Inf when a
 * gradient holds them, and then nothing is scaled).
 */
export function clipGradientNorm(parameters: Iterable<Tensor>, maxNorm: number): number {
  const list = [...parameters];
  const norm = gradientNorm(list);
  if (!Number.isFinite(norm)) return norm;
  const coefficient = maxNorm / (norm + 1e-6);
  if (coefficient >= 1) return norm;
  for (const parameter of list) {
    const gradient = parameter.grad;
    if (gradient === null) continue;
    parameter.grad = keep(mul(gradient, Math.fround(coefficient)));
    gradient.dispose();
  }
  return norm;
}
