/**
 * The attention kernel on raw Float32Arrays: a tiled online-softmax (flash-style) forward that walks, per
 * query row, only the kv blocks a BlockMask lists (full blocks without evaluating the mask, partial blocks
 * with it), keeps a running max and sum, and saves the log-sum-exp; and a backward that recomputes the
 * probabilities from that log-sum-exp. GQA reads the shared K/V head directly (nothing repeated). Extra
 * memory is O(block) scratch beyond the outputs; no T×T array exists. Fully-masked rows give zero output,
 * log-sum-exp −∞ and zero gradients. Not here: tensors and autograd (see `scaled-dot-product.ts`).
 *
 * Layouts (contiguous, row-major): query [B, Hq, Tq, D], key/value [B, Hkv, Tk, D], output like query,
 * logSumExp [B, Hq, Tq]. Hq must be a multiple of Hkv; query head h reads kv head ⌊h / (Hq / Hkv)⌋.
 */
import type { BlockMask } from "./block-mask.js";
import type { ScoreMod } from "./strategy.js";

export interface AttentionShape {
  batch: number;
  queryHeads: number;
  keyValueHeads: number;
  queryLength: number;
  keyLength: number;
  headDim: number;
}

export interface AttentionInputs {
  query: Float32Array;
  key: Float32Array;
  value: Float32Array;
  shape: AttentionShape;
  blockMask: BlockMask;
  /** Default: the block mask's strategy's score mod, if any. */
  scoreMod?: ScoreMod;
  /** Default 1 / √headDim. */
  scale?: number;
  /**
   * Rows allocated per (batch, kv head) in key/value, ≥ keyLength (a KV cache's capacity); the first
   * keyLength rows are used. Default keyLength.
   */
  keyCapacity?: number;
}

export interface AttentionForwardResult {
  output: Float32Array;
  /** Natural log of each row's softmax denominator (of the scaled, score-modded scores); −∞ when fully masked. */
  logSumExp: Float32Array;
}

export interface AttentionGradients {
  gradQuery: Float32Array;
  gradKey: Float32Array;
  gradValue: Float32Array;
}

function checkInputs(inputs: AttentionInputs, where: string): void {
  const { batch, queryHeads, keyValueHeads, queryLength, keyLength, headDim } = inputs.shape;
  for (const [name, value] of Object.entries(inputs.shape)) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`[${where}] shape.${name} = ${value} is invalid`);
  }
  if (keyValueHeads < 1 || queryHeads % keyValueHeads !== 0) {
    throw new RangeError(
      `[${where}] queryHeads ${queryHeads} must be a multiple of keyValueHeads ${keyValueHeads} (grouped-query attention)`,
    );
  }
  const expect = (name: string, array: Float32Array, size: number) => {
    if (array.length !== size) {
      throw new RangeError(
        `[${where}] ${name} has ${array.length} elements, expected ${size} for shape ${JSON.stringify(inputs.shape)}`,
      );
    }
  };
  expect("query", inputs.query, batch * queryHeads * queryLength * headDim);
  const capacity = inputs.keyCapacity ?? keyLength;
  if (!Number.isInteger(capacity) || capacity < keyLength) {
    throw new RangeError(`[${where}] keyCapacity ${capacity} must be an integer ≥ keyLength ${keyLength}`);
  }
  expect("key", inputs.key, batch * keyValueHeads * capacity * headDim);
  expect("value", inputs.value, batch * keyValueHeads * capacity * headDim);
  const mask = inputs.blockMask;
  if (
    mask.batch !== batch ||
    mask.queryLength !== queryLength ||
    mask.keyLength !== keyLength ||
    (mask.headGroups !== 1 && mask.heads !== queryHeads)
  ) {
    throw new RangeError(
      `[${where}] block mask was built for batch ${mask.batch}, heads ${mask.heads}, ${mask.queryLength} queries × ${mask.keyLength} keys; the inputs have batch ${batch}, heads ${queryHeads}, ${queryLength} × ${keyLength}: rebuild it with createBlockMask`,
    );
  }
}

