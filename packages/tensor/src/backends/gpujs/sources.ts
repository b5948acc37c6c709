/**
 * Kernel sources for the gpu.js backend, as JavaScript text that gpu.js transpiles to GLSL, WGSL, WebAssembly
 * or JavaScript depending on the mode. Every kernel writes a flat 1-D output, one thread per output element
 * (`this.thread.x` is the flat index), and reads flat 1-D inputs. Numbers are floats on every mode (indices
 * included: exact below 2^24, which the backend enforces per tensor), so integer division is a float
 * quotient corrected by a remainder test (`floorDivide`): exact for every index below 2^24 on any device.
 *
 * Strided operands (views with any strides, 0 for broadcast axes) are addressed in-kernel from up to
 * MAX_RANK dims `d0…d5` (outermost first, padded with 1s) and per-operand `<name>o` offset and `<name>s0…5`
 * strides; nothing is materialised for a transpose, slice or broadcast.
 *
 * The unary and binary ops come from the expression table the CPU backend's loops are generated from
 * (`backends/elementwise-table.ts`); the other kernels mirror the CPU's `row-kernels.ts`, so the two agree to
 * float32 rounding, and the conformance suite holds them to that.
 */
import type { BinaryOp, ReduceOp, UnaryOp } from "../../backend.js";
import { binaryTable, unaryTable } from "../elementwise-table.js";

export const MAX_RANK = 6;

const dimNames = Array.from({ length: MAX_RANK }, (_, axis) => `d${axis}`);

function operandParameters(name: string): string[] {
  return [`${name}o`, ...Array.from({ length: MAX_RANK }, (_, axis) => `${name}s${axis}`)];
}

/** Code that computes `i<name>`, the element offset of each operand for this thread's output element. */
function stridedOffsets(operands: readonly string[]): string {
  const lines = ["let rem = this.thread.x;", "let q = 0;", "let c = 0;"];
  for (const name of operands) lines.push(`let i${name} = ${name}o;`);
  for (let axis = MAX_RANK - 1; axis > 0; axis--) {
    lines.push(...floorDivide("q", "rem", `d${axis}`), `c = rem - q * d${axis};`, "rem = q;");
    for (const name of operands) lines.push(`i${name} = i${name} + c * ${name}s${axis};`);
  }
  for (const name of operands) lines.push(`i${name} = i${name} + rem * ${name}s0;`);
  return lines.join("\n");
}

/**
 * `target = ⌊numerator / divisor⌋` for non-negative integers below 2^24 held in floats: the float quotient
 * can be off by one (GPU division is not correctly rounded, and near 2^24 no half-integer is representable),
 * so the remainder test corrects it; every product compared is exact or rounds away from the boundary.
 */
function floorDivide(target: string, numerator: string, divisor: string): string[] {
  return [
    `${target} = Math.floor(${numerator} / ${divisor});`,
    `if (${target} * ${divisor} > ${numerator}) { ${target} = ${target} - 1; }`,
    `if ((${target} + 1) * ${divisor} <= ${numerator}) { ${target} = ${target} + 1; }`,
  ];
}

/** Output conversion by dtype kind: 0 float32, 1 int32 (truncate like Int32Array), 2 bool (nonzero → 1). */
const castOutput = `
if (kind == 1) {
  if (v < 0) { v = Math.ceil(v); } else { v = Math.floor(v); }
}
if (kind == 2) {
  if (v != 0) { v = 1; } else { v = 0; }
}
return v;`;

function kernelSource(parameters: readonly string[], body: string): string {
  return `function (${parameters.join(", ")}) {\n${body}\n}`;
}

/** Parameters of a strided kernel over `operands`, in the order the backend passes them. */
export function stridedParameters(operands: readonly string[]): string[] {
  return [...operands, ...dimNames, ...operands.flatMap(operandParameters), "kind"];
}

