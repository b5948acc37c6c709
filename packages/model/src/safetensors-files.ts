/**
 * Node-only file I/O for safetensors files, sharded checkpoints and config.json. `node:fs` is loaded lazily
 * inside each function (never imported statically), so this package bundles and loads in a browser; there,
 * read the bytes yourself and use readSafetensors / writeSafetensors. Every write is atomic: the bytes go to a temporary
 * file in the same folder, are flushed, then renamed over the target, so a crash never leaves a torn file.
 */
import { type MiniMindConfig, miniMindConfigToJson, parseMiniMindConfig } from "./config.js";
import {
  readSafetensors,
  type SafetensorsContents,
  type SafetensorsTensor,
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

type FileSystem = typeof import("node:fs/promises");
type Path = typeof import("node:path");

async function nodeModules(caller: string): Promise<{ fs: FileSystem; path: Path }> {
  try {
    const [fs, path] = await Promise.all([loadBuiltin<FileSystem>("node:fs/promises"), loadBuiltin<Path>("node:path")]);
    if (typeof fs.readFile !== "function" || typeof path.join !== "function") throw new Error("not Node.js");
    return { fs, path };
  } catch {
    throw new Error(
      `[safetensors] ${caller} needs Node.js file access; in a browser, fetch the bytes and use readSafetensors`,
    );
  }
}

/**
 * Loads a Node built-in without a static or literal import, so bundlers for the browser neither fail on it
 * nor pull it in: `process.getBuiltinModule` (Node ≥ 20.16), else a dynamic import of a computed name.
 */
async function loadBuiltin<Module>(name: string): Promise<Module> {
  const nodeProcess = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof nodeProcess?.getBuiltinModule === "function") {
    const loaded = nodeProcess.getBuiltinModule(name);
    if (loaded !== undefined) return loaded as Module;
  }
  return (await import(/* webpackIgnore: true */ /* @vite-ignore */ name)) as Module;
}

let temporaryCounter = 0;

/** Writes `bytes` to `target` atomically: temporary file in the same folder, fsync, rename. */
async function writeFileAtomically(fs: FileSystem, target: string, bytes: Uint8Array): Promise<void> {
  temporaryCounter += 1;
  const temporary = `${target}.${process.pid}.${temporaryCounter}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  let handle: Awaited<ReturnType<FileSystem["open"]>> | undefined;
  try {
    handle = await fs.open(temporary, "wx");
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(temporary, target);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await fs.rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}

function asBytes(buffer: Uint8Array): Uint8Array {
  // Node's Buffer is a Uint8Array view into a possibly shared pool; readSafetensors copies what it keeps.
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Reads and validates one safetensors file (Node). Errors name the file path. */
export async function readSafetensorsFile(file: string): Promise<SafetensorsContents> {
  const { fs } = await nodeModules("readSafetensorsFile");
  return readSafetensors(asBytes(await fs.readFile(file)), { source: file });
}

/** Writes one safetensors file atomically (Node). See writeSafetensors for the accepted dtypes. */
export async function writeSafetensorsFile(
  file: string,
  tensors: ReadonlyMap<string, SafetensorsTensor> | Readonly<Record<string, SafetensorsTensor>>,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  const { fs } = await nodeModules("writeSafetensorsFile");
  const bytes = writeSafetensors(tensors, { source: file, ...options });
  await writeFileAtomically(fs, file, bytes);
}

/**
 * Reads the weights of a checkpoint folder (Node): `model.safetensors` when present, else
 * `model.safetensors.index.json` and the shards it names, each checked against the weight map.
 */
export async function readSafetensorsCheckpoint(directory: string): Promise<Map<string, SafetensorsTensor>> {
  const { fs, path } = await nodeModules("readSafetensorsCheckpoint");
  const single = path.join(directory, SAFETENSORS_WEIGHTS_NAME);
  if (await exists(fs, single)) return (await readSafetensorsFile(single)).tensors;
  const indexFile = path.join(directory, SAFETENSORS_INDEX_NAME);
  if (!(await exists(fs, indexFile))) {
    throw new Error(
      `[safetensors] ${directory}: neither ${SAFETENSORS_WEIGHTS_NAME} nor ${SAFETENSORS_INDEX_NAME} is there; is this a checkpoint folder?`,
    );
  }
  const index = parseSafetensorsIndex(await readJsonFile(fs, indexFile, "safetensors"), indexFile);
  const shards = new Map<string, Uint8Array>();
  for (const file of new Set(index.weightMap.values())) {
    const shardPath = path.join(directory, file);
    if (await exists(fs, shardPath)) shards.set(file, asBytes(await fs.readFile(shardPath)));
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
  for (const [file, bytes] of files) await writeFileAtomically(fs, path.join(directory, file), bytes);
  const written = [...files.keys()];
  if (index !== undefined) {
    const json = `${JSON.stringify(safetensorsIndexToJson(index), null, 2)}\n`;
    await writeFileAtomically(fs, path.join(directory, SAFETENSORS_INDEX_NAME), new TextEncoder().encode(json));
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
  return parseMiniMindConfig(await readJsonFile(fs, file, "config"), file);
}

/** Writes a config as upstream `config.json` (Node), atomically. */
export async function writeMiniMindConfigFile(file: string, config: MiniMindConfig): Promise<void> {
  const { fs } = await nodeModules("writeMiniMindConfigFile");
  const json = `${JSON.stringify(miniMindConfigToJson(config), null, 2)}\n`;
  await writeFileAtomically(fs, file, new TextEncoder().encode(json));
}

async function exists(fs: FileSystem, file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

async function readJsonFile(fs: FileSystem, file: string, label: string): Promise<unknown> {
  const text = await fs.readFile(file, "utf8");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`[${label}] ${file}: not valid JSON (${(error as Error).message})`);
  }
}
