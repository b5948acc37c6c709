import {
  createBlockMask,
  KeyValueCache,
  planChunks,
  scaledDotProductAttention,
  segments,
  segmentVectorFromRoles,
} from "@minimind/attention";
import { backward, tensor } from "@minimind/tensor";

// Per-turn bidirectional prompts, causal answers: system(2) user(3) assistant(2) user(2) assistant(1)
const ar = segmentVectorFromRoles([
  { role: "system", length: 2 },
  { role: "user", length: 3 },
  { role: "assistant", length: 2 },
  { role: "user", length: 2 },
  { role: "assistant", length: 1 },
]);
console.log(ar.join(" ")); // 1 0 1 0 0 1 1 1 0 1
const strategy = segments(ar);
console.log(createBlockMask(strategy, { queryLength: 10 }).renderText());

// Differentiable attention on tensors: q [B, Hq, T, D], k and v [B, Hkv, T, D] (GQA, no K/V copies)
const T = 10;
const q = tensor(
  Float32Array.from({ length: 8 * T * 64 }, (_, i) => Math.sin(i)),
  { shape: [1, 8, T, 64] },
).requireGrad();
const k = tensor(
  Float32Array.from({ length: 4 * T * 64 }, (_, i) => Math.cos(i)),
  { shape: [1, 4, T, 64] },
).requireGrad();
const v = tensor(
  Float32Array.from({ length: 4 * T * 64 }, (_, i) => Math.sin(2 * i)),
  { shape: [1, 4, T, 64] },
).requireGrad();
const out = scaledDotProductAttention(q, k, v, { strategy });
backward(out.sum());
console.log(out.shape, k.grad?.shape); // [ 1, 8, 10, 64 ] [ 1, 4, 10, 64 ]

// KV cache: a model's layers append their keys and values; the strategy decides which chunks are allowed
console.log(planChunks(strategy, 10)); // [[0,2],[2,5],[5,6],[6,7],[7,9],[9,10]]
const cache = new KeyValueCache({ layers: 1, maxLength: 64 });
cache.checkAppend(strategy, 2); // tokens [0, 2): the system turn, whole
const chunk = tensor(new Float32Array(2 * 2), { shape: [1, 1, 2, 2] }); // [B, Hkv, T, D]
const { key, value } = cache.updateAndFetch(0, chunk, chunk); // views of everything held: [1, 1, 2, 2]
console.log(key.shape, value.shape); // [ 1, 1, 2, 2 ] [ 1, 1, 2, 2 ]
try {
  cache.checkAppend(strategy, 1); // token 2 alone would split the user turn [2, 5)
} catch (error) {
  console.log((error as Error).message); // [KeyValueCache] strategy "segments" refuses a chunk [2, 3): token 2 (batch row 0) attends key 3, which is not there yet — … Cuts it allows for batch row 0: 2, 5, 6, 7, 9, …
}
