/**
 * The host side of the streaming kernels (streaming-kernels.ts): checked heap operands in, one pass over
 * them as jobs of the matmul module, split into element ranges over the kernel threads when the call is
 * large. Synchronous. Not here: the kernels' definitions and their exactness argument (streaming-kernels.ts).
 */

import type { AdamWHyperparameters } from "../../../backend.js";
import { checkTarget } from "../row-kernels.js";
import { JOB_CROSS_ENTROPY, JOB_CROSS_ENTROPY_BACKWARD } from "./cross-entropy-kernels.js";
import { getHeap, type HeapBlock } from "./heap.js";
import { type Operand, operandAddress } from "./heap-kernels.js";
import { runMatmulJobs, splitRange } from "./matmul.js";
import { JOB_RMSNORM, JOB_RMSNORM_BACKWARD_COLUMNS, JOB_RMSNORM_BACKWARD_ROWS } from "./rmsnorm-kernels.js";
import {
  ADAMW_CONSTANTS,
  BINARY_OPS,
  JOB_ADAMW,
  JOB_BINARY,
  JOB_SWIGLU,
  JOB_SWIGLU_BACKWARD,
  STREAM_FIELD,
  type StreamingBinaryOp,
} from "./streaming-kernels.js";

/** Below this many elements a streaming job runs on the calling thread alone. */
const PARALLEL_ELEMENTS = 1 << 16;
/** Elements per job, at least (a multiple of 4); a call makes at most 4 jobs per thread. */
const MINIMUM_JOB_ELEMENTS = 1 << 14;

/** A checked operand's byte address: `length` elements from its offset must lie in its block. */
function address(kernel: string, name: string, operand: Operand, length: number): number {
  return operandAddress(`wasm ${kernel}`, name, operand, length);
}

/** How many jobs a pass over `elements` elements makes: 1 below the parallel threshold, at most 16. */
function jobCount(elements: number): number {
  return elements >= PARALLEL_ELEMENTS ? Math.max(1, Math.min(16, Math.floor(elements / MINIMUM_JOB_ELEMENTS))) : 1;
}

/**
 * Runs `kind` over `count` items (elements, rows or columns) split into ranges of whole `unit`s, one job each
 * — several when the call touches `elements` elements or more than the parallel threshold; `write` fills a
 * job's own words for the range [start, end).
 */
function runRanges(
  kind: number,
  count: number,
  { elements = count, unit = 4 }: { elements?: number; unit?: number },
  write: (words: Int32Array, base: number, start: number, end: number) => void,
): void {
  const ranges = splitRange(count, Math.min(jobCount(elements), Math.ceil(count / unit)), unit);
  runMatmulJobs(ranges.length, ranges.length, (words, base, index) => {
    const [start, end] = ranges[index] as [number, number];
    words.fill(0, base, base + 16);
    words[base + STREAM_FIELD.kind] = kind;
    words[base + STREAM_FIELD.length] = end - start;
    write(words, base, start, end);
  });
}

let constantsBlock: HeapBlock | null = null;
let constantsView: Float64Array | null = null;

/**
 * The heap address of `values` as float64s (AdamW's constants, rmsnorm's ε, cross-entropy's scale): one block
 * of eight, rewritten by each call — calls are synchronous, so a job never sees the next call's values.
 */
function constantsAddress(...values: number[]): number {
  constantsBlock ??= getHeap().alloc(16);
  const block = constantsBlock;
  const buffer = block.f32().buffer;
  if (constantsView === null || constantsView.buffer !== buffer) constantsView = new Float64Array(buffer, block.ptr, 8);
  constantsView.set(values);
  return block.ptr;
}