/** Forward pass. */
export function attentionForward(inputs: AttentionInputs): AttentionForwardResult {
  checkInputs(inputs, "attentionForward");
  const { query, key, value, blockMask } = inputs;
  const { batch, queryHeads, keyValueHeads, queryLength, keyLength, headDim } = inputs.shape;
  const scale = inputs.scale ?? 1 / Math.sqrt(headDim);
  const scoreMod = inputs.scoreMod ?? blockMask.strategy.scoreMod;
  const maskMod = blockMask.strategy.maskMod;
  const groupSize = queryHeads / keyValueHeads;
  const capacity = inputs.keyCapacity ?? keyLength;
  const blockSize = blockMask.blockSize;
  const queryOffset = blockMask.queryOffset;
  const output = new Float32Array(query.length);
  const logSumExp = new Float32Array(batch * queryHeads * queryLength);
  const scores = new Float64Array(blockSize);
  const accumulator = new Float64Array(headDim);

  for (let b = 0; b < batch; b++) {
    for (let head = 0; head < queryHeads; head++) {
      const kvBase = (b * keyValueHeads + Math.floor(head / groupSize)) * capacity * headDim;
      const maskHead = blockMask.headGroup(head);
      for (let queryBlock = 0; queryBlock < blockMask.queryBlocks; queryBlock++) {
        const full = blockMask.fullBlocks(b, head, queryBlock);
        const partial = blockMask.partialBlocks(b, head, queryBlock);
        const blockCount = full.length + partial.length;
        const queryEnd = Math.min(queryLength, (queryBlock + 1) * blockSize);
        for (let row = queryBlock * blockSize; row < queryEnd; row++) {
          const rowIndex = (b * queryHeads + head) * queryLength + row;
          const queryBase = rowIndex * headDim;
          const position = queryOffset + row;
          let runningMax = Number.NEGATIVE_INFINITY;
          let runningSum = 0;
          accumulator.fill(0);
          for (let listed = 0; listed < blockCount; listed++) {
            const isFull = listed < full.length;
            const keyBlock = (isFull ? full[listed] : partial[listed - full.length]) as number;
            const keyStart = keyBlock * blockSize;
            const keyEnd = Math.min(keyLength, keyStart + blockSize);
            let blockMax = Number.NEGATIVE_INFINITY;
            for (let keyIndex = keyStart; keyIndex < keyEnd; keyIndex++) {
              let score = Number.NEGATIVE_INFINITY;
              if (isFull || maskMod(b, maskHead, position, keyIndex)) {
                const keyBase = kvBase + keyIndex * headDim;
                let dot = 0;
                for (let d = 0; d < headDim; d++)
                  dot += (query[queryBase + d] as number) * (key[keyBase + d] as number);
                score = dot * scale;
                if (scoreMod) score = scoreMod(score, b, head, position, keyIndex);
              }
              scores[keyIndex - keyStart] = score;
              if (score > blockMax) blockMax = score;
            }
            if (blockMax === Number.NEGATIVE_INFINITY) continue;
            if (blockMax > runningMax) {
              const correction = Math.exp(runningMax - blockMax);
              runningSum *= correction;
              for (let d = 0; d < headDim; d++) accumulator[d] = (accumulator[d] as number) * correction;
              runningMax = blockMax;
            }
            for (let keyIndex = keyStart; keyIndex < keyEnd; keyIndex++) {
              const score = scores[keyIndex - keyStart] as number;
              if (score === Number.NEGATIVE_INFINITY) continue;
              const weight = Math.exp(score - runningMax);
              runningSum += weight;
              const valueBase = kvBase + keyIndex * headDim;
              for (let d = 0; d < headDim; d++) {
                accumulator[d] = (accumulator[d] as number) + weight * (value[valueBase + d] as number);
              }
            }
          }
          if (runningSum === 0) {
            logSumExp[rowIndex] = Number.NEGATIVE_INFINITY; // fully masked: output stays zero
            continue;
          }
          const inverse = 1 / runningSum;
          for (let d = 0; d < headDim; d++) output[queryBase + d] = (accumulator[d] as number) * inverse;
          logSumExp[rowIndex] = runningMax + Math.log(runningSum);
        }
      }
    }
  }
  return { output, logSumExp };
}

