/**
 * LoRA (low-rank adapters) on @minimind/model's `setAdapter` hook, as upstream's `model/model_lora.py`:
 * each target projection W gets A [rank, in] ~ N(0, 0.02²) and B [out, rank] = 0, and computes
 * x·Wᵀ + (α/r)·(x·Aᵀ)·Bᵀ. Upstream targets every square projection (q_proj and o_proj in MiniMind) with
 * rank 16 and no scaling; α defaults to the rank so the scale is 1 as upstream. `lora()` trains only the
 * adapters (the base weights stop requiring gradients for the run), and checkpoints hold the adapters, not
 * the frozen base. Adapters save and load alone (`<module>.lora.A.weight` / `.lora.B.weight`, upstream's
 * names) and merge into the base weights: W ← W + (α/r)·B·A. Not here: the training loop (trainer.ts).
 */
import type { MiniMindForCausalLM } from "@minimind/model";
import { readSafetensors, type SafetensorsTensor, writeSafetensors } from "@minimind/model/safetensors";
import {
  add,
  assign,
  keep,
  linear,
  matmul,
  mul,
  noGrad,
  randnValues,
  scope,
  type Tensor,
  tensor,
  zeros,
} from "@minimind/tensor";
import { type TrainOptions, type TrainResult, train } from "./trainer.js";

export interface LoraOptions {
  /** Rank r (default 16, upstream's). */
  readonly rank?: number;
  /** Scale numerator α; the update is scaled by α/r (default α = r: scale 1, as upstream). */
  readonly alpha?: number;
  /**
   * Target projections by weight name (`model.layers.0.self_attn.q_proj.weight`), or a rule on the name and
   * the weight's [out, in] shape. Default: square projections, as upstream (q_proj, o_proj).
   */
  readonly targets?: readonly string[] | ((name: string, shape: readonly number[]) => boolean);
  /** Seed of A's initial values (default 0). */
  readonly seed?: number;
}

interface Adapter {
  readonly weightName: string;
  readonly moduleName: string;
  readonly a: Tensor; // [rank, in]
  readonly b: Tensor; // [out, rank]
}

export const LORA_ADAPTER_FILE = "adapter_model.safetensors";

export class LoraAdapters {
  readonly rank: number;
  readonly alpha: number;
  private readonly adapters: Adapter[] = [];
  private attached = false;

  private constructor(
    readonly model: MiniMindForCausalLM,
    options: LoraOptions,
  ) {
    this.rank = options.rank ?? 16;
    this.alpha = options.alpha ?? this.rank;
    if (!Number.isInteger(this.rank) || this.rank < 1)
      throw new RangeError(`[lora] rank is ${this.rank}; use an integer ≥ 1`);
    if (!(Number.isFinite(this.alpha) && this.alpha > 0))
      throw new RangeError(`[lora] alpha is ${this.alpha}; use a number > 0`);
  }

  /** Creates adapters for the target projections of `model` and attaches them. */
  static attach(model: MiniMindForCausalLM, options: LoraOptions = {}): LoraAdapters {
    const adapters = new LoraAdapters(model, options);
    const parameters = model.namedParameters();
    const targets = options.targets ?? ((_name: string, shape: readonly number[]) => shape[0] === shape[1]);
    const projections = model.projectionNames();
    // A tied lm_head shares the embedding matrix: an adapter there would be merged into the embedding too.
    const untied = projections.filter((name) => parameters.has(name));
    const chosen =
      typeof targets === "function"
        ? untied.filter((name) => targets(name, parameters.get(name)?.shape ?? []))
        : [...targets];
    if (chosen.length === 0) throw new Error("[lora] no projection matches the targets");
    const seed = options.seed ?? 0;
    chosen.forEach((weightName, index) => {
      const weight = parameters.get(weightName);
      if (weight === undefined || !projections.includes(weightName)) {
        const tied = projections.includes(weightName) ? " (it is tied to the embedding)" : "";
        throw new Error(
          `[lora] "${weightName}" is not an adaptable projection weight${tied}; projections are named like ${untied.slice(0, 4).join(", ")}, …`,
        );
      }
      const [out, input] = weight.shape as [number, number];
      const a = keep(
        tensor(randnValues(adapters.rank * input, { seed: seed + index, std: 0.02 }) as Float32Array, {
          shape: [adapters.rank, input],
        }).requireGrad(),
      );
      const b = keep(zeros([out, adapters.rank]).requireGrad());
      adapters.adapters.push({ weightName, moduleName: weightName.replace(/\.weight$/, ""), a, b });
    });
    adapters.attach();
    return adapters;
  }

  /** The adapter tensors under upstream's names (`<module>.lora.A.weight`, `<module>.lora.B.weight`). */
  parameters(): Map<string, Tensor> {
    const parameters = new Map<string, Tensor>();
    for (const { moduleName, a, b } of this.adapters) {
      parameters.set(`${moduleName}.lora.A.weight`, a);
      parameters.set(`${moduleName}.lora.B.weight`, b);
    }
    return parameters;
  }

