/**
 * Node built-ins for this package's file helpers, loaded without a static import so that the package still
 * bundles and loads in a browser (where the helpers fail with a message saying what to use instead), and an
 * atomic file write. Not a file-system abstraction: only what the `*File` helpers need.
 */

export type FileSystem = typeof import("node:fs/promises");
export type Path = typeof import("node:path");

/**
 * A Node built-in by name, neither statically nor literally imported, so browser bundlers ignore it:
 * `process.getBuiltinModule` where Node has it (≥ 20.16), else a dynamic import of a computed specifier.
 */
export async function loadNodeBuiltin<Module>(specifier: string): Promise<Module> {
  const host = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const builtin = host?.getBuiltinModule?.(specifier);
  if (builtin !== undefined) return builtin as Module;
  return (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as Module;
}

/** node:fs/promises and node:path, or an Error `[label] caller needs Node.js file access; …instead`. */
export async function nodeFileAccess(
  label: string,
  caller: string,
  instead: string,
): Promise<{ fs: FileSystem; path: Path }> {
  try {
    const fs = await loadNodeBuiltin<FileSystem>("node:fs/promises");
    const path = await loadNodeBuiltin<Path>("node:path");
    if (typeof fs.readFile === "function" && typeof path.join === "function") return { fs, path };
  } catch {
    // fall through to the message below
  }
  throw new Error(`[${label}] ${caller} needs Node.js file access; in a browser, ${instead}`);
}

let sequence = 0;

/**
 * Replaces `target` with `bytes` so that readers see the old file or the new one, never a torn one: the bytes
 * go to a new temporary file beside the target, are flushed to disk, then renamed over it. On failure the
 * temporary file is removed and the target is untouched.
 */
export async function replaceFileAtomically(fs: FileSystem, target: string, bytes: Uint8Array): Promise<void> {
  sequence += 1;
  const suffix = `${Date.now().toString(36)}-${sequence}-${Math.random().toString(36).slice(2, 8)}`;
  const temporary = `${target}.${suffix}.partial`;
  const handle = await fs.open(temporary, "wx");
  let closed = false;
  try {
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    closed = true;
    await fs.rename(temporary, target);
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined);
    await fs.rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}