/** Backward pass: gradients of a scalar loss with respect to query, key and value, given d loss / d output. */
export function attentionBackward(
  inputs: AttentionInputs & { output: Float32Array; logSumExp: Float32Array; gradOutput: Float32Array },
): AttentionGradients {
  checkInputs(inputs, "attentionBackward");
  const { query, key, value, blockMask, output, logSumExp, gradOutput } = inputs;
  const { batch, queryHeads, keyValueHeads, queryLength, keyLength, headDim } = inputs.shape;
  if (output.length !== query.length || gradOutput.length !== query.length) {
    throw new RangeError(`[attentionBackward] output and gradOutput must have ${query.length} elements like query`);
  }
  const scale = inputs.scale ?? 1 / Math.sqrt(headDim);
  const scoreMod = inputs.scoreMod ?? blockMask.strategy.scoreMod;
  const derivative = scoreMod?.derivative;
  if (scoreMod && !derivative) {
    throw new Error(
      "[attentionBackward] the score mod has no derivative; build it with defineScoreMod(fn, derivative) to train through it",
    );
  }
  const maskMod = blockMask.strategy.maskMod;
  const groupSize = queryHeads / keyValueHeads;
  const capacity = inputs.keyCapacity ?? keyLength;
  const blockSize = blockMask.blockSize;
  const queryOffset = blockMask.queryOffset;
  const gradQuery = new Float32Array(query.length);
  const gradKey = new Float32Array(key.length);
  const gradValue = new Float32Array(value.length);
  const rowGradQuery = new Float64Array(headDim);

  for (let b = 0; b < batch; b++) {
    for (let head = 0; head < queryHeads; head++) {
      const kvBase = (b * keyValueHeads + Math.floor(head / groupSize)) * capacity * headDim;
      const maskHead = blockMask.headGroup(head);
      for (let queryBlock = 0; queryBlock < blockMask.queryBlocks; queryBlock++) {
        const full = blockMask.fullBlocks(b, head, queryBlock);
        const partial = blockMask.partialBlocks(b, head, queryBlock);
        const blockCount = full.length + partial.length;
        const queryEnd = Math.min(queryLength, (queryBlock + 1) * blockSize);
        for (let row = queryBlock * blockSize; row < queryEnd; row++) {
          const rowIndex = (b * queryHeads + head) * queryLength + row;
          const rowLogSumExp = logSumExp[rowIndex] as number;
          if (rowLogSumExp === Number.NEGATIVE_INFINITY) continue; // fully masked: zero gradient
          const queryBase = rowIndex * headDim;
          const position = queryOffset + row;
          // delta = dO · O (the softmax Jacobian's row term)
          let delta = 0;
          for (let d = 0; d < headDim; d++)
            delta += (gradOutput[queryBase + d] as number) * (output[queryBase + d] as number);
          rowGradQuery.fill(0);
          for (let listed = 0; listed < blockCount; listed++) {
            const isFull = listed < full.length;
            const keyBlock = (isFull ? full[listed] : partial[listed - full.length]) as number;
            const keyStart = keyBlock * blockSize;
            const keyEnd = Math.min(keyLength, keyStart + blockSize);
            for (let keyIndex = keyStart; keyIndex < keyEnd; keyIndex++) {
              if (!isFull && !maskMod(b, maskHead, position, keyIndex)) continue;
              const keyBase = kvBase + keyIndex * headDim;
              // one pass for the score (q · k) and d loss / d probability (dO · v)
              let dot = 0;
              let gradProbability = 0;
              for (let d = 0; d < headDim; d++) {
                dot += (query[queryBase + d] as number) * (key[keyBase + d] as number);
                gradProbability += (gradOutput[queryBase + d] as number) * (value[keyBase + d] as number);
              }
              const raw = dot * scale;
              const score = scoreMod ? scoreMod(raw, b, head, position, keyIndex) : raw;
              if (score === Number.NEGATIVE_INFINITY) continue;
              const probability = Math.exp(score - rowLogSumExp);
              let gradScore = probability * (gradProbability - delta);
              if (derivative) gradScore *= derivative(raw, b, head, position, keyIndex);
              const gradDot = gradScore * scale;
              for (let d = 0; d < headDim; d++) {
                rowGradQuery[d] = (rowGradQuery[d] as number) + gradDot * (key[keyBase + d] as number);
                gradKey[keyBase + d] = (gradKey[keyBase + d] as number) + gradDot * (query[queryBase + d] as number);
                gradValue[keyBase + d] =
                  (gradValue[keyBase + d] as number) + probability * (gradOutput[queryBase + d] as number);
              }
            }
          }
          for (let d = 0; d < headDim; d++) gradQuery[queryBase + d] = rowGradQuery[d] as number;
        }
      }
    }
  }
  return { gradQuery, gradKey, gradValue };
}
