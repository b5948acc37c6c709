/**
 * The host side of the streaming kernels (streaming-kernels.ts): checked heap operands in, one pass over
 * them as jobs of the matmul module, split into element ranges over the kernel threads when the call is
 * large. Synchronous. Not here: the kernels' definitions and their exactness argument (streaming-kernels.ts).
 */

import { checkTarget } from "../row-kernels.js";
import { JOB_CROSS_ENTROPY, JOB_CROSS_ENTROPY_BACKWARD } from "./cross-entropy-kernels.js";
import { getHeap, type HeapBlock } from "./heap.js";
import { runMatmulJobs } from "./matmul.js";
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

/** Elements [offset, …) of a heap block. */
export interface StreamOperand {
  block: HeapBlock;
  offset: number;
}

function address(kernel: string, name: string, operand: StreamOperand, length: number): number {
  const { block, offset } = operand;
  if (!Number.isInteger(offset) || offset < 0 || offset + length > block.length) {
    throw new Error(
      `[wasm ${kernel}] operand ${name} has ${block.length} elements; cannot use ${length} from offset ${offset}`,
    );
  }
  return block.ptr + offset * 4;
}

/**
 * Runs `kind` over elements [0, length) in jobs of whole ranges (multiples of 4 elements), on several
 * threads when the call is large; `write` fills the addresses of a job starting at element `start`.
 */
function runStream(
  kind: number,
  length: number,
  write: (words: Int32Array, base: number, start: number) => void,
): void {
  if (length === 0) return;
  const parallel = length >= PARALLEL_ELEMENTS;
  const jobs = parallel ? Math.max(1, Math.min(16, Math.floor(length / MINIMUM_JOB_ELEMENTS))) : 1;
  const unit = Math.ceil(length / jobs / 4) * 4;
  const count = Math.ceil(length / unit);
  runMatmulJobs(count, parallel ? count : 1, (words, base, index) => {
    const start = index * unit;
    words.fill(0, base, base + 16);
    words[base + STREAM_FIELD.kind] = kind;
    words[base + STREAM_FIELD.length] = Math.min(unit, length - start);
    write(words, base, start);
  });
}

/** out = x op y over `length` elements; a scalar operand (`scalar: true`) is its one element, broadcast. */
export function binaryHeap(
  op: StreamingBinaryOp,
  x: StreamOperand & { scalar: boolean },
  y: StreamOperand & { scalar: boolean },
  out: StreamOperand,
  length: number,
): void {
  if (x.scalar && y.scalar) throw new Error("[wasm binary] at most one operand may be a broadcast scalar");
  const xAddress = address("binary", "x", x, x.scalar ? 1 : length);
  const yAddress = address("binary", "y", y, y.scalar ? 1 : length);
  const outAddress = address("binary", "out", out, length);
  const code = BINARY_OPS.indexOf(op);
  runStream(JOB_BINARY, length, (words, base, start) => {
    words[base + STREAM_FIELD.op] = code;
    words[base + STREAM_FIELD.first] = xAddress + (x.scalar ? 0 : start * 4);
    words[base + STREAM_FIELD.firstStep] = x.scalar ? 0 : 1;
    words[base + STREAM_FIELD.second] = yAddress + (y.scalar ? 0 : start * 4);
    words[base + STREAM_FIELD.secondStep] = y.scalar ? 0 : 1;
    words[base + STREAM_FIELD.out] = outAddress + start * 4;
  });
}

/** The AdamW step's float64 constants, as the JavaScript kernel (`adamwStep`) derives them. */
export interface AdamWConstants {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  step: number;
}

let constantsBlock: HeapBlock | null = null;

