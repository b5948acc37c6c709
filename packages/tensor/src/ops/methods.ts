/**
 * The table behind Tensor's methods (`a.add(b)` → `add(a, b)`), installed by the package entry point.
 * Not here: any op logic.
 */
import { backward } from "../autograd.js";
import type { TensorOps } from "../tensor.js";
import {
  flatten,
  logSoftmax,
  mean,
  minimum,
  relu,
  softmax,
  square,
  squeeze,
  tanh,
  transpose,
  unsqueeze,
} from "./compound.js";
import {
  abs,
  add,
  div,
  equal,
  exp,
  greater,
  less,
  log,
  maximum,
  mul,
  neg,
  pow,
  rsqrt,
  sigmoid,
  silu,
  sqrt,
  sub,
} from "./elementwise.js";
import { matmul } from "./matmul.js";
import { cast, contiguous, expand, permute, reshape, slice } from "./movement.js";
import { argmax } from "./non-differentiable.js";
import { max, sum } from "./reduce.js";

export const tensorMethods: TensorOps = {
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  neg,
  exp,
  log,
  sqrt,
  rsqrt,
  square,
  abs,
  sigmoid,
  silu,
  relu,
  tanh,
  equal,
  greater,
  less,
  sum,
  mean,
  max,
  matmul,
  reshape,
  transpose,
  permute,
  expand,
  slice,
  squeeze,
  unsqueeze,
  flatten,
  contiguous,
  cast,
  softmax: (x) => softmax(x),
  logSoftmax: (x) => logSoftmax(x),
  argmax,
  backward,
};
