/**
 * Node-only file I/O for safetensors files, sharded checkpoints and config.json. `node:fs` is loaded lazily
 * inside each function (never imported statically), so this package bundles and loads in a browser; there,
 * read the bytes yourself and use readSafetensors / writeSafetensors. Reads are careful (regular-files.ts):
 * regular files only, sizes and headers checked before the data is read, JSON files bounded in size and refused
 * when a key appears twice, every file-system error labelled with its path. Every write is atomic: the bytes go
 * to a temporary file in the same folder, are flushed, then renamed over the target, so a crash never leaves a
 * torn file.
 */
import { type MiniMindConfig, miniMindConfigToJson, parseMiniMindConfig } from "./config.js";
import { type FileSystem, nodeFileAccess, type Path, replaceFileAtomically } from "./node-files.js";
import {
  allocateBytes,
  entryExists,
  fileError,
  machineMemoryBytes,
  openRegularFile,
  type ReadLabel,
  readExactly,
  readRegularTextFile,
} from "./regular-files.js";
import {
  parseSafetensorsHeader,
  readSafetensors,
  type SafetensorsContents,
  type SafetensorsTensor,
  safetensorsHeaderLength,
  type WriteSafetensorsOptions,
  writeSafetensors,
} from "./safetensors.js";
import {
  isShardFileName,
  joinSafetensorsShards,
  parseSafetensorsIndex,
  SAFETENSORS_INDEX_NAME,
  SAFETENSORS_WEIGHTS_NAME,
  type ShardSafetensorsOptions,
  safetensorsIndexToJson,
  shardSafetensors,
} from "./sharded-safetensors.js";
import { findDuplicateJsonKey } from "./strict-json.js";

/** node:fs/promises and node:path, loaded lazily (node-files.ts), or an error saying what to use in a browser. */
function nodeModules(caller: string): Promise<{ fs: FileSystem; path: Path }> {
  return nodeFileAccess("safetensors", caller, "fetch the bytes and use readSafetensors");
}

/** The largest `config.json` read: 16 MiB (upstream's is under 2 KB). */
const MAX_CONFIG_FILE_BYTES = 16 * 2 ** 20;
/** The largest `model.safetensors.index.json` read: 64 MiB (a 1,000-layer index is about 1 MB). */
const MAX_INDEX_FILE_BYTES = 64 * 2 ** 20;

const weightsLabel: ReadLabel = { label: "safetensors", what: "safetensors weights" };

/**
 * The bytes of one safetensors file, read with care: a regular file only (symbolic links followed once,
 * loops, folders, devices and FIFOs refused by path), at most the machine's memory, and its header checked
 * against the file's size before any tensor byte is read.
 */
