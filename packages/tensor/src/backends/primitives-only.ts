/**
 * A backend that offers only the primitive kernels of another one: its buffers, readback and primitive
 * kernels are `base`'s, its fused kernels are absent (so every fused op runs its composition from
 * primitives) and it exposes no host memory (so code with a host-memory fast path, like the attention
 * kernel, takes its composed path too). It is what a new backend looks like on its first day, and the test
 * that the primitives suffice: the op suite, the conformance suite and the model's PyTorch parity run on it.
 * Not here: any kernel of its own.
 */
import { type Backend, type PrimitiveKernels, primitiveKernelNames } from "../backend.js";

/** `base` restricted to its primitive kernels, under `name` (register it with `registerBackend`). */
export function primitivesOnly(base: Backend, name = `${base.name}-primitives`): Backend {
  const kernels = {} as Record<keyof PrimitiveKernels, unknown>;
  for (const kernelName of primitiveKernelNames) {
    const implementation = base.kernels[kernelName];
    if (typeof implementation !== "function") {
      throw new Error(`[primitivesOnly] backend "${base.name}" lacks the primitive kernel "${kernelName}"`);
    }
    kernels[kernelName] = implementation.bind(base.kernels);
  }
  return {
    name,
    kernels: kernels as PrimitiveKernels,
    ...(base.synchronousReadback === undefined ? {} : { synchronousReadback: base.synchronousReadback }),
    supportsDType: (dtype) => base.supportsDType(dtype),
    allocate: (dtype, length, zeroed) => base.allocate(dtype, length, zeroed),
    free: (buffer) => base.free(buffer),
    write: (buffer, data) => base.write(buffer, data),
    read: (buffer) => base.read(buffer),
    readSync: (buffer) => base.readSync(buffer),
    memory: () => base.memory(),
  };
}
