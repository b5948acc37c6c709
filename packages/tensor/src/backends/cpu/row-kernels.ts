/**
 * CPU kernels that work row by row over the last axis of contiguous data: softmax, rmsnorm, rotary
 * embedding, cross-entropy, gathers and scatters, AdamW, argmax/topk/multinomial. Inputs are typed arrays
 * plus a start offset; shapes are passed as row counts and widths. No strided inputs here — the backend
 * materialises non-contiguous operands first.
 */
import type { AdamWHyperparameters } from "../../backend.js";
import type { FloatArray, TypedArray } from "../../dtype.js";

export function softmaxRows(
  x: FloatArray,
  xOffset: number,
  out: FloatArray,
  rows: number,
  width: number,
  log: boolean,
) {
  for (let row = 0; row < rows; row++) {
    const base = xOffset + row * width;
    const outBase = row * width;
    let maximum = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < width; j++) if (x[base + j] > maximum) maximum = x[base + j];
    if (maximum === Number.NEGATIVE_INFINITY) maximum = 0;
    let total = 0;
    if (log) {
      for (let j = 0; j < width; j++) total += Math.exp(x[base + j] - maximum);
      const logTotal = Math.log(total) + maximum;
      for (let j = 0; j < width; j++) out[outBase + j] = x[base + j] - logTotal;
    } else {
      for (let j = 0; j < width; j++) {
        const value = Math.exp(x[base + j] - maximum);
        out[outBase + j] = value;
        total += value;
      }
      const scale = 1 / total;
      for (let j = 0; j < width; j++) out[outBase + j] *= scale;
    }
  }
}

/** softmax: dx = y ⊙ (g − Σ g⊙y); log-softmax: dx = g − exp(y) Σ g. */
export function softmaxBackwardRows(
  y: FloatArray,
  yOffset: number,
  g: FloatArray,
  gOffset: number,
  out: FloatArray,
  rows: number,
  width: number,
  log: boolean,
) {
  for (let row = 0; row < rows; row++) {
    const yBase = yOffset + row * width;
    const gBase = gOffset + row * width;
    const outBase = row * width;
    let total = 0;
    if (log) {
      for (let j = 0; j < width; j++) total += g[gBase + j];
      for (let j = 0; j < width; j++) out[outBase + j] = g[gBase + j] - Math.exp(y[yBase + j]) * total;
    } else {
      for (let j = 0; j < width; j++) total += g[gBase + j] * y[yBase + j];
      for (let j = 0; j < width; j++) out[outBase + j] = y[yBase + j] * (g[gBase + j] - total);
    }
  }
}

export function rmsnormRows(
  x: FloatArray,
  xOffset: number,
  weight: FloatArray,
  weightOffset: number,
  epsilon: number,
  out: FloatArray,
  rows: number,
  width: number,
) {
  for (let row = 0; row < rows; row++) {
    const base = xOffset + row * width;
    let squares = 0;
    for (let j = 0; j < width; j++) squares += x[base + j] * x[base + j];
    const scale = 1 / Math.sqrt(squares / width + epsilon);
    const outBase = row * width;
    for (let j = 0; j < width; j++) out[outBase + j] = x[base + j] * scale * weight[weightOffset + j];
  }
}

/**
 * With r = (mean(x²) + ε)^(-1/2) and u = g ⊙ w: dx = r·u − r³·x·(Σ u⊙x)/d; dw = Σ_rows g ⊙ x · r.
 */
export function rmsnormBackwardRows(
  x: FloatArray,
  xOffset: number,
  weight: FloatArray,
  weightOffset: number,
  g: FloatArray,
  gOffset: number,
  epsilon: number,
  gradX: FloatArray,
  gradWeight: FloatArray,
  rows: number,
  width: number,
) {
  gradWeight.fill(0, 0, width);
  for (let row = 0; row < rows; row++) {
    const base = xOffset + row * width;
    const gBase = gOffset + row * width;
    let squares = 0;
    let dot = 0;
    for (let j = 0; j < width; j++) {
      const value = x[base + j];
      squares += value * value;
      dot += g[gBase + j] * weight[weightOffset + j] * value;
    }
    const r = 1 / Math.sqrt(squares / width + epsilon);
    const correction = (r * r * r * dot) / width;
    const outBase = row * width;
    for (let j = 0; j < width; j++) {
      const value = x[base + j];
      gradX[outBase + j] = r * g[gBase + j] * weight[weightOffset + j] - correction * value;
      gradWeight[j] += g[gBase + j] * value * r;
    }
  }
}

