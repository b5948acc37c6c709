/**
 * What a single-threaded kernel module over the pooled wasm heap needs (transcendental.ts today):
 * instantiating a module of functions against the heap's memory, once, and turning (heap block, element
 * offset) operands into checked byte addresses.
 */
import { getHeap, type HeapBlock } from "./heap.js";
import { type FunctionBuilder, ModuleBuilder } from "./wasm-emitter.js";

/** An operand in place: elements [offset, offset + length) of a heap block. */
export interface Operand {
  block: HeapBlock;
  offset: number;
}

/** A module of `functions` compiled and instantiated now on the heap's memory; its exports typed as `Exports`. */
export function instantiateOnHeap<Exports>(functions: readonly FunctionBuilder[]): Exports {
  const heap = getHeap();
  const module = new ModuleBuilder(heap.shared);
  for (const f of functions) module.add(f);
  const compiled = new WebAssembly.Module(module.encode() as BufferSource);
  return new WebAssembly.Instance(compiled, { env: { memory: heap.memory } }).exports as unknown as Exports;
}

/** A lazily built module of `functions` on the heap's memory; its exports typed as `Exports`. */
export function heapModule<Exports>(functions: () => readonly FunctionBuilder[]): () => Exports {
  let exports: Exports | null = null;
  return () => {
    exports ??= instantiateOnHeap<Exports>(functions());
    return exports;
  };
}

/** The byte address of `operand`, after checking that `length` elements from its offset lie in its block. */
export function operandAddress(kernel: string, name: string, operand: Operand, length: number): number {
  const { block, offset } = operand;
  if (!Number.isInteger(offset) || offset < 0 || offset + length > block.length) {
    throw new Error(
      `[${kernel}] operand ${name} has ${block.length} elements; cannot use ${length} from offset ${offset}`,
    );
  }
  return block.ptr + offset * 4;
}

export function checkLength(kernel: string, length: number): void {
  if (!Number.isInteger(length) || length < 0) {
    throw new Error(`[${kernel}] length ${length} must be a non-negative integer`);
  }
}
