/**
 * The development warning for `MiniMindForCausalLM.forward` called outside `scope` (issue #16): a forward pass
 * creates a hundred or more intermediate tensors, and outside any scope nothing disposes them — they wait for
 * the garbage collector's safety net. Where that happens, once per model, one `console.warn` names the count
 * and the fix. Not here: any change of behaviour (the pass runs and returns the same either way), and
 * production (`NODE_ENV=production` silences it and skips the counting).
 */
import { memory, scopeDepth, Tensor } from "@minimind/tensor";

const warned = new WeakSet<object>();

/** Development unless `process.env.NODE_ENV` is "production" (browsers without `process`: development). */
function isDevelopment(): boolean {
  const environment = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return environment?.NODE_ENV !== "production";
}

/**
 * Runs `compute` (one forward pass of `owner`). Outside any scope, in development, counts the tensors it leaves
 * alive besides those it returns, and warns once per `owner` if there are any.
 */
export function warnIfUnscoped<Result extends object>(owner: object, compute: () => Result): Result {
  if (scopeDepth() > 0 || warned.has(owner) || !isDevelopment()) return compute();
  const before = memory().tensors;
  const result = compute();
  const returned = new Set(Object.values(result).filter((value) => value instanceof Tensor)).size;
  const left = memory().tensors - before - returned;
  if (left > 0) {
    warned.add(owner);
    console.warn(
      `[MiniMindForCausalLM] forward() ran outside scope() and left ${left} intermediate tensors alive besides ` +
        "its results; nothing disposes them (only the garbage collector, eventually). Call it inside scope(() => …) " +
        "from @minimind/tensor and return or keep() what you need. (Shown once per model in development; " +
        "NODE_ENV=production silences it.)",
    );
  }
  return result;
}
