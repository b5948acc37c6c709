/**
 * Attention: forward + backward of @minimind/attention's block-sparse flash-style kernel at MiniMind sizes
 * (8 query heads, 4 kv heads, head_dim 64), against the dense computation in the same run: a materialized
 * T×T boolean mask, full T×T score and probability matrices per head (kept for backward), the way attention
 * with a dense attn_mask is computed without a fused kernel. Cases: causal at T = 256…2048, and a packed
 * batch of 8 documents of 256 tokens under packedDocuments(causal). Reports the median time of forward+backward
 * and the array-buffer bytes each allocated (outputs, gradients, scratch; for the peer also its mask and
 * matrices). Not a correctness test: outputs are compared once and the suite refuses to time different results.
 */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  type AttentionShape,
  type AttentionStrategy,
  attentionBackward,
  attentionForward,
  causal,
  createBlockMask,
  packedDocuments,
} from "@minimind/attention";
import { type BenchResult, medianMs, type Suite } from "../suite.js";

const QUERY_HEADS = 8;
const KV_HEADS = 4;
const HEAD_DIM = 64;
const GROUP = QUERY_HEADS / KV_HEADS;
const PEER = "dense attention (T×T mask and scores)";

interface Inputs {
  query: Float32Array;
  key: Float32Array;
  value: Float32Array;
  gradOutput: Float32Array;
}

interface Outcome {
  output: Float32Array;
  gradQuery: Float32Array;
  gradKey: Float32Array;
  gradValue: Float32Array;
}

function randomArray(length: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const array = new Float32Array(length);
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    array[index] = state / 4294967296 - 0.5;
  }
  return array;
}

function inputs(length: number): Inputs {
  return {
    query: randomArray(QUERY_HEADS * length * HEAD_DIM, 1),
    key: randomArray(KV_HEADS * length * HEAD_DIM, 2),
    value: randomArray(KV_HEADS * length * HEAD_DIM, 3),
    gradOutput: randomArray(QUERY_HEADS * length * HEAD_DIM, 4),
  };
}

/** The block-sparse kernel: forward, then backward from the saved log-sum-exp. */
function blockSparse(strategy: AttentionStrategy, length: number, data: Inputs): Outcome {
  const shape: AttentionShape = {
    batch: 1,
    queryHeads: QUERY_HEADS,
    keyValueHeads: KV_HEADS,
    queryLength: length,
    keyLength: length,
    headDim: HEAD_DIM,
  };
  const blockMask = createBlockMask(strategy, { heads: QUERY_HEADS, queryLength: length });
  const forward = attentionForward({ ...data, shape, blockMask });
  const gradients = attentionBackward({ ...data, shape, blockMask, ...forward });
  return { output: forward.output, ...gradients };
}

/** The peer: materialized mask, every score computed, softmax over full rows, probabilities kept for backward. */
function dense(strategy: AttentionStrategy, length: number, data: Inputs): Outcome {
  const { query, key, value, gradOutput } = data;
  const scale = 1 / Math.sqrt(HEAD_DIM);
  const mask = new Uint8Array(length * length);
  for (let q = 0; q < length; q++)
    for (let k = 0; k < length; k++) mask[q * length + k] = strategy.maskMod(0, 0, q, k) ? 1 : 0;
  const output = new Float32Array(query.length);
  const gradQuery = new Float32Array(query.length);
  const gradKey = new Float32Array(key.length);
  const gradValue = new Float32Array(value.length);
  const probabilities = Array.from({ length: QUERY_HEADS }, () => new Float32Array(length * length));
  for (let head = 0; head < QUERY_HEADS; head++) {
    const kvBase = Math.floor(head / GROUP) * length * HEAD_DIM;
    const p = probabilities[head] as Float32Array;
    for (let i = 0; i < length; i++) {
      const qBase = (head * length + i) * HEAD_DIM;
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < length; j++) {
        let dot = 0;
        for (let d = 0; d < HEAD_DIM; d++)
          dot += (query[qBase + d] as number) * (key[kvBase + j * HEAD_DIM + d] as number);
        const score = mask[i * length + j] ? dot * scale : Number.NEGATIVE_INFINITY;
        p[i * length + j] = score;
        if (score > max) max = score;
      }
      let sum = 0;
      for (let j = 0; j < length; j++) {
        const weight = max === Number.NEGATIVE_INFINITY ? 0 : Math.exp((p[i * length + j] as number) - max);
        p[i * length + j] = weight;
        sum += weight;
      }
      for (let j = 0; j < length; j++) {
        const weight = sum === 0 ? 0 : (p[i * length + j] as number) / sum;
        p[i * length + j] = weight;
        for (let d = 0; d < HEAD_DIM; d++)
          output[qBase + d] = (output[qBase + d] as number) + weight * (value[kvBase + j * HEAD_DIM + d] as number);
      }
    }
  }
  for (let head = 0; head < QUERY_HEADS; head++) {
    const kvBase = Math.floor(head / GROUP) * length * HEAD_DIM;
    const p = probabilities[head] as Float32Array;
    for (let i = 0; i < length; i++) {
      const qBase = (head * length + i) * HEAD_DIM;
      let delta = 0;
      for (let d = 0; d < HEAD_DIM; d++) delta += (gradOutput[qBase + d] as number) * (output[qBase + d] as number);
      for (let j = 0; j < length; j++) {
        const probability = p[i * length + j] as number;
        const vBase = kvBase + j * HEAD_DIM;
        let gradProbability = 0;
        for (let d = 0; d < HEAD_DIM; d++)
          gradProbability += (gradOutput[qBase + d] as number) * (value[vBase + d] as number);
        const gradDot = probability * (gradProbability - delta) * scale;
        for (let d = 0; d < HEAD_DIM; d++) {
          gradQuery[qBase + d] = (gradQuery[qBase + d] as number) + gradDot * (key[vBase + d] as number);
          gradKey[vBase + d] = (gradKey[vBase + d] as number) + gradDot * (query[qBase + d] as number);
          gradValue[vBase + d] = (gradValue[vBase + d] as number) + probability * (gradOutput[qBase + d] as number);
        }
      }
    }
  }
  return { output, gradQuery, gradKey, gradValue };
}

