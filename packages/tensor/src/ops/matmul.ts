/**
 * Batched matrix product with broadcast batch dimensions and its derivative (`Rules<"matmul">`). Transposed
 * operands reach the kernel as views with swapped strides; `[..., m, k] · [k, n]` with a contiguous left
 * operand runs as one large product. Not here: `linear` (compound.ts, a matmul with a transposed view).
 */
import { type BufferView, kernel } from "../backend.js";
import { broadcastShapes, formatShape } from "../shape.js";
import { emptyTensor, type Tensor } from "../tensor.js";
import { apply, backendOf, type Rules, reduceToShape, requireFloat, requireSameDType } from "./apply.js";
import { permute, reshape } from "./movement.js";

export const matmulRules: Rules<"matmul"> = {
  matmul: {
    forward: ([a, b]) => matmulRaw(a, b),
    backward: (g, { inputs: [a, b], needsInputGrad: [needA, needB] }) => {
      let gradB: Tensor | null = null;
      if (needB) {
        if (b.rank === 2 && isTransposedMatrix(b)) {
          // b is the transposed view of a contiguous W (x·Wᵀ, a Linear layer): compute gᵀ·a, W's layout, and
          // hand back its transposed view, so W's gradient arrives contiguous instead of being copied out of
          // a strided one. Each element is the same sum in the same order as (aᵀ·g)ᵀ.
          const k = a.shape[a.rank - 1];
          const n = b.shape[1];
          const product = matmul(transposeLast(reshape(g, [-1, n])), reshape(a, [-1, k]));
          gradB = transposeLast(product);
          product.dispose(); // the view alone holds the buffer: W's gradient can take it over without a copy
        } else if (b.rank === 2 && a.rank > 2) {
          const k = a.shape[a.rank - 1];
          const n = b.shape[1];
          gradB = matmul(transposeLast(reshape(a, [-1, k])), reshape(g, [-1, n]));
        } else {
          gradB = reduceToShape(matmul(transposeLast(a), g), b.shape);
        }
      }
      return [needA ? reduceToShape(matmul(g, transposeLast(b)), a.shape) : null, gradB];
    },
  },
};

/**
 * Batched matrix product: a [..., m, k] · b [..., k, n] → [..., m, n]; batch dims broadcast. Transposed
 * views (`b.transpose()`) are read in place, without a copy.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return apply("matmul", matmulRules.matmul, [a, b], {});
}

function matmulShapes(a: Tensor, b: Tensor): { batch: number[]; m: number; n: number; k: number } {
  if (a.rank < 2 || b.rank < 2) {
    throw new Error(
      `[matmul] shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} are incompatible: both operands need rank ≥ 2 (unsqueeze vectors)`,
    );
  }
  const m = a.shape[a.rank - 2];
  const k = a.shape[a.rank - 1];
  const kB = b.shape[b.rank - 2];
  const n = b.shape[b.rank - 1];
  if (k !== kB) {
    throw new Error(
      `[matmul] shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} are incompatible: inner dimensions ${k} and ${kB} differ`,
    );
  }
  let batch: number[];
  try {
    batch = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    throw new Error(
      `[matmul] shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} are incompatible: batch dimensions ${formatShape(a.shape.slice(0, -2))} and ${formatShape(b.shape.slice(0, -2))} do not broadcast`,
    );
  }
  return { batch, m, n, k };
}

function matmulRaw(a: Tensor, b: Tensor): Tensor {
  const backend = backendOf("matmul", [a, b]);
  requireFloat("matmul", a);
  requireSameDType("matmul", a, b);
  const { batch, m, n, k } = matmulShapes(a, b);
  // [..., m, k] · [k, n] with a contiguous: one large product of [(… · m), k] · [k, n].
  if (b.rank === 2 && a.rank > 2 && a.isContiguous) {
    const rows = a.size / k;
    const out = emptyTensor([...batch, m, n], a.dtype, backend);
    const flatA: BufferView = { buffer: a.storage.buffer, shape: [rows, k], strides: [k, 1], offset: a.offset };
    kernel(backend, "matmul")(flatA, b.view("matmul"), out.storage.buffer);
    return out;
  }
  const out = emptyTensor([...batch, m, n], a.dtype, backend);
  kernel(backend, "matmul")(a.view("matmul"), b.view("matmul"), out.storage.buffer);
  return out;
}

/** A 2-D view that reads a contiguous [n, k] matrix transposed (strides [1, n]). */
function isTransposedMatrix(x: Tensor): boolean {
  const [rows, columns] = x.shape;
  return rows > 1 && columns > 1 && x.strides[0] === 1 && x.strides[1] === rows;
}

function transposeLast(x: Tensor): Tensor {
  const axes = x.shape.map((_, axis) => axis);
  axes[x.rank - 2] = x.rank - 1;
  axes[x.rank - 1] = x.rank - 2;
  return permute(x, axes);
}