/** out = x op y over `length` elements; a scalar operand (`scalar: true`) is its one element, broadcast. */
export function binaryHeap(
  op: StreamingBinaryOp,
  x: Operand & { scalar: boolean },
  y: Operand & { scalar: boolean },
  out: Operand,
  length: number,
): void {
  if (x.scalar && y.scalar) throw new Error("[wasm binary] at most one operand may be a broadcast scalar");
  const xAddress = address("binary", "x", x, x.scalar ? 1 : length);
  const yAddress = address("binary", "y", y, y.scalar ? 1 : length);
  const outAddress = address("binary", "out", out, length);
  const code = BINARY_OPS.indexOf(op);
  runRanges(JOB_BINARY, length, {}, (words, base, start) => {
    words[base + STREAM_FIELD.op] = code;
    words[base + STREAM_FIELD.first] = xAddress + (x.scalar ? 0 : start * 4);
    words[base + STREAM_FIELD.firstStep] = x.scalar ? 0 : 1;
    words[base + STREAM_FIELD.second] = yAddress + (y.scalar ? 0 : start * 4);
    words[base + STREAM_FIELD.secondStep] = y.scalar ? 0 : 1;
    words[base + STREAM_FIELD.out] = outAddress + start * 4;
  });
}

/** AdamW in place on param, m and v (all `length` elements) with gradient `grad`. */
export function adamwHeap(
  param: Operand,
  grad: Operand,
  m: Operand,
  v: Operand,
  length: number,
  hyper: AdamWHyperparameters,
): void {
  const addresses = [param, grad, m, v].map((operand, index) =>
    address("adamw", ["param", "grad", "m", "v"][index] as string, operand, length),
  ) as [number, number, number, number];
  const { learningRate, beta1, beta2, epsilon, weightDecay, step } = hyper;
  // As the JavaScript kernel (`adamwStep`) derives them, in the order of ADAMW_CONSTANTS.
  const values: Record<(typeof ADAMW_CONSTANTS)[number], number> = {
    decay: 1 - learningRate * weightDecay,
    beta1,
    oneMinusBeta1: 1 - beta1,
    beta2,
    oneMinusBeta2: 1 - beta2,
    stepSize: learningRate / (1 - beta1 ** step),
    inverseSqrtCorrection2: 1 / Math.sqrt(1 - beta2 ** step),
    epsilon,
  };
  const constants = constantsAddress(...ADAMW_CONSTANTS.map((name) => values[name]));
  runRanges(JOB_ADAMW, length, {}, (words, base, start) => {
    words[base + STREAM_FIELD.first] = addresses[0] + start * 4;
    words[base + STREAM_FIELD.second] = addresses[1] + start * 4;
    words[base + STREAM_FIELD.out] = addresses[2] + start * 4;
    words[base + STREAM_FIELD.third] = addresses[3] + start * 4;
    words[base + STREAM_FIELD.constants] = constants;
  });
}

/** out = silu(gate)·up over `length` elements. */
export function swigluHeap(gate: Operand, up: Operand, out: Operand, length: number): void {
  const addresses = [gate, up, out].map((operand, index) =>
    address("swiglu", ["gate", "up", "out"][index] as string, operand, length),
  ) as [number, number, number];
  runRanges(JOB_SWIGLU, length, {}, (words, base, start) => {
    words[base + STREAM_FIELD.first] = addresses[0] + start * 4;
    words[base + STREAM_FIELD.second] = addresses[1] + start * 4;
    words[base + STREAM_FIELD.out] = addresses[2] + start * 4;
  });
}

/** gradGate and gradUp of out = silu(gate)·up, from gradOut, over `length` elements. */
export function swigluBackwardHeap(
  gate: Operand,
  up: Operand,
  gradOut: Operand,
  gradGate: Operand,
  gradUp: Operand,
  length: number,
): void {
  const names = ["gate", "up", "gradOut", "gradGate", "gradUp"];
  const addresses = [gate, up, gradOut, gradGate, gradUp].map((operand, index) =>
    address("swiglu backward", names[index] as string, operand, length),
  ) as [number, number, number, number, number];
  runRanges(JOB_SWIGLU_BACKWARD, length, {}, (words, base, start) => {
    words[base + STREAM_FIELD.first] = addresses[0] + start * 4;
    words[base + STREAM_FIELD.second] = addresses[1] + start * 4;
    words[base + STREAM_FIELD.third] = addresses[2] + start * 4;
    words[base + STREAM_FIELD.out] = addresses[3] + start * 4;
    words[base + STREAM_FIELD.secondOut] = addresses[4] + start * 4;
  });
}