/** A unary op from the expression table: `x` is the operand's element, the row sets `v`. */
export function unarySource(op: UnaryOp): string {
  const row = unaryTable[op];
  return kernelSource(
    stridedParameters(["input"]),
    `${stridedOffsets(["input"])}\nconst x = input[iinput];\nlet v = 0;\n${row.gpujs ?? row.statement}${castOutput}`,
  );
}

/** A binary op from the expression table: `a` and `b` are the operands' elements, the row sets `v` (from 0). */
export function binarySource(op: BinaryOp): string {
  const row = binaryTable[op];
  return kernelSource(
    stridedParameters(["left", "right"]),
    `${stridedOffsets(["left", "right"])}\nconst a = left[ileft];\nconst b = right[iright];\nlet v = 0;\n${row.gpujs ?? row.statement}${castOutput}`,
  );
}

export const whereSource = kernelSource(
  stridedParameters(["w", "a", "b"]),
  `${stridedOffsets(["w", "a", "b"])}\nlet v = b[ib];\nif (w[iw] != 0) { v = a[ia]; }${castOutput}`,
);

export const copySource = kernelSource(
  stridedParameters(["x"]),
  `${stridedOffsets(["x"])}\nlet v = x[ix];${castOutput}`,
);

/**
 * Copy into a strided view of a larger buffer (pad, concat, slice assignment): one thread per element of the
 * whole destination buffer. The destination view's layout is inverted per element (axes sorted by stride,
 * outermost first, non-overlapping positive strides: \`os0…os5\` with dims \`d0…d5\`; \`xs0…xs5\` are the source's
 * strides for the same axes); elements outside the view keep the old value.
 */
export const copyIntoSource = kernelSource(
  [
    "x",
    "old",
    "oo",
    "xo",
    ...dimNames,
    ...Array.from({ length: MAX_RANK }, (_, axis) => `os${axis}`),
    ...Array.from({ length: MAX_RANK }, (_, axis) => `xs${axis}`),
    "kind",
  ],
  `let rem = this.thread.x - oo;
let inside = 1;
if (rem < 0) {
  inside = 0;
}
let ix = xo;
let coordinate = 0;
${Array.from(
  { length: MAX_RANK },
  (_, axis) => `if (inside == 1) {
  ${floorDivide("coordinate", "rem", `os${axis}`).join("\n  ")}
  if (coordinate >= d${axis}) {
    inside = 0;
  }
  rem = rem - coordinate * os${axis};
  ix = ix + coordinate * xs${axis};
}`,
).join("\n")}
if (inside == 0 || rem != 0) {
  return old[this.thread.x];
}
let v = x[ix];${castOutput}`,
);

export const fillSource = kernelSource(["value"], "return value;");

/** Identity over a flat input: turns an uploaded host array into a device value. */
export const uploadSource = kernelSource(["x"], "return x[this.thread.x];");

const reduceInit: Record<ReduceOp, string> = { sum: "0", max: "x[base]" };
const reduceStep: Record<ReduceOp, string> = {
  sum: "acc = acc + x[base + i];",
  max: "acc = Math.max(acc, x[base + i]);",
};

/** Reduce each contiguous row of `inner` elements. */
export function reduceRowsSource(op: ReduceOp): string {
  return kernelSource(
    ["x", "xo", "inner"],
    `const base = xo + this.thread.x * inner;
let acc = ${reduceInit[op]};
for (let i = 0; i < inner; i++) {
  ${reduceStep[op]}
}
return acc;`,
  );
}

/**
 * Batched matmul over strided operands: output [batch…, m, n] flat; up to 4 batch dims `b0…b3` (outermost
 * first, padded with 1s) with per-operand batch strides; row/column strides for each matrix.
 */
