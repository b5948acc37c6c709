/**
 * The attention kernel on raw Float32Arrays: a tiled online-softmax (flash-style) forward that walks, per
 * query block, only the kv blocks a BlockMask lists (full blocks without evaluating the mask, partial blocks
 * with it), computes each query-block × key-block score tile at once (four keys per pass over head_dim),
 * keeps a running max and sum per row, and saves the log-sum-exp; and a backward that recomputes the
 * probability tiles from that log-sum-exp. GQA reads the shared K/V head directly (nothing repeated). Extra
 * memory is block-sized float64 scratch (plus float64 dK/dV accumulators of one kv head in backward), kept
 * between calls; no T×T array exists. Fully-masked rows give zero output,
 * log-sum-exp −∞ and zero gradients. Without a score mod and with headDim % 4 = 0 the same loops run in
 * WebAssembly SIMD in float32 (`wasm-attention.ts`) unless MINIMIND_ATTENTION_SIMD=off; this file's
 * JavaScript loops (float64 scratch) run score mods and the rest. Not here: tensors and autograd (see `scaled-dot-product.ts`).
 *
 * Layouts (contiguous, row-major): query [B, Hq, Tq, D], key/value [B, Hkv, Tk, D], output like query,
 * logSumExp [B, Hq, Tq]. Hq must be a multiple of Hkv; query head h reads kv head ⌊h / (Hq / Hkv)⌋.
 */
import type { BlockMask } from "./block-mask.js";
import type { ScoreMod } from "./strategy.js";
import { backwardArrays, forwardArrays, simdApplicable } from "./wasm-attention.js";

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

/**
 * Float64 scratch kept between calls (grown, never shrunk): the kernels run synchronously, so one set is
 * enough. Tiles are blockSize × blockSize, row accumulators blockSize × headDim.
 */
const scratch = {
  tile: new Float64Array(0),
  gradTile: new Float64Array(0),
  rows: new Float64Array(0),
  rowMax: new Float64Array(0),
  rowSum: new Float64Array(0),
  gradKey: new Float64Array(0),
  gradValue: new Float64Array(0),
};

function grown(buffer: Float64Array<ArrayBuffer>, size: number): Float64Array<ArrayBuffer> {
  return buffer.length >= size ? buffer : new Float64Array(size);
}

/**
 * tile[i·stride + j] = Σ_d a[aBase + i·D + d] · b[bBase + j·D + d] for i < rows, j < columns: two a rows ×
 * four b rows per pass over d (eight running sums), each dot summed in order d = 0…D−1 (the same float64
 * sums as one dot at a time).
 */
