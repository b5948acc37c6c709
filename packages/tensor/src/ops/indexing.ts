/**
 * Indexing ops: rows of a table picked by int32 indices (`gatherRows`, the embedding lookup), rows added at
 * indices (`indexAddRows`), and per-row picks along the last axis (`takeAlongLastAxis`), with derivatives in
 * one table typed `Rules<IndexingOp>`; each backward is the matching scatter kernel. Not here: argmax and
 * top-k (non-differentiable.ts).
 */
import { kernel } from "../backend.js";
import { formatShape, shapesEqual } from "../shape.js";
import { emptyTensor, type Tensor } from "../tensor.js";
import {
  apply,
  backendOf,
  contiguousRaw,
  copyRaw,
  fullLike,
  type OpAttributes,
  type Rules,
  requireIndices,
  requireSameDType,
} from "./apply.js";

export type IndexingOp = "gatherRows" | "indexAddRows" | "takeAlongLastAxis";

export const indexingRules: Rules<IndexingOp> = {
  gatherRows: {
    forward: ([table, indices]) => {
      const backend = backendOf("gatherRows", [table, indices]);
      requireIndices("gatherRows", indices);
      if (table.rank !== 2) {
        throw new Error(
          `[gatherRows] shapes ${formatShape(table.shape)} and ${formatShape(indices.shape)}: the table must be [rows, width]`,
        );
      }
      const out = emptyTensor([...indices.shape, table.shape[1]], table.dtype, backend);
      kernel(backend, "gatherRows")(table.view("gatherRows"), indices.view("gatherRows"), out.storage.buffer);
      return out;
    },
    // Scatter-add straight into a zeroed gradient (indexAddRows would first copy the zeros).
    backward: (g, { inputs: [table, indices] }) => {
      const gradTable = fullLike(g, table.shape, 0);
      const source = contiguousRaw(g);
      kernel(g.backend, "indexAddRows")(gradTable.storage.buffer, indices.view(), source.view());
      source.dispose();
      return [gradTable, null];
    },
  },
  indexAddRows: {
    forward: ([base, indices, source]) => {
      const backend = backendOf("indexAddRows", [base, indices, source]);
      requireIndices("indexAddRows", indices);
      requireSameDType("indexAddRows", base, source);
      const expectedSource = [...indices.shape, base.shape[1]];
      if (base.rank !== 2 || !shapesEqual(source.shape, expectedSource)) {
        throw new Error(
          `[indexAddRows] shapes ${formatShape(base.shape)} and ${formatShape(source.shape)} are incompatible: expected base [rows, width] and source ${formatShape(expectedSource)}`,
        );
      }
      const out = copyRaw(base);
      kernel(backend, "indexAddRows")(out.storage.buffer, indices.view("indexAddRows"), source.view("indexAddRows"));
      return out;
    },
    backward: (g, { inputs: [, indices], needsInputGrad: [needBase, , needSource] }) => [
      needBase ? g : null,
      null,
      needSource ? gatherRows(g, indices) : null,
    ],
  },
  takeAlongLastAxis: {
    forward: ([x, indices]) => {
      const backend = backendOf("takeAlongLastAxis", [x, indices]);
      requireIndices("takeAlongLastAxis", indices);
      if (x.rank === 0 || indices.rank !== x.rank || !shapesEqual(x.shape.slice(0, -1), indices.shape.slice(0, -1))) {
        throw new Error(
          `[takeAlongLastAxis] shapes ${formatShape(x.shape)} and ${formatShape(indices.shape)} are incompatible: they must agree on every axis but the last`,
        );
      }
      const out = emptyTensor(indices.shape, x.dtype, backend);
      kernel(backend, "takeAlongLastAxis")(
        x.view("takeAlongLastAxis"),
        indices.view("takeAlongLastAxis"),
        out.storage.buffer,
      );
      return out;
    },
    backward: (g, { inputs: [x, indices] }) => {
      const out = fullLike(g, x.shape, 0);
      const source = contiguousRaw(g);
      kernel(out.backend, "scatterAddAlongLastAxis")(
        out.storage.buffer,
        indices.view("takeAlongLastAxis"),
        source.view(),
      );
      source.dispose();
      return [out, null];
    },
  },
};

function run<P extends IndexingOp>(op: P, inputs: readonly Tensor[], attributes: OpAttributes[P]): Tensor {
  return apply(op, indexingRules[op], inputs, attributes);
}

/** Rows of a [rows, width] table picked by int32 indices of any shape → [...indices.shape, width]. */
export function gatherRows(table: Tensor, indices: Tensor): Tensor {
  return run("gatherRows", [table, indices], {});
}

/** Embedding lookup: `gatherRows(weight, ids)`; its backward scatter-adds into the table's gradient. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  return gatherRows(weight, ids);
}

/** base [rows, width] with source rows added at int32 indices: out[indices[i]] += source[i] (repeats add up). */
export function indexAddRows(base: Tensor, indices: Tensor, source: Tensor): Tensor {
  return run("indexAddRows", [base, indices, source], {});
}

/** out[..., j] = x[..., indices[..., j]] along the last axis (torch.gather(x, -1, indices)). */
export function takeAlongLastAxis(x: Tensor, indices: Tensor): Tensor {
  return run("takeAlongLastAxis", [x, indices], {});
}