export function ropeRows(
  x: FloatArray,
  xOffset: number,
  cos: FloatArray,
  cosOffset: number,
  sin: FloatArray,
  sinOffset: number,
  positions: number,
  rowsPerPosition: number,
  inverse: boolean,
  out: FloatArray,
  rows: number,
  width: number,
) {
  const half = width >> 1;
  const sign = inverse ? -1 : 1;
  for (let row = 0; row < rows; row++) {
    const position = Math.floor(row / rowsPerPosition) % positions;
    const base = xOffset + row * width;
    const outBase = row * width;
    const tableBase = position * half;
    for (let j = 0; j < half; j++) {
      const c = cos[cosOffset + tableBase + j];
      const s = sign * sin[sinOffset + tableBase + j];
      const first = x[base + j];
      const second = x[base + half + j];
      out[outBase + j] = first * c - second * s;
      out[outBase + half + j] = second * c + first * s;
    }
  }
}

export function checkTarget(target: number, row: number, classes: number) {
  if (target < 0 || target >= classes || !Number.isInteger(target)) {
    throw new Error(
      `[crossEntropy] target ${target} at row ${row} is outside [0, ${classes}); use ignoreIndex to skip rows`,
    );
  }
}

export function crossEntropyRows(
  logits: FloatArray,
  logitsOffset: number,
  targets: TypedArray,
  targetsOffset: number,
  ignoreIndex: number,
  rows: number,
  classes: number,
): number {
  let total = 0;
  let kept = 0;
  for (let row = 0; row < rows; row++) {
    const target = targets[targetsOffset + row];
    if (target === ignoreIndex) continue;
    checkTarget(target, row, classes);
    const base = logitsOffset + row * classes;
    let maximum = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < classes; j++) if (logits[base + j] > maximum) maximum = logits[base + j];
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(logits[base + j] - maximum);
    total += Math.log(sum) + maximum - logits[base + target];
    kept++;
  }
  return kept === 0 ? 0 : total / kept;
}

export function crossEntropyBackwardRows(
  logits: FloatArray,
  logitsOffset: number,
  targets: TypedArray,
  targetsOffset: number,
  ignoreIndex: number,
  gradLoss: number,
  out: FloatArray,
  rows: number,
  classes: number,
) {
  let kept = 0;
  for (let row = 0; row < rows; row++) if (targets[targetsOffset + row] !== ignoreIndex) kept++;
  const scale = kept === 0 ? 0 : gradLoss / kept;
  for (let row = 0; row < rows; row++) {
    const target = targets[targetsOffset + row];
    const outBase = row * classes;
    if (target === ignoreIndex) {
      out.fill(0, outBase, outBase + classes);
      continue;
    }
    checkTarget(target, row, classes);
    const base = logitsOffset + row * classes;
    let maximum = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < classes; j++) if (logits[base + j] > maximum) maximum = logits[base + j];
    let sum = 0;
    for (let j = 0; j < classes; j++) {
      const value = Math.exp(logits[base + j] - maximum);
      out[outBase + j] = value;
      sum += value;
    }
    const factor = scale / sum;
    for (let j = 0; j < classes; j++) out[outBase + j] *= factor;
    out[outBase + target] -= scale;
  }
}

function checkIndex(op: string, index: number, position: number, limit: number) {
  if (index < 0 || index >= limit) {
    throw new Error(`[${op}] index ${index} at position ${position} is outside [0, ${limit})`);
  }
}

export function gatherRows(
  table: TypedArray,
  tableOffset: number,
  tableRows: number,
  width: number,
  indices: TypedArray,
  indicesOffset: number,
  count: number,
  out: TypedArray,
) {
  for (let i = 0; i < count; i++) {
    const index = indices[indicesOffset + i];
    checkIndex("gather", index, i, tableRows);
    const start = tableOffset + index * width;
    out.set(table.subarray(start, start + width), i * width);
  }
}

export function indexAddRows(
  out: TypedArray,
  outRows: number,
  width: number,
  indices: TypedArray,
  indicesOffset: number,
  count: number,
  source: TypedArray,
  sourceOffset: number,
) {
  for (let i = 0; i < count; i++) {
    const index = indices[indicesOffset + i];
    checkIndex("indexAdd", index, i, outRows);
    const target = index * width;
    const from = sourceOffset + i * width;
    for (let j = 0; j < width; j++) out[target + j] += source[from + j];
  }
}