  /** (Re)installs the adapters on the model. */
  attach(): void {
    const scale = Math.fround(this.alpha / this.rank);
    for (const { weightName, a, b } of this.adapters) {
      this.model.setAdapter(weightName, (x) => {
        const update = linear(linear(x, a), b); // [..., in] → [..., rank] → [..., out]
        return scale === 1 ? update : mul(update, scale);
      });
    }
    this.attached = true;
  }

  /** Removes the adapters from the model (they keep their values). */
  detach(): void {
    for (const { weightName } of this.adapters) this.model.setAdapter(weightName, undefined);
    this.attached = false;
  }

  get isAttached(): boolean {
    return this.attached;
  }

  /** The adapters as safetensors bytes (F32), `lora_rank`/`lora_alpha` in the metadata. */
  save(): Uint8Array {
    const tensors = new Map<string, SafetensorsTensor>();
    for (const [name, value] of this.parameters()) {
      tensors.set(name, { dtype: "F32", shape: [...value.shape], data: value.dataSync() as Float32Array });
    }
    return writeSafetensors(tensors, { metadata: { lora_rank: String(this.rank), lora_alpha: String(this.alpha) } });
  }

  /** Loads adapter values saved by `save` (names, shapes and rank must match); `source` labels errors. */
  load(bytes: Uint8Array, source = LORA_ADAPTER_FILE): void {
    const { tensors, metadata } = readSafetensors(bytes, { source });
    if (metadata.lora_rank !== undefined && Number(metadata.lora_rank) !== this.rank) {
      throw new Error(`[lora] ${source}: rank ${metadata.lora_rank}; these adapters have rank ${this.rank}`);
    }
    const expected = this.parameters();
    for (const [name, target] of expected) {
      const saved = tensors.get(name);
      if (saved === undefined) throw new Error(`[lora] ${source}: tensor "${name}" is missing`);
      if (saved.dtype !== "F32" || saved.shape.join(",") !== target.shape.join(",")) {
        throw new Error(
          `[lora] ${source}: tensor "${name}" is ${saved.dtype} [${saved.shape.join(", ")}]; expected F32 [${target.shape.join(", ")}]`,
        );
      }
      const value = tensor(saved.data as Float32Array, { shape: [...target.shape] });
      assign(target, value);
      value.dispose();
    }
    const unexpected = [...tensors.keys()].filter((name) => !expected.has(name));
    if (unexpected.length > 0) throw new Error(`[lora] ${source}: unexpected tensors ${unexpected.join(", ")}`);
  }

  /** Writes W + (α/r)·B·A into every target's base weight and detaches the adapters. */
  merge(): void {
    const parameters = this.model.namedParameters();
    const scale = Math.fround(this.alpha / this.rank);
    noGrad(() =>
      scope(() => {
        for (const { weightName, a, b } of this.adapters) {
          const weight = parameters.get(weightName) as Tensor;
          assign(weight, add(weight, mul(matmul(b, a), scale))); // [out, rank]·[rank, in] = [out, in]
        }
      }),
    );
    this.detach();
  }

  dispose(): void {
    if (this.attached) this.detach();
    for (const { a, b } of this.adapters) {
      a.dispose();
      b.dispose();
    }
  }
}

export interface LoraTrainOptions
  extends Omit<TrainOptions, "stage" | "parameters" | "extraCheckpointFiles" | "saveModelWeights"> {
  readonly adapters: LoraAdapters;
}

/**
 * LoRA fine-tuning with upstream's defaults (lr 1e-4, batch 32, 10 epochs): only the adapters train (the
 * base weights do not require gradients during the run, so none are computed for them); checkpoints hold
 * the adapters (`adapter_model.safetensors`) and the optimizer state.
 */
export async function lora(options: LoraTrainOptions): Promise<TrainResult> {
  const { adapters, ...rest } = options;
  if (adapters.model !== options.model) throw new Error("[lora] the adapters belong to another model");
  if (!adapters.isAttached) adapters.attach();
  const base = [...options.model.namedParameters().values()];
  const required = base.map((parameter) => parameter.requiresGrad);
  for (const parameter of base) parameter.requireGrad(false);
  try {
    return await train({
      ...rest,
      stage: "lora",
      parameters: adapters.parameters(),
      saveModelWeights: false,
      extraCheckpointFiles: {
        save: () => new Map([[LORA_ADAPTER_FILE, adapters.save()]]),
        load: (files, directory) => {
          const bytes = files.get(LORA_ADAPTER_FILE);
          if (bytes === undefined) throw new Error(`[lora] ${directory}: no ${LORA_ADAPTER_FILE} in the checkpoint`);
          adapters.load(bytes, `${directory}/${LORA_ADAPTER_FILE}`);
        },
      },
    });
  } finally {
    base.forEach((parameter, index) => {
      parameter.requireGrad(required[index] as boolean);
    });
  }
}
