/**
 * Plain-JavaScript batched matmul with the same spec as the WebAssembly one: the float64 path (used by the
 * gradient checker). Not the fast path for float32 (that is `wasm/matmul.ts`).
 */
import type { FloatArray } from "../../dtype.js";

export interface JsMatmulSpec {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  aBatchStride: number;
  bBatchStride: number;
  accumulate?: boolean;
}

export function matmulJs(
  a: FloatArray,
  aOffset: number,
  b: FloatArray,
  bOffset: number,
  out: FloatArray,
  outOffset: number,
  spec: JsMatmulSpec,
): void {
  const { batch, m, n, k, transA, transB } = spec;
  // Element (i, p) of A: transA ? a[p·m + i] : a[i·k + p]; element (p, j) of B: transB ? b[j·k + p] : b[p·n + j].
  const aRowStride = transA ? 1 : k;
  const aColumnStride = transA ? m : 1;
  for (let batchIndex = 0; batchIndex < batch; batchIndex++) {
    const aBase = aOffset + batchIndex * spec.aBatchStride;
    const bBase = bOffset + batchIndex * spec.bBatchStride;
    const outBase = outOffset + batchIndex * m * n;
    if (!spec.accumulate) out.fill(0, outBase, outBase + m * n);
    if (transB) {
      for (let i = 0; i < m; i++) {
        const aRow = aBase + i * aRowStride;
        for (let j = 0; j < n; j++) {
          const bRow = bBase + j * k;
          let total = 0;
          for (let p = 0; p < k; p++) total += a[aRow + p * aColumnStride] * b[bRow + p];
          out[outBase + i * n + j] += total;
        }
      }
    } else {
      for (let i = 0; i < m; i++) {
        const aRow = aBase + i * aRowStride;
        const outRow = outBase + i * n;
        for (let p = 0; p < k; p++) {
          const value = a[aRow + p * aColumnStride];
          if (value === 0) continue;
          const bRow = bBase + p * n;
          for (let j = 0; j < n; j++) out[outRow + j] += value * b[bRow + j];
        }
      }
    }
  }
}