export const matmulSource = kernelSource(
  [
    "a",
    "b",
    "m",
    "n",
    "k",
    "b0",
    "b1",
    "b2",
    "b3",
    "ao",
    "as0",
    "as1",
    "as2",
    "as3",
    "aRow",
    "aCol",
    "bo",
    "bs0",
    "bs1",
    "bs2",
    "bs3",
    "bRow",
    "bCol",
  ],
  `let rem = this.thread.x;
let q = Math.floor(rem / n);
if (q * n > rem) { q = q - 1; }
if ((q + 1) * n <= rem) { q = q + 1; }
const col = rem - q * n;
rem = q;
q = Math.floor(rem / m);
if (q * m > rem) { q = q - 1; }
if ((q + 1) * m <= rem) { q = q + 1; }
const row = rem - q * m;
rem = q;
let ia = ao + row * aRow;
let ib = bo + col * bCol;
q = Math.floor(rem / b3);
if (q * b3 > rem) { q = q - 1; }
if ((q + 1) * b3 <= rem) { q = q + 1; }
let c = rem - q * b3;
rem = q;
ia = ia + c * as3;
ib = ib + c * bs3;
q = Math.floor(rem / b2);
if (q * b2 > rem) { q = q - 1; }
if ((q + 1) * b2 <= rem) { q = q + 1; }
c = rem - q * b2;
rem = q;
ia = ia + c * as2;
ib = ib + c * bs2;
q = Math.floor(rem / b1);
if (q * b1 > rem) { q = q - 1; }
if ((q + 1) * b1 <= rem) { q = q + 1; }
c = rem - q * b1;
rem = q;
ia = ia + c * as1 + rem * as0;
ib = ib + c * bs1 + rem * bs0;
let acc = 0;
for (let p = 0; p < k; p++) {
  acc = acc + a[ia + p * aCol] * b[ib + p * bRow];
}
return acc;`,
);

/** out[i, c] = table[indices[i], c]. */
export const gatherRowsSource = kernelSource(
  ["table", "indices", "to", "io", "width"],
  `let i = Math.floor(this.thread.x / width);
if (i * width > this.thread.x) { i = i - 1; }
if ((i + 1) * width <= this.thread.x) { i = i + 1; }
const c = this.thread.x - i * width;
return table[to + indices[io + i] * width + c];`,
);

/** out[r, c] = base[r, c] + Σ_{i: indices[i] = r} source[i, c]. */
export const indexAddRowsSource = kernelSource(
  ["base", "indices", "source", "io", "so", "width", "count"],
  `let r = Math.floor(this.thread.x / width);
if (r * width > this.thread.x) { r = r - 1; }
if ((r + 1) * width <= this.thread.x) { r = r + 1; }
const c = this.thread.x - r * width;
let acc = base[this.thread.x];
for (let i = 0; i < count; i++) {
  if (indices[io + i] == r) {
    acc = acc + source[so + i * width + c];
  }
}
return acc;`,
);

/** out[r, j] = x[r, indices[r, j]]. */
export const takeAlongSource = kernelSource(
  ["x", "indices", "xo", "io", "width", "picks"],
  `let r = Math.floor(this.thread.x / picks);
if (r * picks > this.thread.x) { r = r - 1; }
if ((r + 1) * picks <= this.thread.x) { r = r + 1; }
return x[xo + r * width + indices[io + this.thread.x]];`,
);

/** out[r, c] = base[r, c] + Σ_{j: indices[r, j] = c} source[r, j]. */
export const scatterAddAlongSource = kernelSource(
  ["base", "indices", "source", "io", "so", "width", "picks"],
  `let r = Math.floor(this.thread.x / width);
if (r * width > this.thread.x) { r = r - 1; }
if ((r + 1) * width <= this.thread.x) { r = r + 1; }
const c = this.thread.x - r * width;
let acc = base[this.thread.x];
for (let j = 0; j < picks; j++) {
  if (indices[io + r * picks + j] == c) {
    acc = acc + source[so + r * picks + j];
  }
}
return acc;`,
);

/** Per row: the maximum, one thread per row. */
export const rowMaxSource = kernelSource(
  ["x", "xo", "width"],
  `const base = xo + this.thread.x * width;
let maximum = x[base];
for (let j = 1; j < width; j++) {
  maximum = Math.max(maximum, x[base + j]);
}
return maximum;`,
);