/** AdamW in place on param, m and v (all `length` elements) with gradient `grad`. */
export function adamwHeap(
  param: StreamOperand,
  grad: StreamOperand,
  m: StreamOperand,
  v: StreamOperand,
  length: number,
  hyper: AdamWConstants,
): void {
  const addresses = [param, grad, m, v].map((operand, index) =>
    address("adamw", ["param", "grad", "m", "v"][index] as string, operand, length),
  ) as [number, number, number, number];
  const { learningRate, beta1, beta2, epsilon, weightDecay, step } = hyper;
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
  constantsBlock ??= getHeap().alloc(ADAMW_CONSTANTS.length * 2);
  const block = constantsBlock;
  new Float64Array(block.f32().buffer, block.ptr, ADAMW_CONSTANTS.length).set(
    ADAMW_CONSTANTS.map((name) => values[name]),
  );
  runStream(JOB_ADAMW, length, (words, base, start) => {
    words[base + STREAM_FIELD.first] = addresses[0] + start * 4;
    words[base + STREAM_FIELD.second] = addresses[1] + start * 4;
    words[base + STREAM_FIELD.out] = addresses[2] + start * 4;
    words[base + STREAM_FIELD.third] = addresses[3] + start * 4;
    words[base + STREAM_FIELD.constants] = block.ptr;
  });
}

/** out = silu(gate)·up over `length` elements. */
export function swigluHeap(gate: StreamOperand, up: StreamOperand, out: StreamOperand, length: number): void {
  const addresses = [gate, up, out].map((operand, index) =>
    address("swiglu", ["gate", "up", "out"][index] as string, operand, length),
  ) as [number, number, number];
  runStream(JOB_SWIGLU, length, (words, base, start) => {
    words[base + STREAM_FIELD.first] = addresses[0] + start * 4;
    words[base + STREAM_FIELD.second] = addresses[1] + start * 4;
    words[base + STREAM_FIELD.out] = addresses[2] + start * 4;
  });
}

/** gradGate and gradUp of out = silu(gate)·up, from gradOut, over `length` elements. */
export function swigluBackwardHeap(
  gate: StreamOperand,
  up: StreamOperand,
  gradOut: StreamOperand,
  gradGate: StreamOperand,
  gradUp: StreamOperand,
  length: number,
): void {
  const names = ["gate", "up", "gradOut", "gradGate", "gradUp"];
  const addresses = [gate, up, gradOut, gradGate, gradUp].map((operand, index) =>
    address("swiglu backward", names[index] as string, operand, length),
  ) as [number, number, number, number, number];
  runStream(JOB_SWIGLU_BACKWARD, length, (words, base, start) => {
    words[base + STREAM_FIELD.first] = addresses[0] + start * 4;
    words[base + STREAM_FIELD.second] = addresses[1] + start * 4;
    words[base + STREAM_FIELD.third] = addresses[2] + start * 4;
    words[base + STREAM_FIELD.out] = addresses[3] + start * 4;
    words[base + STREAM_FIELD.secondOut] = addresses[4] + start * 4;
  });
}

let epsilonBlock: HeapBlock | null = null;

/** A heap address holding one float64 (rmsnorm's ε, cross-entropy's scale; one block, rewritten by each call). */
function epsilonAddress(epsilon: number): number {
  epsilonBlock ??= getHeap().alloc(2);
  const block = epsilonBlock;
  new Float64Array(block.f32().buffer, block.ptr, 1)[0] = epsilon;
  return block.ptr;
}

/** Ranges of `count` items in at most `parts` pieces, each a multiple of `unit` but the last. */
function pieces(count: number, parts: number, unit: number): Array<[number, number]> {
  const size = Math.ceil(count / parts / unit) * unit;
  const ranges: Array<[number, number]> = [];
  for (let start = 0; start < count; start += size) ranges.push([start, Math.min(count, start + size)]);
  return ranges;
}

/** How many jobs a pass over `elements` elements makes: 1 below the parallel threshold. */
function jobCount(elements: number): number {
  return elements >= PARALLEL_ELEMENTS ? Math.max(1, Math.min(16, Math.floor(elements / MINIMUM_JOB_ELEMENTS))) : 1;
}

/** Runs one job per range with the threads allowed, `write` filling each descriptor's own words. */
function runRanges(
  kind: number,
  ranges: ReadonlyArray<[number, number]>,
  write: (words: Int32Array, base: number, start: number, end: number) => void,
): void {
  runMatmulJobs(ranges.length, ranges.length, (words, base, index) => {
    const [start, end] = ranges[index] as [number, number];
    words.fill(0, base, base + 16);
    words[base + STREAM_FIELD.kind] = kind;
    words[base + STREAM_FIELD.length] = end - start;
    write(words, base, start, end);
  });
}

