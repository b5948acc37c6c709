/**
 * Finite-difference gradient checking in float64: compares the analytic gradient of
 * L = Σ fn(inputs) ⊙ R (R a fixed random projection) with central differences (L(x+h) − L(x−h)) / 2h for
 * every element of every input that requires grad. Inputs must be float64 tensors owning their storage
 * (apply views inside `fn` to test non-contiguous cases). CPU backend only.
 * Not here: tolerances tuned per op — one tolerance fits every op in float64.
 */

import { backward } from "./autograd.js";
import { cpuBufferData } from "./backends/cpu/cpu-backend.js";
import { scope } from "./memory.js";
import { mul } from "./ops/elementwise.js";
import { sum } from "./ops/reduce.js";
import { RandomGenerator } from "./random.js";
import { formatShape } from "./shape.js";
import { emptyTensor, noGrad, type Tensor } from "./tensor.js";

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  epsilon?: number;
  /** Allowed |analytic − numeric| (default 1e-6) … */
  absoluteTolerance?: number;
  /** … plus this fraction of |numeric| (default 1e-5). */
  relativeTolerance?: number;
  /** Seed of the projection R (default 0). */
  seed?: number;
}

export interface GradcheckResult {
  ok: boolean;
  maxAbsoluteError: number;
  /** Human-readable mismatches (at most 10). */
  failures: string[];
}

function projectedLoss(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], projection: () => Tensor): Tensor {
  const output = fn(...inputs);
  return sum(mul(output, projection()));
}

export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  options: GradcheckOptions = {},
): GradcheckResult {
  const epsilon = options.epsilon ?? 1e-6;
  const absoluteTolerance = options.absoluteTolerance ?? 1e-6;
  const relativeTolerance = options.relativeTolerance ?? 1e-5;
  const checked = inputs.filter((input) => input.requiresGrad);
  if (checked.length === 0)
    throw new Error("[gradcheck] no input requires grad; call requireGrad() on the inputs to check");
  for (const input of checked) {
    if (input.dtype !== "float64")
      throw new Error(`[gradcheck] input of shape ${formatShape(input.shape)} is ${input.dtype}; use float64`);
    if (!input.isContiguous || input.offset !== 0 || input.size !== input.storage.buffer.length || input.node) {
      throw new Error(
        `[gradcheck] input of shape ${formatShape(input.shape)} must be a leaf owning its storage; apply views inside fn`,
      );
    }
  }
  // The projection R is fixed per output shape and seed.
  let projectionValues: Float64Array | null = null;
  let outputShape: readonly number[] = [];
  const projection = () => {
    const out = emptyTensor(outputShape, "float64");
    (cpuBufferData(out.storage.buffer) as Float64Array).set(projectionValues as Float64Array);
    return out;
  };
  const probe = noGrad(() => scope(() => fn(...inputs).shape));
  outputShape = probe;
  projectionValues = new Float64Array(probe.reduce((x, y) => x * y, 1));
  new RandomGenerator(options.seed ?? 0).fillUniform(projectionValues, -1, 1);

  for (const input of checked) input.zeroGrad();
  scope(() => backward(projectedLoss(fn, inputs, projection)));
  const analytic = checked.map((input) =>
    input.grad ? (input.grad.dataSync() as Float64Array) : new Float64Array(input.size),
  );
  for (const input of checked) input.zeroGrad();

  const failures: string[] = [];
  let maxAbsoluteError = 0;
  const evaluate = () => noGrad(() => scope(() => projectedLoss(fn, inputs, projection).item()));
  checked.forEach((input, inputIndex) => {
    const data = cpuBufferData(input.storage.buffer) as Float64Array;
    for (let element = 0; element < input.size; element++) {
      const original = data[element];
      data[element] = original + epsilon;
      const plus = evaluate();
      data[element] = original - epsilon;
      const minus = evaluate();
      data[element] = original;
      const numeric = (plus - minus) / (2 * epsilon);
      const error = Math.abs(analytic[inputIndex][element] - numeric);
      maxAbsoluteError = Math.max(maxAbsoluteError, error);
      if (!(error <= absoluteTolerance + relativeTolerance * Math.abs(numeric)) && failures.length < 10) {
        failures.push(
          `input ${inputIndex} element ${element}: analytic ${analytic[inputIndex][element]}, numeric ${numeric}`,
        );
      }
    }
  });
  return { ok: failures.length === 0, maxAbsoluteError, failures };
}