/** RMSNorm over `rows` rows of `width`: out = x · r · weight with r = 1/√(mean(x²) + ε), as `rmsnormRows`. */
export function rmsnormHeap(
  x: Operand,
  weight: Operand,
  out: Operand,
  rows: number,
  width: number,
  epsilon: number,
): void {
  const xAddress = address("rmsnorm", "x", x, rows * width);
  const weightAddress = address("rmsnorm", "weight", weight, width);
  const outAddress = address("rmsnorm", "out", out, rows * width);
  if (rows === 0 || width === 0) return;
  const constants = constantsAddress(epsilon);
  runRanges(JOB_RMSNORM, rows, { elements: rows * width, unit: 1 }, (words, base, start) => {
    words[base + STREAM_FIELD.first] = xAddress + start * width * 4;
    words[base + STREAM_FIELD.second] = weightAddress;
    words[base + STREAM_FIELD.out] = outAddress + start * width * 4;
    words[base + STREAM_FIELD.width] = width;
    words[base + STREAM_FIELD.constants] = constants;
  });
}

/** RMSNorm's gradients gradX ([rows, width]) and gradWeight ([width], overwritten), as `rmsnormBackwardRows`. */
export function rmsnormBackwardHeap(
  x: Operand,
  weight: Operand,
  gradient: Operand,
  gradX: Operand,
  gradWeight: Operand,
  rows: number,
  width: number,
  epsilon: number,
): void {
  const kernel = "rmsnorm backward";
  const xAddress = address(kernel, "x", x, rows * width);
  const weightAddress = address(kernel, "weight", weight, width);
  const gradientAddress = address(kernel, "gradY", gradient, rows * width);
  const gradXAddress = address(kernel, "gradX", gradX, rows * width);
  const gradWeightAddress = address(kernel, "gradWeight", gradWeight, width);
  gradWeight.block.f32().fill(0, gradWeight.offset, gradWeight.offset + width);
  if (rows === 0 || width === 0) return;
  const constants = constantsAddress(epsilon);
  // Each row's r, in float64, from the row job to the column job.
  const scales = getHeap().alloc(rows * 2);
  try {
    runRanges(JOB_RMSNORM_BACKWARD_ROWS, rows, { elements: rows * width, unit: 1 }, (words, base, start) => {
      words[base + STREAM_FIELD.first] = xAddress + start * width * 4;
      words[base + STREAM_FIELD.second] = weightAddress;
      words[base + STREAM_FIELD.third] = gradientAddress + start * width * 4;
      words[base + STREAM_FIELD.out] = gradXAddress + start * width * 4;
      words[base + STREAM_FIELD.secondOut] = scales.ptr + start * 8;
      words[base + STREAM_FIELD.width] = width;
      words[base + STREAM_FIELD.constants] = constants;
    });
    // Columns in runs of at least 16 (4 vectors), in row order within each.
    runRanges(JOB_RMSNORM_BACKWARD_COLUMNS, width, { elements: rows * width, unit: 16 }, (words, base, start) => {
      words[base + STREAM_FIELD.first] = xAddress + start * 4;
      words[base + STREAM_FIELD.third] = gradientAddress + start * 4;
      words[base + STREAM_FIELD.out] = gradWeightAddress + start * 4;
      words[base + STREAM_FIELD.secondOut] = scales.ptr;
      words[base + STREAM_FIELD.rows] = rows;
      words[base + STREAM_FIELD.width] = width;
    });
  } finally {
    getHeap().free(scales);
  }
}