/** RMSNorm over `rows` rows of `width`: out = x · r · weight with r = 1/√(mean(x²) + ε), as `rmsnormRows`. */
export function rmsnormHeap(
  x: StreamOperand,
  weight: StreamOperand,
  out: StreamOperand,
  rows: number,
  width: number,
  epsilon: number,
): void {
  const xAddress = address("rmsnorm", "x", x, rows * width);
  const weightAddress = address("rmsnorm", "weight", weight, width);
  const outAddress = address("rmsnorm", "out", out, rows * width);
  if (rows === 0 || width === 0) return;
  const constants = epsilonAddress(epsilon);
  runRanges(JOB_RMSNORM, pieces(rows, jobCount(rows * width), 1), (words, base, start) => {
    words[base + STREAM_FIELD.first] = xAddress + start * width * 4;
    words[base + STREAM_FIELD.second] = weightAddress;
    words[base + STREAM_FIELD.out] = outAddress + start * width * 4;
    words[base + STREAM_FIELD.width] = width;
    words[base + STREAM_FIELD.constants] = constants;
  });
}

/** RMSNorm's gradients gradX ([rows, width]) and gradWeight ([width], overwritten), as `rmsnormBackwardRows`. */
export function rmsnormBackwardHeap(
  x: StreamOperand,
  weight: StreamOperand,
  gradient: StreamOperand,
  gradX: StreamOperand,
  gradWeight: StreamOperand,
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
  const constants = epsilonAddress(epsilon);
  // Each row's r, in float64, from the row job to the column job.
  const scales = getHeap().alloc(rows * 2);
  try {
    runRanges(JOB_RMSNORM_BACKWARD_ROWS, pieces(rows, jobCount(rows * width), 1), (words, base, start) => {
      words[base + STREAM_FIELD.first] = xAddress + start * width * 4;
      words[base + STREAM_FIELD.second] = weightAddress;
      words[base + STREAM_FIELD.third] = gradientAddress + start * width * 4;
      words[base + STREAM_FIELD.out] = gradXAddress + start * width * 4;
      words[base + STREAM_FIELD.secondOut] = scales.ptr + start * 8;
      words[base + STREAM_FIELD.width] = width;
      words[base + STREAM_FIELD.constants] = constants;
    });
    const columnJobs = Math.min(jobCount(rows * width), Math.ceil(width / 16));
    runRanges(JOB_RMSNORM_BACKWARD_COLUMNS, pieces(width, columnJobs, 4), (words, base, start) => {
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
  logits: StreamOperand,
  targets: StreamOperand,
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
    runRanges(JOB_CROSS_ENTROPY, pieces(rows, jobCount(rows * classes), 1), (words, base, start) => {
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
  logits: StreamOperand,
  targets: StreamOperand,
  out: StreamOperand,
  rows: number,
  classes: number,
  ignoreIndex: number,
  gradLoss: number,
): void {
  const logitsAddress = address("crossEntropy backward", "logits", logits, rows * classes);
  const targetsAddress = address("crossEntropy backward", "targets", targets, rows);
  const outAddress = address("crossEntropy backward", "out", out, rows * classes);
  const kept = keptRows(targets.block.i32(), targets.offset, rows, classes, ignoreIndex);
  const constants = epsilonAddress(kept === 0 ? 0 : gradLoss / kept);
  runRanges(JOB_CROSS_ENTROPY_BACKWARD, pieces(rows, jobCount(rows * classes), 1), (words, base, start) => {
    words[base + STREAM_FIELD.first] = logitsAddress + start * classes * 4;
    words[base + STREAM_FIELD.third] = targetsAddress + start * 4;
    words[base + STREAM_FIELD.out] = outAddress + start * classes * 4;
    words[base + STREAM_FIELD.width] = classes;
    words[base + STREAM_FIELD.ignore] = ignoreIndex;
    words[base + STREAM_FIELD.constants] = constants;
  });
}
