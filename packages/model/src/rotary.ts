/**
 * Rotary position embeddings for the MiniMind decoder: the float32 cos/sin tables of upstream's
 * `precompute_freqs_cis` (plain and YaRN-scaled), and the table cache a model owns (grown on demand, rows
 * picked per position). Not here: applying the rotation (`rope` in @minimind/tensor) or the attention layer.
 */
import { gatherRows, keep, type Tensor, tensor } from "@minimind/tensor";
import type { MiniMindConfig } from "./config.js";

/**
 * cos and sin tables [positions, headDim/2] for rotate-half RoPE, computed as upstream's
 * `precompute_freqs_cis` does in float32 (each step rounded with Math.fround). With `rope_scaling` (YaRN)
 * and max_position_embeddings beyond the original context, the frequencies are blended by a linear ramp:
 * f'(i) = f(i)·((1 − γ) + γ / factor); the tables are scaled by `attention_factor`.
 */
export function rotaryTables(config: MiniMindConfig, positions: number): { cos: Float32Array; sin: Float32Array } {
  const dimension = config.head_dim;
  const half = dimension / 2;
  const base = config.rope_theta;
  const frequencies = new Float32Array(half);
  for (let index = 0; index < half; index++) {
    const exponent = Math.fround((2 * index) / dimension);
    frequencies[index] = Math.fround(1 / Math.fround(base ** exponent));
  }
  let attentionFactor = 1;
  const scaling = config.inference_rope_scaling ? config.rope_scaling : null;
  if (scaling !== null) {
    const originalMax = scaling.original_max_position_embeddings;
    attentionFactor = scaling.attention_factor;
    // The ramp depends on the configured context (upstream's `end`), not on how many rows are built here.
    if (config.max_position_embeddings / originalMax > 1) {
      const inverseDimension = (beta: number) =>
        (dimension * Math.log(originalMax / (beta * 2 * Math.PI))) / (2 * Math.log(base));
      const low = Math.max(Math.floor(inverseDimension(scaling.beta_fast)), 0);
      const high = Math.min(Math.ceil(inverseDimension(scaling.beta_slow)), half - 1);
      const span = Math.max(high - low, 0.001);
      for (let index = 0; index < half; index++) {
        const ramp = Math.min(Math.max(Math.fround(Math.fround(index - low) / Math.fround(span)), 0), 1);
        const blend = Math.fround(Math.fround(1 - ramp) + Math.fround(ramp / scaling.factor));
        frequencies[index] = Math.fround((frequencies[index] as number) * blend);
      }
    }
  }
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let position = 0; position < positions; position++) {
    for (let index = 0; index < half; index++) {
      const angle = Math.fround(position * (frequencies[index] as number));
      cos[position * half + index] = Math.fround(Math.fround(Math.cos(angle)) * attentionFactor);
      sin[position * half + index] = Math.fround(Math.fround(Math.sin(angle)) * attentionFactor);
    }
  }
  return { cos, sin };
}

/** Rotary tables as tensors, grown on demand and owned by the model. */
export class RotaryEmbedding {
  private cos: Tensor | undefined;
  private sin: Tensor | undefined;
  private positions = 0;

  constructor(private readonly config: MiniMindConfig) {}

  /** Rows [start, start + length) of the cos and sin tables, each [length, headDim/2]. */
  tables(start: number, length: number): { cos: Tensor; sin: Tensor } {
    const end = start + length;
    if (end > this.positions) {
      const positions = Math.max(end, Math.min(2 * this.positions, this.config.max_position_embeddings), 64);
      const { cos, sin } = rotaryTables(this.config, positions);
      const half = this.config.head_dim / 2;
      this.dispose();
      this.cos = keep(tensor(cos, { shape: [positions, half] }));
      this.sin = keep(tensor(sin, { shape: [positions, half] }));
      this.positions = positions;
    }
    const cos = this.cos as Tensor;
    const sin = this.sin as Tensor;
    return {
      cos: cos.slice([start, 0], [end, cos.shape[1] as number]),
      sin: sin.slice([start, 0], [end, sin.shape[1] as number]),
    };
  }

  /** The table rows at arbitrary positions (one per token, e.g. per batch row), each [N, headDim/2]. */
  rows(positions: Int32Array): { cos: Tensor; sin: Tensor } {
    const largest = positions.reduce((highest, position) => Math.max(highest, position), 0);
    const { cos, sin } = this.tables(0, largest + 1);
    const indices = tensor(positions, { shape: [positions.length], dtype: "int32" }); // [N]
    return { cos: gatherRows(cos, indices), sin: gatherRows(sin, indices) };
  }

  dispose(): void {
    this.cos?.dispose();
    this.sin?.dispose();
    this.cos = undefined;
    this.sin = undefined;
    this.positions = 0;
  }
}
