/**
 * The extension point for other packages (like `torch.autograd.Function`): `customOp({ name, forward,
 * backward })` returns a function that runs `forward` without recording, then records one autograd node
 * whose gradients come from `backward`. `forward` may return extra tensors to save for backward (e.g. the
 * log-sum-exp of a flash-attention forward). On the CPU backend, `cpuData` exposes a tensor's elements for
 * kernels written over raw typed arrays, and `empty` makes an uninitialised output to write into.
 * Not here: anything backend-neutral about raw data — `cpuData` is CPU-only by design.
 */

import type { DType, TypedArray } from "./dtype.js";
import { scope } from "./memory.js";
import { assertValidShape, formatShape, shapesEqual } from "./shape.js";
import { emptyTensor, GradNode, isGradEnabled, noGrad, Tensor } from "./tensor.js";

export interface CustomOpContext {
  /** The inputs as passed to forward. */
  inputs: readonly Tensor[];
  output: Tensor;
  /** The extra tensors forward asked to save. */
  saved: readonly Tensor[];
  /** Which inputs need a gradient (return null for the others). */
  needsInputGrad: readonly boolean[];
}

export interface CustomOpDefinition {
  /** Used in error messages and graph inspection. */
  name: string;
  /** Compute the output (runs under noGrad, in a scope: intermediates not returned are disposed). */
  forward(...inputs: Tensor[]): Tensor | { output: Tensor; saved?: Tensor[] };
  /** One gradient per input, shaped like that input, or null where none flows. Runs under noGrad. */
  backward(gradOutput: Tensor, context: CustomOpContext): (Tensor | null)[];
}

/** Define a differentiable op from a forward and a backward. */
export function customOp(definition: CustomOpDefinition): (...inputs: Tensor[]) => Tensor {
  const { name } = definition;
  return (...inputs: Tensor[]): Tensor => {
    for (const input of inputs) input.view(name);
    const result = noGrad(() =>
      scope(() => {
        const value = definition.forward(...inputs);
        return value instanceof Tensor
          ? { output: value, saved: [] as Tensor[] }
          : { output: value.output, saved: value.saved ?? [] };
      }),
    );
    if (!(result.output instanceof Tensor)) {
      throw new Error(`[customOp ${name}] forward must return a Tensor or { output, saved }`);
    }
    const { saved } = result;
    // An input returned as the output gets its own view, so the input's autograd state is untouched.
    const output = inputs.includes(result.output) ? result.output.detach() : result.output;
    const recording = isGradEnabled() && inputs.some((input) => input.requiresGrad);
    if (recording) {
      const count = inputs.length;
      const savedTensors = [
        ...inputs.map((input) => input.alias()),
        output.alias(),
        ...saved.map((tensor) => tensor.alias()),
      ];
      const needsInputGrad = inputs.map((input) => input.requiresGrad);
      const shapes = inputs.map((input) => input.shape);
      output.requiresGrad = true;
      output.node = new GradNode(name, inputs, savedTensors, (gradOutput, aliases) => {
        const gradients = definition.backward(gradOutput, {
          inputs: aliases.slice(0, count),
          output: aliases[count],
          saved: aliases.slice(count + 1),
          needsInputGrad,
        });
        if (!Array.isArray(gradients) || gradients.length !== count) {
          throw new Error(`[customOp ${name}] backward returned ${gradients?.length} gradients for ${count} inputs`);
        }
        gradients.forEach((gradient, index) => {
          if (gradient && !shapesEqual(gradient.shape, shapes[index])) {
            throw new Error(
              `[customOp ${name}] backward gradient ${index} has shape ${formatShape(gradient.shape)}, expected ${formatShape(shapes[index])}`,
            );
          }
        });
        return gradients;
      });
    }
    for (const tensor of saved) if (tensor !== output) tensor.dispose();
    return output;
  };
}

/**
 * CPU backend only: a live view of a contiguous tensor's elements (Float32Array for float32, and so on).
 * Writes go to the tensor. The view is valid until the next tensor allocation (the wasm heap may grow), so
 * allocate outputs first, then take views. Call `.contiguous()` on strided tensors first.
 */
export function cpuData(tensor: Tensor): TypedArray {
  const host = hostMemory(tensor, "cpuData");
  if (!tensor.isContiguous) {
    throw new Error(
      `[cpuData] tensor of shape ${formatShape(tensor.shape)} is not contiguous; call .contiguous() first (or use cpuView)`,
    );
  }
  return host.subarray(tensor.offset, tensor.offset + tensor.size);
}

/** Where a tensor's elements live in host memory: element (i0, i1, …) is `data[offset + Σ i_k · strides[k]]`. */
export interface HostView {
  /** The whole storage (a live view, valid until the next tensor allocation). */
  readonly data: TypedArray;
  readonly offset: number;
  readonly strides: readonly number[];
}

/**
 * Like `cpuData` for any view, contiguous or not: the storage's elements with the view's offset and strides,
 * so a kernel can read a strided view (e.g. the first T rows of a preallocated KV cache) without a copy.
 */
export function cpuView(tensor: Tensor): HostView {
  return { data: hostMemory(tensor, "cpuView"), offset: tensor.offset, strides: tensor.strides };
}

/** Whether a tensor's backend exposes host memory (`cpuData` and `cpuView` work on it). */
export function hasHostMemory(tensor: Tensor): boolean {
  return tensor.backend.hostView !== undefined;
}

function hostMemory(tensor: Tensor, where: string): TypedArray {
  tensor.view(where);
  const hostView = tensor.backend.hostView;
  if (hostView === undefined) {
    throw new Error(
      `[${where}] tensor lives on backend "${tensor.backend.name}", whose memory the host cannot address; ${where} is for kernels over host memory (the CPU backend)`,
    );
  }
  return hostView.call(tensor.backend, tensor.storage.buffer);
}

/** An uninitialised contiguous tensor (fill it through `cpuData` on the CPU backend). */
export function empty(shape: readonly number[], options: { dtype?: DType } = {}): Tensor {
  assertValidShape("empty", shape);
  return emptyTensor(shape, options.dtype ?? "float32");
}