/** Per row: Σ exp(x − max). Kept apart from the max (not folded into a log-sum-exp) so large logits keep
 * their precision: x − max is exact where x − (max + log Σ) would round at the max's float32 spacing. */
export const rowSumExpSource = kernelSource(
  ["x", "maximum", "xo", "width"],
  `const base = xo + this.thread.x * width;
const shift = maximum[this.thread.x];
let sum = 0;
for (let j = 0; j < width; j++) {
  sum = sum + Math.exp(x[base + j] - shift);
}
return sum;`,
);

/** softmax (log = 0) or log-softmax (log = 1) from the row max and Σ exp(x − max). */
export const softmaxFromStatsSource = kernelSource(
  ["x", "maximum", "sum", "xo", "width", "log"],
  `let r = Math.floor(this.thread.x / width);
if (r * width > this.thread.x) { r = r - 1; }
if ((r + 1) * width <= this.thread.x) { r = r + 1; }
const shifted = x[xo + this.thread.x] - maximum[r];
if (log == 1) {
  return shifted - Math.log(sum[r]);
}
return Math.exp(shifted) / sum[r];`,
);

/** Per row: Σ gy·y (softmax) or Σ gy (log-softmax). */
export const softmaxBackwardRowSource = kernelSource(
  ["y", "g", "yo", "go", "width", "log"],
  `const yb = yo + this.thread.x * width;
const gb = go + this.thread.x * width;
let acc = 0;
for (let j = 0; j < width; j++) {
  if (log == 1) {
    acc = acc + g[gb + j];
  } else {
    acc = acc + g[gb + j] * y[yb + j];
  }
}
return acc;`,
);

export const softmaxBackwardSource = kernelSource(
  ["y", "g", "dot", "yo", "go", "width", "log"],
  `let r = Math.floor(this.thread.x / width);
if (r * width > this.thread.x) { r = r - 1; }
if ((r + 1) * width <= this.thread.x) { r = r + 1; }
const yv = y[yo + this.thread.x];
const gv = g[go + this.thread.x];
if (log == 1) {
  return gv - Math.exp(yv) * dot[r];
}
return yv * (gv - dot[r]);`,
);

/** Per row: 1 / sqrt(mean(x²) + epsilon). */
export const rmsInverseSource = kernelSource(
  ["x", "xo", "width", "epsilon"],
  `const base = xo + this.thread.x * width;
let sum = 0;
for (let j = 0; j < width; j++) {
  const value = x[base + j];
  sum = sum + value * value;
}
return 1 / Math.sqrt(sum / width + epsilon);`,
);

export const rmsnormApplySource = kernelSource(
  ["x", "inverse", "weight", "xo", "wo", "width"],
  `let r = Math.floor(this.thread.x / width);
if (r * width > this.thread.x) { r = r - 1; }
if ((r + 1) * width <= this.thread.x) { r = r + 1; }
const c = this.thread.x - r * width;
return x[xo + this.thread.x] * inverse[r] * weight[wo + c];`,
);

/** Per row: Σ_j g_j · w_j · x_j. */
export const rmsnormRowDotSource = kernelSource(
  ["x", "weight", "g", "xo", "wo", "go", "width"],
  `const xb = xo + this.thread.x * width;
const gb = go + this.thread.x * width;
let acc = 0;
for (let j = 0; j < width; j++) {
  acc = acc + g[gb + j] * weight[wo + j] * x[xb + j];
}
return acc;`,
);

/** gradX = r·w·g − x·r³·dot/d. */
export const rmsnormGradXSource = kernelSource(
  ["x", "weight", "g", "inverse", "dot", "xo", "wo", "go", "width"],
  `let r = Math.floor(this.thread.x / width);
if (r * width > this.thread.x) { r = r - 1; }
if ((r + 1) * width <= this.thread.x) { r = r + 1; }
const c = this.thread.x - r * width;
const inv = inverse[r];
return inv * weight[wo + c] * g[go + this.thread.x] - (x[xo + this.thread.x] * inv * inv * inv * dot[r]) / width;`,
);

