/**
 * The dense reference, for tests only (not exported): materializes the boolean mask by calling the mask mod
 * on every (query, key) pair — no BlockMask, no classifier — then a naive float64 softmax attention and its
 * analytic float64 backward. K/V heads are indexed per query head the obvious way. Slow and O(T²) on purpose.
 */
import type { AttentionShape } from "./kernel.js";
import type { AttentionStrategy, ScoreMod } from "./strategy.js";

export interface ReferenceOptions {
  queryOffset?: number;
  scale?: number;
  scoreMod?: ScoreMod;
  /** When given, the backward is computed too. */
  gradOutput?: ArrayLike<number>;
}

export interface ReferenceResult {
  output: Float64Array;
  gradQuery?: Float64Array;
  gradKey?: Float64Array;
  gradValue?: Float64Array;
}

export function referenceAttention(
  query: ArrayLike<number>,
  key: ArrayLike<number>,
  value: ArrayLike<number>,
  shape: AttentionShape,
  strategy: AttentionStrategy,
  options: ReferenceOptions = {},
): ReferenceResult {
  const { batch, queryHeads, keyValueHeads, queryLength, keyLength, headDim } = shape;
  const scale = options.scale ?? 1 / Math.sqrt(headDim);
  const scoreMod = options.scoreMod ?? strategy.scoreMod;
  const offset = options.queryOffset ?? keyLength - queryLength;
  const group = queryHeads / keyValueHeads;
  const output = new Float64Array(batch * queryHeads * queryLength * headDim);
  const gradOutput = options.gradOutput;
  const gradQuery = new Float64Array(output.length);
  const gradKey = new Float64Array(batch * keyValueHeads * keyLength * headDim);
  const gradValue = new Float64Array(gradKey.length);
  const q = (b: number, h: number, i: number, d: number) =>
    query[((b * queryHeads + h) * queryLength + i) * headDim + d] as number;
  const kvIndex = (b: number, h: number, j: number, d: number) =>
    ((b * keyValueHeads + Math.floor(h / group)) * keyLength + j) * headDim + d;

  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < queryHeads; h++) {
      for (let i = 0; i < queryLength; i++) {
        const position = offset + i;
        const raw = new Float64Array(keyLength);
        const scores = new Float64Array(keyLength).fill(Number.NEGATIVE_INFINITY);
        for (let j = 0; j < keyLength; j++) {
          if (!strategy.maskMod(b, strategy.perHead ? h : 0, position, j)) continue;
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += q(b, h, i, d) * (key[kvIndex(b, h, j, d)] as number);
          raw[j] = dot * scale;
          scores[j] = scoreMod ? scoreMod(raw[j] as number, b, h, position, j) : (raw[j] as number);
        }
        const max = Math.max(...scores);
        const probabilities = new Float64Array(keyLength);
        if (max !== Number.NEGATIVE_INFINITY) {
          let sum = 0;
          for (let j = 0; j < keyLength; j++) {
            probabilities[j] = Math.exp((scores[j] as number) - max);
            sum += probabilities[j] as number;
          }
          for (let j = 0; j < keyLength; j++) probabilities[j] = (probabilities[j] as number) / sum;
        }
        const rowBase = ((b * queryHeads + h) * queryLength + i) * headDim;
        for (let j = 0; j < keyLength; j++) {
          for (let d = 0; d < headDim; d++) {
            output[rowBase + d] =
              (output[rowBase + d] as number) + (probabilities[j] as number) * (value[kvIndex(b, h, j, d)] as number);
          }
        }
        if (!gradOutput) continue;
        // dP_j = dO · v_j; dS_j = P_j (dP_j − Σ_k P_k dP_k); chain through the score mod and the scale.
        const gradProbabilities = new Float64Array(keyLength);
        let weighted = 0;
        for (let j = 0; j < keyLength; j++) {
          let sum = 0;
          for (let d = 0; d < headDim; d++)
            sum += (gradOutput[rowBase + d] as number) * (value[kvIndex(b, h, j, d)] as number);
          gradProbabilities[j] = sum;
          weighted += (probabilities[j] as number) * sum;
        }
        for (let j = 0; j < keyLength; j++) {
          const probability = probabilities[j] as number;
          if (probability === 0) continue;
          for (let d = 0; d < headDim; d++) {
            gradValue[kvIndex(b, h, j, d)] =
              (gradValue[kvIndex(b, h, j, d)] as number) + probability * (gradOutput[rowBase + d] as number);
          }
          let gradScore = probability * ((gradProbabilities[j] as number) - weighted);
          if (scoreMod?.derivative) gradScore *= scoreMod.derivative(raw[j] as number, b, h, position, j);
          const gradDot = gradScore * scale;
          for (let d = 0; d < headDim; d++) {
            gradQuery[rowBase + d] =
              (gradQuery[rowBase + d] as number) + gradDot * (key[kvIndex(b, h, j, d)] as number);
            gradKey[kvIndex(b, h, j, d)] = (gradKey[kvIndex(b, h, j, d)] as number) + gradDot * q(b, h, i, d);
          }
        }
      }
    }
  }
  return gradOutput ? { output, gradQuery, gradKey, gradValue } : { output };
}
