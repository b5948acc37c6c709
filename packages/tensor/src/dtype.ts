/**
 * Element types. float32 is the working type; float64 exists so the gradient checker can run the same kernels
 * in double precision (CPU backend only); int32 holds indices; bool holds masks (one byte per element).
 * Not here: half precision (planned with the GPU backend).
 */

export type DType = "float32" | "float64" | "int32" | "bool";

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** A floating-point array, the kind most kernels operate on. */
export type FloatArray = Float32Array | Float64Array;

export const dtypes: readonly DType[] = ["float32", "float64", "int32", "bool"];

export function isFloatDType(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case "float64":
      return 8;
    case "bool":
      return 1;
    default:
      return 4;
  }
}

export function createTypedArray(dtype: DType, length: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(length);
    case "float64":
      return new Float64Array(length);
    case "int32":
      return new Int32Array(length);
    case "bool":
      return new Uint8Array(length);
  }
}

/** The dtype a typed array naturally holds (Uint8Array is read as bool). */
export function dtypeOfArray(array: TypedArray): DType {
  if (array instanceof Float32Array) return "float32";
  if (array instanceof Float64Array) return "float64";
  if (array instanceof Int32Array) return "int32";
  return "bool";
}