function dotTile(
  a: Float32Array,
  aBase: number,
  rows: number,
  b: Float32Array,
  bBase: number,
  columns: number,
  headDim: number,
  tile: Float64Array,
  stride: number,
): void {
  const unrolledColumns = columns - (columns % 4);
  let i = 0;
  for (; i + 1 < rows; i += 2) {
    const a0 = aBase + i * headDim;
    const a1 = a0 + headDim;
    const tile0 = i * stride;
    const tile1 = tile0 + stride;
    let j = 0;
    for (; j < unrolledColumns; j += 4) {
      const b0 = bBase + j * headDim;
      const b1 = b0 + headDim;
      const b2 = b1 + headDim;
      const b3 = b2 + headDim;
      let dot00 = 0;
      let dot01 = 0;
      let dot02 = 0;
      let dot03 = 0;
      let dot10 = 0;
      let dot11 = 0;
      let dot12 = 0;
      let dot13 = 0;
      for (let d = 0; d < headDim; d++) {
        const x0 = a[a0 + d] as number;
        const x1 = a[a1 + d] as number;
        const y0 = b[b0 + d] as number;
        const y1 = b[b1 + d] as number;
        const y2 = b[b2 + d] as number;
        const y3 = b[b3 + d] as number;
        dot00 += x0 * y0;
        dot01 += x0 * y1;
        dot02 += x0 * y2;
        dot03 += x0 * y3;
        dot10 += x1 * y0;
        dot11 += x1 * y1;
        dot12 += x1 * y2;
        dot13 += x1 * y3;
      }
      tile[tile0 + j] = dot00;
      tile[tile0 + j + 1] = dot01;
      tile[tile0 + j + 2] = dot02;
      tile[tile0 + j + 3] = dot03;
      tile[tile1 + j] = dot10;
      tile[tile1 + j + 1] = dot11;
      tile[tile1 + j + 2] = dot12;
      tile[tile1 + j + 3] = dot13;
    }
    for (; j < columns; j++) {
      const b0 = bBase + j * headDim;
      let dot0 = 0;
      let dot1 = 0;
      for (let d = 0; d < headDim; d++) {
        const y = b[b0 + d] as number;
        dot0 += (a[a0 + d] as number) * y;
        dot1 += (a[a1 + d] as number) * y;
      }
      tile[tile0 + j] = dot0;
      tile[tile1 + j] = dot1;
    }
  }
  for (; i < rows; i++) {
    const a0 = aBase + i * headDim;
    const tile0 = i * stride;
    for (let j = 0; j < columns; j++) {
      const b0 = bBase + j * headDim;
      let dot = 0;
      for (let d = 0; d < headDim; d++) dot += (a[a0 + d] as number) * (b[b0 + d] as number);
      tile[tile0 + j] = dot;
    }
  }
}

/**
 * target[targetBase + o·D + d] += Σ_n tile[o·outputStride + n·innerStride] · source[sourceBase + n·D + d] for
 * o < outputs, n < inner, d < D, added in order n = 0…inner−1; two target rows × four source rows per pass
 * over d. With (outputStride, innerStride) = (stride, 1) it is tile · source (P·V, dS·K); with (1, stride)
 * tileᵀ · source (dSᵀ·Q into dK, Pᵀ·dO into dV).
 */