async function readSafetensorsBytes(fs: FileSystem, file: string): Promise<Uint8Array> {
  const { handle, size } = await openRegularFile(fs, file, weightsLabel, machineMemoryBytes());
  try {
    const first8 = new Uint8Array(Math.min(8, size));
    await readExactly(handle, first8, 0, file, weightsLabel);
    const headerBytes = safetensorsHeaderLength(first8, size, file);
    const bytes = allocateBytes(size, file, weightsLabel);
    bytes.set(first8);
    await readExactly(handle, bytes.subarray(8, 8 + headerBytes), 8, file, weightsLabel);
    parseSafetensorsHeader(bytes.subarray(0, 8 + headerBytes), size, file); // offsets against the size, first
    await readExactly(handle, bytes.subarray(8 + headerBytes), 8 + headerBytes, file, weightsLabel);
    return bytes;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Reads and validates one safetensors file (Node). Only a regular file is read (see readSafetensorsBytes);
 * errors name the file path.
 */
export async function readSafetensorsFile(file: string): Promise<SafetensorsContents> {
  const { fs } = await nodeModules("readSafetensorsFile");
  return readSafetensors(await readSafetensorsBytes(fs, file), { source: file });
}

/** Writes one safetensors file atomically (Node). See writeSafetensors for the accepted dtypes. */
export async function writeSafetensorsFile(
  file: string,
  tensors: ReadonlyMap<string, SafetensorsTensor> | Readonly<Record<string, SafetensorsTensor>>,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  const { fs } = await nodeModules("writeSafetensorsFile");
  const bytes = writeSafetensors(tensors, { source: file, ...options });
  await replaceFileAtomically(fs, file, bytes);
}

/**
 * Reads the weights of a checkpoint folder (Node): `model.safetensors` when present, else
 * `model.safetensors.index.json` and the shards it names, each checked against the weight map.
 */
export async function readSafetensorsCheckpoint(directory: string): Promise<Map<string, SafetensorsTensor>> {
  const { fs, path } = await nodeModules("readSafetensorsCheckpoint");
  if (typeof directory !== "string" || directory === "")
    throw new Error(`[safetensors] readSafetensorsCheckpoint: the folder is ${String(directory)}; expected a path`);
  const single = path.join(directory, SAFETENSORS_WEIGHTS_NAME);
  // lstat: a symbolic link that loops or dangles is "there", and reading it says what is wrong with it.
  if (await entryExists(fs, single))
    return readSafetensors(await readSafetensorsBytes(fs, single), { source: single }).tensors;
  const indexFile = path.join(directory, SAFETENSORS_INDEX_NAME);
  if (!(await entryExists(fs, indexFile))) {
    await checkFolder(fs, directory);
    throw new Error(
      `[safetensors] ${directory}: neither ${SAFETENSORS_WEIGHTS_NAME} nor ${SAFETENSORS_INDEX_NAME} is there; is this a checkpoint folder?`,
    );
  }
  const index = parseSafetensorsIndex(
    await readJsonFile(fs, indexFile, { label: "safetensors", what: "the shard index" }, MAX_INDEX_FILE_BYTES),
    indexFile,
  );
  const shards = new Map<string, Uint8Array>();
  for (const file of new Set(index.weightMap.values())) {
    const shardPath = path.join(directory, file);
    if (await entryExists(fs, shardPath)) shards.set(file, await readSafetensorsBytes(fs, shardPath));
  }
  return joinSafetensorsShards(index, (file) => shards.get(file), indexFile);
}

/**
 * Writes tensors as a checkpoint folder's weights (Node): one `model.safetensors`, or shards of at most
 * `maxShardBytes` plus `model.safetensors.index.json`. Each file is written atomically, the index last;
 * weight files of an earlier save in that folder (`model.safetensors`, its index, `model-*-of-*` shards)
 * that the new save does not use are removed afterwards, so the folder never mixes two checkpoints.
 * Returns the names of the files written.
 */
export async function writeSafetensorsCheckpoint(
  directory: string,
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  options: ShardSafetensorsOptions = {},
): Promise<string[]> {
  const { fs, path } = await nodeModules("writeSafetensorsCheckpoint");
  const { files, index } = shardSafetensors(tensors, options);
  await fs.mkdir(directory, { recursive: true });
  for (const [file, bytes] of files) await replaceFileAtomically(fs, path.join(directory, file), bytes);
  const written = [...files.keys()];
  if (index !== undefined) {
    const json = `${JSON.stringify(safetensorsIndexToJson(index), null, 2)}\n`;
    await replaceFileAtomically(fs, path.join(directory, SAFETENSORS_INDEX_NAME), new TextEncoder().encode(json));
    written.push(SAFETENSORS_INDEX_NAME);
  }
  for (const entry of await fs.readdir(directory)) {
    const isWeightFile =
      entry === SAFETENSORS_WEIGHTS_NAME || entry === SAFETENSORS_INDEX_NAME || isShardFileName(entry);
    if (isWeightFile && !written.includes(entry)) await fs.rm(path.join(directory, entry), { force: true });
  }
  return written;
}

/** Reads and parses a `config.json` (Node); errors name the file and the field. */
export async function readMiniMindConfigFile(file: string): Promise<MiniMindConfig> {
  const { fs } = await nodeModules("readMiniMindConfigFile");
  const json = await readJsonFile(fs, file, { label: "config", what: "the model's config" }, MAX_CONFIG_FILE_BYTES);
  return parseMiniMindConfig(json, file);
}

/** Writes a config as upstream `config.json` (Node), atomically. */
export async function writeMiniMindConfigFile(file: string, config: MiniMindConfig): Promise<void> {
  const { fs } = await nodeModules("writeMiniMindConfigFile");
  const json = `${JSON.stringify(miniMindConfigToJson(config), null, 2)}\n`;
  await replaceFileAtomically(fs, file, new TextEncoder().encode(json));
}

/** A labelled error unless `directory` is a folder that can be read. */
async function checkFolder(fs: FileSystem, directory: string): Promise<void> {
  let isFolder: boolean;
  try {
    isFolder = (await fs.stat(directory)).isDirectory();
  } catch (error) {
    throw fileError(error, directory, { label: "safetensors", what: "a checkpoint (a folder)" });
  }
  if (!isFolder) throw new Error(`[safetensors] ${directory} is a file; a checkpoint is a folder`);
}

/**
 * A small JSON file, read as a regular file of at most `maxBytes`, strict UTF-8, and refused when one object
 * holds a key twice (`JSON.parse` would silently keep the last).
 */
async function readJsonFile(fs: FileSystem, file: string, label: ReadLabel, maxBytes: number): Promise<unknown> {
  const text = await readRegularTextFile(fs, file, label, maxBytes);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`[${label.label}] ${file}: not valid JSON (${(error as Error).message})`);
  }
  const duplicate = findDuplicateJsonKey(text);
  if (duplicate !== undefined) {
    const where = duplicate.path === "" ? "the top-level object" : `"${duplicate.path}"`;
    throw new Error(
      `[${label.label}] ${file}: key "${duplicate.key}" appears twice in ${where}; JSON.parse would silently keep the last, so the file is refused`,
    );
  }
  return json;
}