/** Checks every kept target (as the JavaScript kernels do, in row order) and counts the kept rows. */
function keptRows(targets: Int32Array, offset: number, rows: number, classes: number, ignoreIndex: number): number {
  let kept = 0;
  for (let row = 0; row < rows; row++) {
    const target = targets[offset + row] as number;
    if (target === ignoreIndex) continue;
    checkTarget(target, row, classes);
    kept++;
  }
  return kept;
}

/**
 * Mean cross-entropy of logits [rows, classes] against int32 targets over the rows whose target is not
 * `ignoreIndex` (0 when none is kept), as `crossEntropyRows`.
 */
export function crossEntropyHeap(
  logits: Operand,
  targets: Operand,
  rows: number,
  classes: number,
  ignoreIndex: number,
): number {
  const logitsAddress = address("crossEntropy", "logits", logits, rows * classes);
  const targetsAddress = address("crossEntropy", "targets", targets, rows);
  const targetValues = targets.block.i32();
  if (keptRows(targetValues, targets.offset, rows, classes, ignoreIndex) === 0) return 0;
  // Each kept row's float64 Σ exp(x − max) and max.
  const scratch = getHeap().alloc(rows * 4);
  try {
    runRanges(JOB_CROSS_ENTROPY, rows, { elements: rows * classes, unit: 1 }, (words, base, start) => {
      words[base + STREAM_FIELD.first] = logitsAddress + start * classes * 4;
      words[base + STREAM_FIELD.third] = targetsAddress + start * 4;
      words[base + STREAM_FIELD.out] = scratch.ptr + start * 16;
      words[base + STREAM_FIELD.width] = classes;
      words[base + STREAM_FIELD.ignore] = ignoreIndex;
    });
    const sums = new Float64Array(scratch.f32().buffer, scratch.ptr, rows * 2);
    const values = logits.block.f32();
    let total = 0;
    let kept = 0;
    for (let row = 0; row < rows; row++) {
      const target = targetValues[targets.offset + row] as number;
      if (target === ignoreIndex) continue;
      const maximum = sums[row * 2 + 1] as number;
      total += Math.log(sums[row * 2] as number) + maximum - (values[logits.offset + row * classes + target] as number);
      kept++;
    }
    return total / kept;
  } finally {
    getHeap().free(scratch);
  }
}

/**
 * Gradient of the mean cross-entropy w.r.t. logits, times `gradLoss`, into out [rows, classes] (ignored rows
 * zero), as `crossEntropyBackwardRows`.
 */
export function crossEntropyBackwardHeap(
  logits: Operand,
  targets: Operand,
  out: Operand,
  rows: number,
  classes: number,
  ignoreIndex: number,
  gradLoss: number,
): void {
  const logitsAddress = address("crossEntropy backward", "logits", logits, rows * classes);
  const targetsAddress = address("crossEntropy backward", "targets", targets, rows);
  const outAddress = address("crossEntropy backward", "out", out, rows * classes);
  const kept = keptRows(targets.block.i32(), targets.offset, rows, classes, ignoreIndex);
  const constants = constantsAddress(kept === 0 ? 0 : gradLoss / kept);
  runRanges(JOB_CROSS_ENTROPY_BACKWARD, rows, { elements: rows * classes, unit: 1 }, (words, base, start) => {
    words[base + STREAM_FIELD.first] = logitsAddress + start * classes * 4;
    words[base + STREAM_FIELD.third] = targetsAddress + start * 4;
    words[base + STREAM_FIELD.out] = outAddress + start * classes * 4;
    words[base + STREAM_FIELD.width] = classes;
    words[base + STREAM_FIELD.ignore] = ignoreIndex;
    words[base + STREAM_FIELD.constants] = constants;
  });
}
