/**
 * Careful reads of untrusted paths (Node): only regular files are read, symbolic links are followed by the
 * operating system once and a loop is reported as one, devices, FIFOs, sockets and folders are refused by
 * path before they are opened (so `/dev/zero` is never read and a FIFO never blocks), sizes are known before
 * a byte is read and checked against a limit, and every file-system error comes back as one labelled line
 * naming the path and what was being loaded. Not a file-system abstraction: the weight and config readers'
 * needs only; the caller passes `node:fs/promises` in (see safetensors-files.ts for how it is loaded).
 */

type FileSystem = typeof import("node:fs/promises");
type FileHandle = Awaited<ReturnType<FileSystem["open"]>>;

/** How a read is labelled in errors: `[label] path: … (what)`, e.g. `[safetensors]` and "the weights". */
export interface ReadLabel {
  readonly label: string;
  readonly what: string;
}

/** What a file-system error code means, in words. */
const codeDescriptions: Readonly<Record<string, string>> = {
  ENOENT: "does not exist",
  ELOOP: "is a symbolic link loop (or a chain of too many links)",
  EACCES: "cannot be read: permission denied",
  EPERM: "cannot be read: operation not permitted",
  EISDIR: "is a folder, not a file",
  ENOTDIR: "cannot be reached: a part of the path is not a folder",
  ENAMETOOLONG: "cannot be reached: the path is too long",
  EMFILE: "cannot be opened: too many open files",
  EIO: "cannot be read: an input/output error",
};

/** Any error a file-system call threw, as one labelled line naming the path and what was being loaded. */
export function fileError(error: unknown, file: string, { label, what }: ReadLabel): Error {
  const code = (error as { code?: unknown } | null)?.code;
  const known = typeof code === "string" ? codeDescriptions[code] : undefined;
  const detail =
    known ??
    `cannot be read (${typeof code === "string" ? `${code}: ` : ""}${(error as Error | null)?.message ?? String(error)})`;
  return new Error(`[${label}] ${file} ${detail}; it was to hold ${what}`);
}

/** The kind of a non-regular file, for refusals. */
function kindOf(stats: import("node:fs").Stats): string {
  if (stats.isDirectory()) return "a folder";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  if (stats.isFIFO()) return "a FIFO (named pipe)";
  if (stats.isSocket()) return "a socket";
  return "not a regular file";
}

/** Whether anything at all is at `file`, a dangling or looping symbolic link included (lstat, not stat). */
export async function entryExists(fs: FileSystem, file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens `file` for reading when it is (after following symbolic links) a regular file of at most `maxBytes`
 * bytes; returns the handle and the size. The caller closes the handle.
 */
export async function openRegularFile(
  fs: FileSystem,
  file: string,
  label: ReadLabel,
  maxBytes: number,
): Promise<{ handle: FileHandle; size: number }> {
  let stats: import("node:fs").Stats;
  try {
    stats = await fs.stat(file);
  } catch (error) {
    throw fileError(error, file, label);
  }
  const refuse = (found: import("node:fs").Stats): never => {
    throw new Error(
      `[${label.label}] ${file} is ${kindOf(found)}, not a regular file; it was to hold ${label.what} (only regular files are read)`,
    );
  };
  if (!stats.isFile()) refuse(stats);
  let handle: FileHandle;
  try {
    // O_NONBLOCK: should the path have been swapped for a FIFO since the stat, opening it does not block.
    handle = await fs.open(file, (fs.constants?.O_RDONLY ?? 0) | (fs.constants?.O_NONBLOCK ?? 0));
  } catch (error) {
    throw fileError(error, file, label);
  }
  try {
    const opened = await handle.stat();
    if (!opened.isFile()) refuse(opened);
    if (opened.size > maxBytes) {
      throw new Error(
        `[${label.label}] ${file} is ${opened.size} bytes; at most ${maxBytes} are read for ${label.what}`,
      );
    }
    return { handle, size: opened.size };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/** Fills `target` from `position` on; a file that ends early (it shrank while read) is an error. */
export async function readExactly(
  handle: FileHandle,
  target: Uint8Array,
  position: number,
  file: string,
  label: ReadLabel,
): Promise<void> {
  let filled = 0;
  while (filled < target.byteLength) {
    let bytesRead: number;
    try {
      // at most 1 GiB a call: Node refuses single reads of 2 GiB or more
      const length = Math.min(target.byteLength - filled, 2 ** 30);
      ({ bytesRead } = await handle.read(target, filled, length, position + filled));
    } catch (error) {
      throw fileError(error, file, label);
    }
    if (bytesRead === 0) {
      throw new Error(
        `[${label.label}] ${file} ended after ${position + filled} bytes while it was read (it changed on disk); it was to hold ${label.what}`,
      );
    }
    filled += bytesRead;
  }
}

/** A new byte array of `size`, or a labelled error when the engine cannot allocate it. */
export function allocateBytes(size: number, file: string, label: ReadLabel): Uint8Array {
  try {
    return new Uint8Array(size);
  } catch {
    throw new Error(`[${label.label}] ${file}: cannot allocate ${size} bytes to read ${label.what}`);
  }
}

/** The whole of a regular file of at most `maxBytes` bytes. */
export async function readRegularFile(
  fs: FileSystem,
  file: string,
  label: ReadLabel,
  maxBytes: number,
): Promise<Uint8Array> {
  const { handle, size } = await openRegularFile(fs, file, label, maxBytes);
  try {
    const bytes = allocateBytes(size, file, label);
    await readExactly(handle, bytes, 0, file, label);
    return bytes;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** A regular file of at most `maxBytes` bytes as strict UTF-8 text. */
export async function readRegularTextFile(
  fs: FileSystem,
  file: string,
  label: ReadLabel,
  maxBytes: number,
): Promise<string> {
  const bytes = await readRegularFile(fs, file, label, maxBytes);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`[${label.label}] ${file} is not valid UTF-8 text; it was to hold ${label.what}`);
  }
}

/** The machine's memory in bytes (`os.totalmem()`), the ceiling for what one load may allocate. */
export function machineMemoryBytes(): number {
  const host = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const os = host?.getBuiltinModule?.("node:os") as { totalmem?: () => number } | undefined;
  const total = os?.totalmem?.();
  return typeof total === "number" && total > 0 ? total : Number.POSITIVE_INFINITY;
}