/** gradWeight[c] = Σ_rows g·x·r, one thread per column. */
export const rmsnormGradWeightSource = kernelSource(
  ["x", "g", "inverse", "xo", "go", "width", "rows"],
  `let acc = 0;
for (let r = 0; r < rows; r++) {
  acc = acc + g[go + r * width + this.thread.x] * x[xo + r * width + this.thread.x] * inverse[r];
}
return acc;`,
);

/** Rotate-half rotary embedding; `inverse` = 1 rotates by −θ. */
export const ropeSource = kernelSource(
  ["x", "cosine", "sine", "xo", "co", "so", "width", "positions", "rowsPerPosition", "inverse"],
  `const half = width / 2;
let r = Math.floor(this.thread.x / width);
if (r * width > this.thread.x) { r = r - 1; }
if ((r + 1) * width <= this.thread.x) { r = r + 1; }
const j = this.thread.x - r * width;
let step = Math.floor(r / rowsPerPosition);
if (step * rowsPerPosition > r) { step = step - 1; }
if ((step + 1) * rowsPerPosition <= r) { step = step + 1; }
let wraps = Math.floor(step / positions);
if (wraps * positions > step) { wraps = wraps - 1; }
if ((wraps + 1) * positions <= step) { wraps = wraps + 1; }
const position = step - wraps * positions;
const base = xo + r * width;
let pair = j;
if (j >= half) {
  pair = j - half;
}
const cv = cosine[co + position * half + pair];
let sv = sine[so + position * half + pair];
if (inverse == 1) {
  sv = -sv;
}
if (j < half) {
  return x[base + j] * cv - x[base + j + half] * sv;
}
return x[base + j] * cv + x[base + j - half] * sv;`,
);

/** Mean cross-entropy over kept rows (one thread): Σ (log Σexp + max − logit[target]) / kept, 0 when none is kept. */
export const crossEntropyLossSource = kernelSource(
  ["logits", "targets", "maximum", "sum", "lo", "to", "width", "rows", "ignoreIndex"],
  `let total = 0;
let kept = 0;
for (let r = 0; r < rows; r++) {
  const target = targets[to + r];
  if (target != ignoreIndex) {
    total = total + Math.log(sum[r]) + maximum[r] - logits[lo + r * width + target];
    kept = kept + 1;
  }
}
if (kept == 0) {
  return 0;
}
return total / kept;`,
);

/** Number of rows whose target is not ignoreIndex (one thread). */
export const keptRowsSource = kernelSource(
  ["targets", "to", "rows", "ignoreIndex"],
  `let kept = 0;
for (let r = 0; r < rows; r++) {
  if (targets[to + r] != ignoreIndex) {
    kept = kept + 1;
  }
}
return kept;`,
);

export const crossEntropyBackwardSource = kernelSource(
  ["logits", "targets", "maximum", "sum", "kept", "gradLoss", "lo", "to", "go", "width", "ignoreIndex"],
  `let r = Math.floor(this.thread.x / width);
if (r * width > this.thread.x) { r = r - 1; }
if ((r + 1) * width <= this.thread.x) { r = r + 1; }
const c = this.thread.x - r * width;
const target = targets[to + r];
const count = kept[0];
if (target == ignoreIndex || count == 0) {
  return 0;
}
let v = Math.exp(logits[lo + this.thread.x] - maximum[r]) / sum[r];
if (c == target) {
  v = v - 1;
}
return (v * gradLoss[go]) / count;`,
);

/** SwiGLU's product silu(gate)·up over contiguous operands at offsets. */
export const swigluSource = kernelSource(
  ["gate", "go", "up", "uo"],
  `const x = gate[go + this.thread.x];
return (x / (1 + Math.exp(-x))) * up[uo + this.thread.x];`,
);

