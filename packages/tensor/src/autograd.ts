/**
 * Reverse-mode differentiation over the recorded graph: topological order from the output's node, each
 * node's backward rule (run under noGrad, inside a scope so every intermediate gradient is released),
 * gradients summed where paths meet, and accumulated into leaves' `.grad` across calls. Each node's saved
 * tensors are released as soon as backward has passed through it.
 * Not here: the rules (ops/primitives.ts and its families) and graph recording (`apply` in ops/apply.ts,
 * `customOp`).
 */
import { keep, scope } from "./memory.js";
import { copyRaw, fullLike, reduceToShape } from "./ops/apply.js";
import { add } from "./ops/elementwise.js";
import { formatShape, shapesEqual } from "./shape.js";
import { type GradNode, noGrad, type Tensor } from "./tensor.js";

function accumulateLeaf(leaf: Tensor, gradient: Tensor): void {
  if (leaf.isDisposed) return;
  const current = leaf.grad;
  if (current === null) {
    // Own the gradient: reuse the tensor when nothing else shares its storage, otherwise copy.
    const exclusive =
      gradient.storage.references === 1 &&
      gradient.isContiguous &&
      gradient.offset === 0 &&
      gradient.size === gradient.storage.buffer.length &&
      gradient.dtype === leaf.dtype &&
      !gradient.kept;
    leaf.grad = keep(exclusive ? gradient : copyRaw(gradient, leaf.dtype));
    return;
  }
  // A new buffer rather than an in-place add: no kernel ever writes a buffer it also reads (a GPU backend
  // cannot), and the pool makes the allocation cheap.
  leaf.grad = keep(add(current, gradient));
  current.dispose();
}

function topologicalOrder(root: GradNode): GradNode[] {
  const order: GradNode[] = [];
  const visited = new Set<GradNode>();
  const stack: [GradNode, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [node, next] = top;
    if (next < node.inputNodes.length) {
      top[1]++;
      const child = node.inputNodes[next];
      if (child && !visited.has(child)) {
        visited.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order.reverse();
}

/**
 * Back-propagate from `output` (a one-element tensor, or any tensor with an explicit `gradient` of its
 * shape), adding into `.grad` of every leaf that requires grad. The graph is freed afterwards.
 */
export function backward(output: Tensor, gradient?: Tensor): void {
  output.view("backward");
  if (!output.requiresGrad) {
    throw new Error(
      `[backward] tensor of shape ${formatShape(output.shape)} does not require grad: mark a leaf with requireGrad() before the forward pass`,
    );
  }
  if (gradient === undefined && output.size !== 1) {
    throw new Error(
      `[backward] output of shape ${formatShape(output.shape)} is not a scalar: pass a gradient of that shape`,
    );
  }
  if (gradient !== undefined && !shapesEqual(gradient.shape, output.shape)) {
    throw new Error(
      `[backward] shapes ${formatShape(output.shape)} and ${formatShape(gradient.shape)} are incompatible: the gradient must match the output`,
    );
  }
  scope(() =>
    noGrad(() => {
      const seed = gradient ? gradient.detach() : fullLike(output, output.shape, 1);
      const root = output.node;
      if (root === null) {
        accumulateLeaf(output, seed);
        return;
      }
      const pending = new Map<GradNode, Tensor>([[root, seed]]);
      for (const node of topologicalOrder(root)) {
        const gradOutput = pending.get(node);
        pending.delete(node);
        if (!gradOutput) {
          node.freeSaved();
          continue;
        }
        const inputGrads = node.backward(gradOutput);
        node.freeSaved();
        // A rule may return the same tensor (or gradOutput itself) for several inputs: hand each destination
        // its own view so that owning, accumulating into or disposing one never touches another.
        const handedOut = new Set<Tensor>([gradOutput]);
        const leaves: Array<[leaf: Tensor, gradient: Tensor]> = [];
        for (let index = 0; index < node.inputs.length; index++) {
          const inputGrad = inputGrads[index];
          const input = node.inputs[index];
          if (!inputGrad || !input.requiresGrad) continue;
          let shaped = shapesEqual(inputGrad.shape, input.shape) ? inputGrad : reduceToShape(inputGrad, input.shape);
          if (handedOut.has(shaped)) shaped = shaped.detach();
          handedOut.add(shaped);
          const inputNode = node.inputNodes[index];
          if (inputNode) {
            const existing = pending.get(inputNode);
            pending.set(inputNode, existing ? add(existing, shaped) : shaped);
            if (existing) existing.dispose();
          } else {
            leaves.push([input, shaped]);
          }
        }
        // Release this node's incoming gradient now rather than at the end of the pass — before the leaves take
        // theirs, so that a view of it (a transposed weight's gradient) is the only holder of its buffer and
        // becomes the leaf's gradient without a copy.
        gradOutput.dispose();
        for (const [leaf, gradient] of leaves) accumulateLeaf(leaf, gradient);
      }
    }),
  );
}

/**
 * L2 norm of all the gradients together, for gradient clipping (a plain number, summed in float64 in element
 * order). A contiguous gradient in host memory (the CPU backend) is read in place: copying every gradient
 * out (`dataSync`) allocated the model's size in fresh memory each step, whose first-touch page faults cost
 * more than the sum itself.
 */
export function gradientNorm(parameters: readonly Tensor[]): number {
  let total = 0;
  for (const parameter of parameters) {
    const gradient = parameter.grad;
    if (!gradient) continue;
    const hostView = gradient.backend.hostView;
    let values: ArrayLike<number>;
    let start = 0;
    if (hostView !== undefined && gradient.isContiguous) {
      gradient.view("gradientNorm");
      values = hostView.call(gradient.backend, gradient.storage.buffer);
      start = gradient.offset;
    } else {
      values = gradient.dataSync();
    }
    const end = start + gradient.size;
    for (let index = start; index < end; index++) total += values[index] * values[index];
  }
  return Math.sqrt(total);
}

/** Dispose the gradients of these parameters. */
export function zeroGrad(parameters: readonly Tensor[]): void {
  for (const parameter of parameters) parameter.zeroGrad();
}
