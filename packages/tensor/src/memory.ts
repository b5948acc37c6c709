/**
 * Deterministic memory management, in three rules:
 *  1. Storage is reference-counted: views share their base's storage, and the storage goes back to the
 *     backend's pool when the last tensor (or autograd node) holding it is disposed.
 *  2. `scope(fn)` disposes every tensor created while `fn` runs, except the tensors it returns (found in
 *     arrays and plain objects, which move to the enclosing scope) and tensors passed to `keep()`.
 *     Scopes nest; an exception inside a scope disposes everything the scope created, then rethrows.
 *  3. Autograd keeps what backward needs alive by itself (its own references), and frees it as soon as
 *     `backward()` has passed through, or when the graph's output is disposed without a backward.
 * A FinalizationRegistry releases the storage of tensors that were garbage-collected without a dispose, as
 * a safety net only — use scopes or `dispose()` for deterministic release. A tensor joins it only once no scope
 * will dispose it (created outside every scope, kept, or returned from the outermost one): registering every
 * short-lived tensor of a scoped forward pass cost more than the op itself (≈ 2 µs and GC work per tensor).
 * Not here: the storage itself (tensor.ts) and pooling (the backends).
 */

/** Something a scope can dispose. */
export interface Trackable {
  dispose(): void;
  /** Set by `keep()`: the caller owns it, no scope disposes it. */
  kept: boolean;
  /**
   * Called when the item leaves scope control — `keep()`, or returned from the outermost scope — so it can arm
   * its garbage-collection safety net, which a scoped item does not need (its scope disposes it).
   */
  escapeScopes?(): void;
}

const scopeStack: Trackable[][] = [];

/**
 * Record a new object in the innermost active scope. Returns false outside scopes (nothing will dispose the
 * item: the caller arms its own safety net).
 */
export function track(item: Trackable): boolean {
  const top = scopeStack[scopeStack.length - 1];
  if (top === undefined) return false;
  top.push(item);
  return true;
}

function isTrackable(value: unknown): value is Trackable {
  return (
    typeof value === "object" && value !== null && typeof (value as Trackable).dispose === "function" && "kept" in value
  );
}

function collectReturned(value: unknown, found: Set<Trackable>, depth: number): void {
  if (depth > 8 || typeof value !== "object" || value === null) return;
  if (isTrackable(value)) {
    found.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collectReturned(item, found, depth + 1);
    return;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === null) {
    for (const item of Object.values(value)) collectReturned(item, found, depth + 1);
  }
}

/**
 * Run `fn` and dispose every tensor it created except those it returns or `keep()`s. Returned tensors are
 * handed to the enclosing scope (or to the caller, outside any scope). `fn` must be synchronous: a scope
 * cannot follow tensors across `await`.
 */
export function scope<T>(fn: () => T): T {
  const created: Trackable[] = [];
  scopeStack.push(created);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopeStack.pop();
    for (const item of created) if (!item.kept) item.dispose();
    throw error;
  }
  scopeStack.pop();
  if (result instanceof Promise) {
    for (const item of created) if (!item.kept) item.dispose();
    throw new Error(
      "[scope] the function returned a Promise; scopes are synchronous — await outside and scope the sync parts",
    );
  }
  const returned = new Set<Trackable>();
  collectReturned(result, returned, 0);
  const parent = scopeStack[scopeStack.length - 1];
  for (const item of created) {
    if (item.kept) continue;
    if (!returned.has(item)) item.dispose();
    else if (parent !== undefined) parent.push(item);
    else item.escapeScopes?.();
  }
  return result;
}

/** Exempt a tensor (or several) from every scope: the caller now owns it and must `dispose()` it. */
export function keep<T extends Trackable | readonly Trackable[]>(items: T): T {
  for (const item of (Array.isArray(items) ? items : [items]) as readonly Trackable[]) {
    if (item.kept) continue;
    item.kept = true;
    item.escapeScopes?.();
  }
  return items;
}

/** Number of scopes open now: 0 outside any `scope` (libraries use it to warn about work that leaks). */
export function scopeDepth(): number {
  return scopeStack.length;
}