function accumulateProducts(
  tile: Float64Array,
  outputStride: number,
  innerStride: number,
  outputs: number,
  inner: number,
  source: Float32Array,
  sourceBase: number,
  headDim: number,
  target: Float64Array,
  targetBase: number,
): void {
  const unrolledInner = inner - (inner % 4);
  const step = innerStride;
  let o = 0;
  for (; o + 1 < outputs; o += 2) {
    const out0 = targetBase + o * headDim;
    const out1 = out0 + headDim;
    const weights0 = o * outputStride;
    const weights1 = weights0 + outputStride;
    let n = 0;
    for (; n < unrolledInner; n += 4) {
      const at0 = weights0 + n * step;
      const at1 = weights1 + n * step;
      const w00 = tile[at0] as number;
      const w01 = tile[at0 + step] as number;
      const w02 = tile[at0 + 2 * step] as number;
      const w03 = tile[at0 + 3 * step] as number;
      const w10 = tile[at1] as number;
      const w11 = tile[at1 + step] as number;
      const w12 = tile[at1 + 2 * step] as number;
      const w13 = tile[at1 + 3 * step] as number;
      if (w00 === 0 && w01 === 0 && w02 === 0 && w03 === 0 && w10 === 0 && w11 === 0 && w12 === 0 && w13 === 0) {
        continue;
      }
      const s0 = sourceBase + n * headDim;
      const s1 = s0 + headDim;
      const s2 = s1 + headDim;
      const s3 = s2 + headDim;
      for (let d = 0; d < headDim; d++) {
        const x0 = source[s0 + d] as number;
        const x1 = source[s1 + d] as number;
        const x2 = source[s2 + d] as number;
        const x3 = source[s3 + d] as number;
        target[out0 + d] = (target[out0 + d] as number) + w00 * x0 + w01 * x1 + w02 * x2 + w03 * x3;
        target[out1 + d] = (target[out1 + d] as number) + w10 * x0 + w11 * x1 + w12 * x2 + w13 * x3;
      }
    }
    for (; n < inner; n++) {
      const w0 = tile[weights0 + n * step] as number;
      const w1 = tile[weights1 + n * step] as number;
      if (w0 === 0 && w1 === 0) continue;
      const s0 = sourceBase + n * headDim;
      for (let d = 0; d < headDim; d++) {
        const x = source[s0 + d] as number;
        target[out0 + d] = (target[out0 + d] as number) + w0 * x;
        target[out1 + d] = (target[out1 + d] as number) + w1 * x;
      }
    }
  }
  for (; o < outputs; o++) {
    const out0 = targetBase + o * headDim;
    const weights0 = o * outputStride;
    for (let n = 0; n < inner; n++) {
      const w = tile[weights0 + n * step] as number;
      if (w === 0) continue;
      const s0 = sourceBase + n * headDim;
      for (let d = 0; d < headDim; d++)
        target[out0 + d] = (target[out0 + d] as number) + w * (source[s0 + d] as number);
    }
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
  const simd = simdApplicable(inputs.shape, scoreMod);
  if (simd) return forwardArrays(simd, { shape: inputs.shape, blockMask, scale, capacity }, inputs); // wasm SIMD
  const output = new Float32Array(query.length);
  const logSumExp = new Float32Array(batch * queryHeads * queryLength);
  const tileRows = Math.min(blockSize, queryLength);
  const tileColumns = Math.min(blockSize, keyLength);
  scratch.tile = grown(scratch.tile, tileRows * tileColumns);
  scratch.rows = grown(scratch.rows, tileRows * headDim);
  scratch.rowMax = grown(scratch.rowMax, tileRows);
  scratch.rowSum = grown(scratch.rowSum, tileRows);
  const { tile, rows: accumulator, rowMax, rowSum } = scratch;
  const stride = tileColumns;

  for (let b = 0; b < batch; b++) {
    for (let head = 0; head < queryHeads; head++) {
      const kvBase = (b * keyValueHeads + Math.floor(head / groupSize)) * capacity * headDim;
      const maskHead = blockMask.headGroup(head);
      for (let queryBlock = 0; queryBlock < blockMask.queryBlocks; queryBlock++) {
        const full = blockMask.fullBlocks(b, head, queryBlock);
        const partial = blockMask.partialBlocks(b, head, queryBlock);
        const blockCount = full.length + partial.length;
        const queryStart = queryBlock * blockSize;
        const count = Math.min(queryLength, queryStart + blockSize) - queryStart;
        const firstRow = (b * queryHeads + head) * queryLength + queryStart;
        const queryBase = firstRow * headDim;
        rowMax.fill(Number.NEGATIVE_INFINITY, 0, count);
        rowSum.fill(0, 0, count);
        accumulator.fill(0, 0, count * headDim);
        for (let listed = 0; listed < blockCount; listed++) {
          const isFull = listed < full.length;
          const keyBlock = (isFull ? full[listed] : partial[listed - full.length]) as number;
          const keyStart = keyBlock * blockSize;
          const columns = Math.min(keyLength, keyStart + blockSize) - keyStart;
          dotTile(query, queryBase, count, key, kvBase + keyStart * headDim, columns, headDim, tile, stride);
          for (let i = 0; i < count; i++) {
            const tileRow = i * stride;
            const position = queryOffset + queryStart + i;
            let blockMax = Number.NEGATIVE_INFINITY;
            if (isFull && !scoreMod) {
              for (let j = 0; j < columns; j++) {
                const score = (tile[tileRow + j] as number) * scale;
                tile[tileRow + j] = score;
                if (score > blockMax || Number.isNaN(score)) blockMax = score; // a NaN sticks: it must reach the output
              }
            } else {
              for (let j = 0; j < columns; j++) {
                let score = Number.NEGATIVE_INFINITY;
                if (isFull || maskMod(b, maskHead, position, keyStart + j)) {
                  score = (tile[tileRow + j] as number) * scale;
                  if (scoreMod) score = scoreMod(score, b, head, position, keyStart + j);
                }
                tile[tileRow + j] = score;
                if (score > blockMax || Number.isNaN(score)) blockMax = score; // a NaN sticks: it must reach the output
              }
            }
            if (blockMax === Number.NEGATIVE_INFINITY) {
              for (let j = 0; j < columns; j++) tile[tileRow + j] = 0;
              continue;
            }
            let runningMax = rowMax[i] as number;
            if (blockMax > runningMax) {
              const correction = Math.exp(runningMax - blockMax);
              rowSum[i] = (rowSum[i] as number) * correction;
              const out = i * headDim;
              for (let d = 0; d < headDim; d++) accumulator[out + d] = (accumulator[out + d] as number) * correction;
              runningMax = blockMax;
              rowMax[i] = blockMax;
            }
            let sum = rowSum[i] as number;
            for (let j = 0; j < columns; j++) {
              const weight = Math.exp((tile[tileRow + j] as number) - runningMax); // exp(−∞) = 0 when masked
              tile[tileRow + j] = weight;
              sum += weight;
            }
            rowSum[i] = sum;
          }
          const valueBase = kvBase + keyStart * headDim;
          accumulateProducts(tile, stride, 1, count, columns, value, valueBase, headDim, accumulator, 0); // P·V
        }
        for (let i = 0; i < count; i++) {
          const sum = rowSum[i] as number;
          if (sum === 0) {
            logSumExp[firstRow + i] = Number.NEGATIVE_INFINITY; // fully masked: output stays zero
            continue;
          }
          const inverse = 1 / sum;
          const out = queryBase + i * headDim;
          for (let d = 0; d < headDim; d++) output[out + d] = (accumulator[i * headDim + d] as number) * inverse;
          logSumExp[firstRow + i] = (rowMax[i] as number) + Math.log(sum);
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
  const simd = simdApplicable(inputs.shape, scoreMod);
  if (simd) return backwardArrays(simd, { shape: inputs.shape, blockMask, scale, capacity }, inputs); // wasm SIMD
  const gradQuery = new Float32Array(query.length);
  const gradKey = new Float32Array(key.length);
  const gradValue = new Float32Array(value.length);
  const tileRows = Math.min(blockSize, queryLength);
  const tileColumns = Math.min(blockSize, keyLength);
  scratch.tile = grown(scratch.tile, tileRows * tileColumns);
  scratch.gradTile = grown(scratch.gradTile, tileRows * tileColumns);
  scratch.rows = grown(scratch.rows, tileRows * headDim);
  scratch.rowSum = grown(scratch.rowSum, tileRows);
  // dK and dV of one kv head, summed in float64 over the query heads that share it (consecutive heads)
  const headSize = keyLength * headDim;
  scratch.gradKey = grown(scratch.gradKey, headSize);
  scratch.gradValue = grown(scratch.gradValue, headSize);
  const {
    tile,
    gradTile,
    rows: rowGradQuery,
    rowSum: deltas,
    gradKey: keyAccumulator,
    gradValue: valueAccumulator,
  } = scratch;
  const stride = tileColumns;

  for (let b = 0; b < batch; b++) {
    for (let head = 0; head < queryHeads; head++) {
      const kvBase = (b * keyValueHeads + Math.floor(head / groupSize)) * capacity * headDim;
      const maskHead = blockMask.headGroup(head);
      if (head % groupSize === 0) {
        keyAccumulator.fill(0, 0, headSize);
        valueAccumulator.fill(0, 0, headSize);
      }
      for (let queryBlock = 0; queryBlock < blockMask.queryBlocks; queryBlock++) {
        const full = blockMask.fullBlocks(b, head, queryBlock);
        const partial = blockMask.partialBlocks(b, head, queryBlock);
        const blockCount = full.length + partial.length;
        const queryStart = queryBlock * blockSize;
        const count = Math.min(queryLength, queryStart + blockSize) - queryStart;
        const firstRow = (b * queryHeads + head) * queryLength + queryStart;
        const queryBase = firstRow * headDim;
        // delta = dO · O per row (the softmax Jacobian's row term)
        for (let i = 0; i < count; i++) {
          const rowBase = queryBase + i * headDim;
          let delta = 0;
          for (let d = 0; d < headDim; d++)
            delta += (gradOutput[rowBase + d] as number) * (output[rowBase + d] as number);
          deltas[i] = delta;
        }
        rowGradQuery.fill(0, 0, count * headDim);
        for (let listed = 0; listed < blockCount; listed++) {
          const isFull = listed < full.length;
          const keyBlock = (isFull ? full[listed] : partial[listed - full.length]) as number;
          const keyStart = keyBlock * blockSize;
          const columns = Math.min(keyLength, keyStart + blockSize) - keyStart;
          const keyBase = kvBase + keyStart * headDim;
          dotTile(query, queryBase, count, key, keyBase, columns, headDim, tile, stride); // q · k
          dotTile(gradOutput, queryBase, count, value, keyBase, columns, headDim, gradTile, stride); // dO · v
          // tile ← probabilities, gradTile ← d loss / d (q · k)
          for (let i = 0; i < count; i++) {
            const tileRow = i * stride;
            const rowLogSumExp = logSumExp[firstRow + i] as number;
            if (rowLogSumExp === Number.NEGATIVE_INFINITY) {
              // fully masked: zero gradient
              tile.fill(0, tileRow, tileRow + columns);
              gradTile.fill(0, tileRow, tileRow + columns);
              continue;
            }
            const delta = deltas[i] as number;
            const position = queryOffset + queryStart + i;
            if (isFull && !scoreMod) {
              for (let j = 0; j < columns; j++) {
                const probability = Math.exp((tile[tileRow + j] as number) * scale - rowLogSumExp);
                tile[tileRow + j] = probability;
                gradTile[tileRow + j] = probability * ((gradTile[tileRow + j] as number) - delta) * scale;
              }
              continue;
            }
            for (let j = 0; j < columns; j++) {
              const keyIndex = keyStart + j;
              let probability = 0;
              let gradDot = 0;
              if (isFull || maskMod(b, maskHead, position, keyIndex)) {
                const raw = (tile[tileRow + j] as number) * scale;
                const score = scoreMod ? scoreMod(raw, b, head, position, keyIndex) : raw;
                if (score !== Number.NEGATIVE_INFINITY) {
                  probability = Math.exp(score - rowLogSumExp);
                  let gradScore = probability * ((gradTile[tileRow + j] as number) - delta);
                  if (derivative) gradScore *= derivative(raw, b, head, position, keyIndex);
                  gradDot = gradScore * scale;
                }
              }
              tile[tileRow + j] = probability;
              gradTile[tileRow + j] = gradDot;
            }
          }
          accumulateProducts(gradTile, stride, 1, count, columns, key, keyBase, headDim, rowGradQuery, 0);
          const local = keyStart * headDim; // this key block in the per-head accumulators
          accumulateProducts(gradTile, 1, stride, columns, count, query, queryBase, headDim, keyAccumulator, local);
          accumulateProducts(tile, 1, stride, columns, count, gradOutput, queryBase, headDim, valueAccumulator, local);
        }
        for (let index = 0; index < count * headDim; index++) {
          gradQuery[queryBase + index] = rowGradQuery[index] as number;
        }
      }
      if (head % groupSize === groupSize - 1) {
        for (let index = 0; index < headSize; index++) {
          gradKey[kvBase + index] = keyAccumulator[index] as number;
          gradValue[kvBase + index] = valueAccumulator[index] as number;
        }
      }
    }
  }
  return { gradQuery, gradKey, gradValue };
}
