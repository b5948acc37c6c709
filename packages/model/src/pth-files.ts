/**
 * Node-only file helpers for PyTorch checkpoints: read a `.pth` file (deflated zip entries included, through
 * node:zlib), find the checkpoint in a folder, and write a `.pth` file atomically. Node built-ins are loaded
 * lazily (node-files.ts), so the package still loads in a browser; there, read the bytes yourself and use
 * readPth / writePth. This does no conversion and knows nothing of configs.
 */
import { loadNodeBuiltin, nodeFileAccess, replaceFileAtomically } from "./node-files.js";
import { type PthContents, type ReadPthOptions, readPth } from "./pth.js";
import { type WritePthOptions, writePth } from "./pth-writer.js";
import type { InflateRaw } from "./pytorch-zip.js";
import { fileError, machineMemoryBytes, type ReadLabel, readRegularFile } from "./regular-files.js";
import type { SafetensorsTensor } from "./safetensors.js";

type Zlib = typeof import("node:zlib");

const useInstead = "fetch the bytes and use readPth / writePth";
const pthLabel: ReadLabel = { label: "pth", what: "PyTorch weights" };

/** Options for reading a file: where the state dict is (see ReadPthOptions.key). */
export type ReadPthFileOptions = Pick<ReadPthOptions, "key">;

async function zlibInflateRaw(): Promise<InflateRaw> {
  const zlib = await loadNodeBuiltin<Zlib>("node:zlib");
  return (data, maxOutputLength) => zlib.inflateRawSync(data, { maxOutputLength });
}

/**
 * Reads the state dict of a `.pth` file (Node). Only a regular file is read (symbolic links followed, folders,
 * devices and FIFOs refused by path, at most the machine's memory); errors name the file path.
 */
export async function readPthFile(file: string, options: ReadPthFileOptions = {}): Promise<PthContents> {
  const { fs } = await nodeFileAccess("pth", "readPthFile", useInstead);
  const bytes = await readRegularFile(fs, file, pthLabel, machineMemoryBytes());
  return readPth(bytes, { ...options, source: file, inflateRaw: await zlibInflateRaw() });
}

/**
 * The checkpoint a path names (Node): the path itself when it is a file, else the one `.pth` file in that
 * folder. Upstream's `*_resume.pth` files are passed over when the folder has another `.pth`; two or more
 * candidates are an error listing them.
 */
export async function findPthFile(fileOrDirectory: string): Promise<string> {
  const { fs, path } = await nodeFileAccess("pth", "findPthFile", useInstead);
  const stat = await fs.stat(fileOrDirectory).catch((error: unknown) => {
    throw fileError(error, fileOrDirectory, pthLabel);
  });
  if (!stat.isDirectory()) return fileOrDirectory;
  const candidates = (await fs.readdir(fileOrDirectory)).filter((entry) => entry.endsWith(".pth")).sort();
  const weights = candidates.filter((entry) => !entry.endsWith("_resume.pth"));
  const chosen = weights.length > 0 ? weights : candidates;
  if (chosen.length === 1) return path.join(fileOrDirectory, chosen[0] as string);
  throw new Error(
    chosen.length === 0
      ? `[pth] ${fileOrDirectory}: there is no .pth file in this folder`
      : `[pth] ${fileOrDirectory}: several .pth files (${chosen.join(", ")}); name the one to read`,
  );
}

/** The archive folder name torch gives a file: its name without the extension, when that is a plain name. */
function archiveNameFor(file: string, basename: (file: string) => string): string {
  const stem = basename(file).replace(/\.[^.]*$/, "");
  return /^[A-Za-z0-9_.-]+$/.test(stem) ? stem : "archive";
}

/**
 * Writes a state dict as a `.pth` file in upstream's layout (Node), atomically; see writePth for the dtypes
 * and for tied weights. The zip's folder is the file's name without its extension, as torch.save names it.
 */
export async function writePthFile(
  file: string,
  tensors: ReadonlyMap<string, SafetensorsTensor> | Readonly<Record<string, SafetensorsTensor>>,
  options: Pick<WritePthOptions, "archiveName"> = {},
): Promise<void> {
  const { fs, path } = await nodeFileAccess("pth", "writePthFile", useInstead);
  const archiveName = options.archiveName ?? archiveNameFor(file, path.basename);
  await replaceFileAtomically(fs, file, writePth(tensors, { source: file, archiveName }));
}
