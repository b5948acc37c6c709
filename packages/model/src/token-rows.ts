/**
 * Token ids, labels and masks as the model takes them — `number[][]` or an int32 tensor [B, T] — checked and
 * flattened to one Int32Array with errors that name the argument, row and position at fault.
 * Not here: vocabulary range checks (the model knows its vocabulary).
 */
import { Tensor } from "@minimind/tensor";

/** Token ids (or labels, or a mask) as rows of integers: `number[][]` or an int32 tensor [B, T]. */
export type TokenRows = readonly (readonly number[])[] | Tensor;

export interface Rows {
  readonly data: Int32Array;
  readonly batch: number;
  readonly length: number;
}

export function toRows(rows: TokenRows, name: string): Rows {
  if (rows instanceof Tensor) {
    if (rows.rank !== 2 || rows.dtype !== "int32") {
      throw new Error(
        `[MiniMindForCausalLM] ${name} is a ${rows.dtype} tensor [${rows.shape.join(", ")}]; expected int32 [B, T]`,
      );
    }
    return {
      data: Int32Array.from(rows.dataSync() as Int32Array),
      batch: rows.shape[0] as number,
      length: rows.shape[1] as number,
    };
  }
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new Error(`[MiniMindForCausalLM] ${name} must be a non-empty number[][] or an int32 tensor [B, T]`);
  }
  const length = (rows[0] as readonly number[]).length;
  const data = new Int32Array(rows.length * length);
  rows.forEach((row, index) => {
    if (!Array.isArray(row) || row.length !== length) {
      throw new Error(
        `[MiniMindForCausalLM] ${name} row ${index} has length ${row?.length}; every row needs ${length}`,
      );
    }
    for (let position = 0; position < length; position++) {
      const id = row[position] as number;
      // beyond int32 an id would wrap silently when stored (2^32 + 1 would read as 1)
      if (!Number.isInteger(id) || id < -(2 ** 31) || id >= 2 ** 31)
        throw new Error(
          `[MiniMindForCausalLM] ${name}[${index}][${position}] is ${id}; expected an integer that fits int32`,
        );
      data[index * length + position] = id;
    }
  });
  return { data, batch: rows.length, length };
}