/** SwiGLU's gradients: `which` 0 gives gradGate = d·up·σ·(1 + x·(1 − σ)), 1 gives gradUp = d·silu(x). */
export const swigluBackwardSource = kernelSource(
  ["gate", "go", "up", "uo", "grad", "gro", "which"],
  `const x = gate[go + this.thread.x];
const d = grad[gro + this.thread.x];
const denominator = 1 + Math.exp(-x);
if (which == 1) {
  return d * (x / denominator);
}
const s = 1 / denominator;
return d * up[uo + this.thread.x] * (s * (1 + x * (1 - s)));`,
);

export const adamMomentSource = kernelSource(
  ["moment", "grad", "go", "beta", "square"],
  `const g = grad[go + this.thread.x];
if (square == 1) {
  return beta * moment[this.thread.x] + (1 - beta) * g * g;
}
return beta * moment[this.thread.x] + (1 - beta) * g;`,
);

export const adamParamSource = kernelSource(
  ["param", "m", "v", "decay", "stepSize", "inverseSqrtCorrection2", "epsilon"],
  `const i = this.thread.x;
return param[i] * decay - (stepSize * m[i]) / (Math.sqrt(v[i]) * inverseSqrtCorrection2 + epsilon);`,
);

/** Index of the largest element of each row, first on ties. */
export const argmaxSource = kernelSource(
  ["x", "xo", "width"],
  `const base = xo + this.thread.x * width;
let best = x[base];
let index = 0;
for (let j = 1; j < width; j++) {
  const value = x[base + j];
  if (value > best) {
    best = value;
    index = j;
  }
}
return index;`,
);

/**
 * Index of the (j+1)-th largest element of each row, descending with ties in index order (what a stable
 * descending sort gives): j+1 selection passes, each the best element ranked after the previous pick.
 */
export const topkIndexSource = kernelSource(
  ["x", "xo", "width", "k"],
  `let r = Math.floor(this.thread.x / k);
if (r * k > this.thread.x) { r = r - 1; }
if ((r + 1) * k <= this.thread.x) { r = r + 1; }
const j = this.thread.x - r * k;
const base = xo + r * width;
let previousValue = 0;
let previousIndex = -1;
for (let pass = 0; pass <= j; pass++) {
  let bestIndex = -1;
  let bestValue = 0;
  for (let i = 0; i < width; i++) {
    const value = x[base + i];
    let after = 1;
    if (previousIndex >= 0) {
      after = 0;
      if (value < previousValue) {
        after = 1;
      }
      if (value == previousValue && i > previousIndex) {
        after = 1;
      }
    }
    if (after == 1) {
      if (bestIndex < 0 || value > bestValue) {
        bestIndex = i;
        bestValue = value;
      }
    }
  }
  previousIndex = bestIndex;
  previousValue = bestValue;
}
return previousIndex;`,
);

/** Inverse-CDF draw per (row, sample); never lands on a zero-weight class through rounding. */
export const multinomialSource = kernelSource(
  ["weights", "uniforms", "wo", "uo", "classes", "samples"],
  `let r = Math.floor(this.thread.x / samples);
if (r * samples > this.thread.x) { r = r - 1; }
if ((r + 1) * samples <= this.thread.x) { r = r + 1; }
const base = wo + r * classes;
let total = 0;
for (let j = 0; j < classes; j++) {
  total = total + weights[base + j];
}
const threshold = uniforms[uo + this.thread.x] * total;
let cumulative = 0;
let chosen = classes - 1;
let found = 0;
for (let i = 0; i < classes; i++) {
  if (found == 0) {
    cumulative = cumulative + weights[base + i];
    if (threshold < cumulative) {
      chosen = i;
      found = 1;
    }
  }
}
for (let t = 0; t < classes; t++) {
  if (chosen > 0 && weights[base + chosen] == 0) {
    chosen = chosen - 1;
  }
}
return chosen;`,
);