/**
 * Runs `fn` once and returns its result with the array-buffer bytes it allocated and still held at return —
 * for both computations that is their peak, since neither frees a buffer before returning. Earlier
 * garbage is collected first (V8's gc, exposed at run time), so it cannot be freed mid-measurement.
 */
async function withAllocatedBytes(fn: () => Outcome): Promise<{ outcome: Outcome; bytes: number }> {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  for (let round = 0; round < 3; round++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const before = process.memoryUsage().arrayBuffers;
  const outcome = fn();
  return { outcome, bytes: process.memoryUsage().arrayBuffers - before };
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let index = 0; index < a.length; index++)
    worst = Math.max(worst, Math.abs((a[index] as number) - (b[index] as number)));
  return worst;
}

function result(
  caseName: string,
  metric: string,
  unit: string,
  value: number,
  peerValue: number,
  higherIsBetter: boolean,
): BenchResult {
  return {
    suite: "attention",
    case: caseName,
    metric,
    unit,
    value,
    peer: PEER,
    peerValue,
    ratio: higherIsBetter ? value / peerValue : peerValue / value,
  };
}

async function* measure(
  caseName: string,
  strategy: AttentionStrategy,
  length: number,
  runs: number,
): AsyncIterable<BenchResult> {
  const data = inputs(length);
  // The first (untimed) call of each is also the warm-up, the parity check and the memory measurement.
  const sparse = await withAllocatedBytes(() => blockSparse(strategy, length, data));
  const peer = await withAllocatedBytes(() => dense(strategy, length, data));
  const difference = Math.max(
    maxDifference(sparse.outcome.output, peer.outcome.output),
    maxDifference(sparse.outcome.gradQuery, peer.outcome.gradQuery),
    maxDifference(sparse.outcome.gradKey, peer.outcome.gradKey),
    maxDifference(sparse.outcome.gradValue, peer.outcome.gradValue),
  );
  if (difference > 1e-4)
    throw new Error(`[bench attention] ${caseName}: block-sparse and dense differ by ${difference}`);
  const sparseMs = await medianMs(() => blockSparse(strategy, length, data), runs, 0);
  const denseMs = await medianMs(() => dense(strategy, length, data), runs, 0);
  yield result(caseName, "forward+backward", "ms", sparseMs, denseMs, false);
  yield result(caseName, "forward+backward", "tokens/s", length / (sparseMs / 1000), length / (denseMs / 1000), true);
  yield result(caseName, "allocated", "MiB", sparse.bytes / 2 ** 20, peer.bytes / 2 ** 20, false);
}

export const attentionSuite: Suite = {
  name: "attention",
  description:
    "block-sparse flash-style attention forward+backward (8 q heads, 4 kv heads, head_dim 64) vs dense masked attention",
  async *run({ log }) {
    for (const length of [256, 512, 1024, 2048]) {
      log(`  causal T=${length}…`);
      yield* measure(`causal-T${length}`, causal, length, 3);
    }
    const documents = 8;
    const documentLength = 256;
    const ids = Array.from({ length: documents * documentLength }, (_, position) =>
      Math.floor(position / documentLength),
    );
    log(`  packed ${documents}×${documentLength} under packedDocuments(causal)…`);
    yield* measure(`packed-8x256-document-causal`, packedDocuments(ids, causal), documents * documentLength, 3);
  },
};