export function takeAlongRows(
  x: TypedArray,
  xOffset: number,
  width: number,
  indices: TypedArray,
  indicesOffset: number,
  picks: number,
  rows: number,
  out: TypedArray,
) {
  for (let row = 0; row < rows; row++) {
    for (let j = 0; j < picks; j++) {
      const index = indices[indicesOffset + row * picks + j];
      checkIndex("takeAlongLastAxis", index, row * picks + j, width);
      out[row * picks + j] = x[xOffset + row * width + index];
    }
  }
}

export function scatterAddAlongRows(
  out: TypedArray,
  width: number,
  indices: TypedArray,
  indicesOffset: number,
  source: TypedArray,
  sourceOffset: number,
  picks: number,
  rows: number,
) {
  for (let row = 0; row < rows; row++) {
    for (let j = 0; j < picks; j++) {
      const index = indices[indicesOffset + row * picks + j];
      checkIndex("scatterAddAlongLastAxis", index, row * picks + j, width);
      out[row * width + index] += source[sourceOffset + row * picks + j];
    }
  }
}

export function adamwStep(
  param: FloatArray,
  grad: FloatArray,
  gradOffset: number,
  m: FloatArray,
  v: FloatArray,
  length: number,
  hyper: AdamWHyperparameters,
) {
  const { learningRate, beta1, beta2, epsilon, weightDecay, step } = hyper;
  const decay = 1 - learningRate * weightDecay;
  const correction1 = 1 - beta1 ** step;
  const correction2 = 1 - beta2 ** step;
  const stepSize = learningRate / correction1;
  const inverseSqrtCorrection2 = 1 / Math.sqrt(correction2);
  for (let i = 0; i < length; i++) {
    const g = grad[gradOffset + i];
    const mi = beta1 * m[i] + (1 - beta1) * g;
    const vi = beta2 * v[i] + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i] * decay - (stepSize * mi) / (Math.sqrt(vi) * inverseSqrtCorrection2 + epsilon);
  }
}

export function argmaxRows(x: TypedArray, xOffset: number, rows: number, width: number, out: TypedArray) {
  for (let row = 0; row < rows; row++) {
    const base = xOffset + row * width;
    let best = 0;
    let bestValue = x[base];
    for (let j = 1; j < width; j++) {
      if (x[base + j] > bestValue) {
        bestValue = x[base + j];
        best = j;
      }
    }
    out[row] = best;
  }
}

/** k largest per row, descending; ties keep the lower index first. Insertion into a sorted k-list. */
export function topkRows(
  x: TypedArray,
  xOffset: number,
  rows: number,
  width: number,
  k: number,
  values: TypedArray,
  indices: TypedArray,
) {
  for (let row = 0; row < rows; row++) {
    const base = xOffset + row * width;
    const outBase = row * k;
    let filled = 0;
    for (let j = 0; j < width; j++) {
      const value = x[base + j];
      if (filled === k && !(value > values[outBase + k - 1])) continue;
      let position = filled === k ? k - 1 : filled;
      while (position > 0 && value > values[outBase + position - 1]) {
        values[outBase + position] = values[outBase + position - 1];
        indices[outBase + position] = indices[outBase + position - 1];
        position--;
      }
      values[outBase + position] = value;
      indices[outBase + position] = j;
      if (filled < k) filled++;
    }
  }
}

export function multinomialRows(
  weights: TypedArray,
  weightsOffset: number,
  rows: number,
  classes: number,
  uniforms: TypedArray,
  uniformsOffset: number,
  samples: number,
  out: TypedArray,
) {
  for (let row = 0; row < rows; row++) {
    const base = weightsOffset + row * classes;
    let total = 0;
    for (let j = 0; j < classes; j++) {
      const weight = weights[base + j];
      if (!(weight >= 0) || weight === Number.POSITIVE_INFINITY) {
        throw new Error(`[multinomial] weight ${weight} at row ${row}, class ${j} must be finite and non-negative`);
      }
      total += weight;
    }
    if (total <= 0) throw new Error(`[multinomial] row ${row} has no positive weight`);
    for (let sample = 0; sample < samples; sample++) {
      const threshold = uniforms[uniformsOffset + row * samples + sample] * total;
      let cumulative = 0;
      let chosen = classes - 1;
      for (let j = 0; j < classes; j++) {
        cumulative += weights[base + j];
        if (threshold < cumulative) {
          chosen = j;
          break;
        }
      }
      // Never pick a zero-weight class at the tail through rounding.
      while (weights[base + chosen] === 0 && chosen > 0) chosen--;
      out[row * samples + sample] = chosen;
    }
  }
}
