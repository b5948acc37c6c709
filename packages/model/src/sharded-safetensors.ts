/**
 * Sharded safetensors checkpoints, in memory: the `model.safetensors.index.json` format
 * (`{ metadata: { total_size }, weight_map: { tensor: shard file } }`), splitting a state dict into shards of
 * at most a given size, and joining shards back with every tensor checked against the weight map.
 * File names follow the Hugging Face convention `model-00001-of-00003.safetensors`. This is browser-safe and
 * does no file I/O; safetensors-files.ts reads and writes these from a directory in Node.
 */
import { describeValue } from "./describe-value.js";
import {
  readSafetensors,
  type SafetensorsTensor,
  type WriteSafetensorsOptions,
  writeSafetensors,
} from "./safetensors.js";

/** The parsed `model.safetensors.index.json`. */
export interface SafetensorsIndex {
  /** Free-form metadata; `total_size` is the sum of the tensors' byte sizes. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Tensor name → shard file name (relative to the index's directory). */
  readonly weightMap: ReadonlyMap<string, string>;
}

/** The conventional file names of single-file and sharded checkpoints. */
export const SAFETENSORS_WEIGHTS_NAME = "model.safetensors";
export const SAFETENSORS_INDEX_NAME = "model.safetensors.index.json";

/** Default largest shard: 5 GB (decimal), as Hugging Face `save_pretrained` uses. */
export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;

const shardFileName = /^model-(\d{5})-of-(\d{5})\.safetensors$/;

function fail(source: string, message: string): never {
  throw new Error(`[safetensors] ${source}: ${message}`);
}

/**
 * Validates a parsed index JSON: `weight_map` must map tensor names to shard names that are plain
 * `*.safetensors` file names (no directories, so an index can never point outside its folder).
 */
export function parseSafetensorsIndex(json: unknown, source = SAFETENSORS_INDEX_NAME): SafetensorsIndex {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    fail(source, "the index must be a JSON object { metadata, weight_map }");
  }
  const { metadata = {}, weight_map: weightMapJson } = json as Record<string, unknown>;
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    fail(source, `"metadata" must be an object, got ${describeValue(metadata)}`);
  }
  if (typeof weightMapJson !== "object" || weightMapJson === null || Array.isArray(weightMapJson)) {
    fail(source, '"weight_map" is missing or not an object of { tensor name: shard file }');
  }
  const weightMap = new Map<string, string>();
  for (const [name, file] of Object.entries(weightMapJson)) {
    if (typeof file !== "string" || !isPlainShardName(file)) {
      fail(
        source,
        `"weight_map".${JSON.stringify(name)} is ${describeValue(file)}; expected a .safetensors file name in the same folder`,
      );
    }
    weightMap.set(name, file);
  }
  return { metadata: metadata as Record<string, unknown>, weightMap };
}

function isPlainShardName(file: string): boolean {
  return file.endsWith(".safetensors") && !file.includes("/") && !file.includes("\\") && file !== ".." && file !== ".";
}

/** The index as the JSON object written to `model.safetensors.index.json`. */
export function safetensorsIndexToJson(index: SafetensorsIndex): {
  metadata: Record<string, unknown>;
  weight_map: Record<string, string>;
} {
  return { metadata: { ...index.metadata }, weight_map: Object.fromEntries(index.weightMap) };
}

/** Options for sharding: the largest shard in bytes of tensor data, plus safetensors write options. */
export interface ShardSafetensorsOptions extends WriteSafetensorsOptions {
  /** Largest shard, in bytes of tensor data; a single tensor larger than this gets a shard of its own. */
  readonly maxShardBytes?: number;
}

/** Shards ready to store: file name → bytes, and the index (undefined when everything fits one file). */
export interface ShardedSafetensors {
  readonly files: Map<string, Uint8Array>;
  readonly index: SafetensorsIndex | undefined;
}

/**
 * Splits tensors into shards of at most `maxShardBytes` of data each (in the given order, greedily, as
 * Hugging Face does) and serializes them. One shard is stored as `model.safetensors` with no index; more
 * are `model-0000i-of-0000n.safetensors` with an index whose `metadata.total_size` is the data size.
 */
export function shardSafetensors(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  options: ShardSafetensorsOptions = {},
): ShardedSafetensors {
  const maxShardBytes = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  const source = options.source ?? SAFETENSORS_INDEX_NAME;
  if (!Number.isSafeInteger(maxShardBytes) || maxShardBytes <= 0) {
    fail(source, `maxShardBytes is ${maxShardBytes}; expected a positive integer number of bytes`);
  }
  const groups: [string, SafetensorsTensor][][] = [];
  let current: [string, SafetensorsTensor][] = [];
  let currentBytes = 0;
  let totalBytes = 0;
  for (const [name, tensor] of tensors) {
    const size = tensor.data.byteLength;
    if (current.length > 0 && currentBytes + size > maxShardBytes) {
      groups.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push([name, tensor]);
    currentBytes += size;
    totalBytes += size;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);
  if (groups.length > 99_999)
    fail(source, `${groups.length} shards exceed the 5-digit shard numbering; raise maxShardBytes`);
  const files = new Map<string, Uint8Array>();
  if (groups.length === 1) {
    const only = groups[0] ?? [];
    files.set(
      SAFETENSORS_WEIGHTS_NAME,
      writeSafetensors(new Map(only), { ...options, source: SAFETENSORS_WEIGHTS_NAME }),
    );
    return { files, index: undefined };
  }
  const weightMap = new Map<string, string>();
  const count = String(groups.length).padStart(5, "0");
  groups.forEach((group, position) => {
    const file = `model-${String(position + 1).padStart(5, "0")}-of-${count}.safetensors`;
    files.set(file, writeSafetensors(new Map(group), { ...options, source: file }));
    for (const [name] of group) weightMap.set(name, file);
  });
  return { files, index: { metadata: { total_size: totalBytes }, weightMap } };
}

/**
 * Joins shards into one tensor map, checking that every tensor of the weight map is in the shard it names,
 * that no shard holds a tensor the map does not list (or lists under another shard), and that the
 * weight map names no missing file. `readShard` returns a shard's bytes, or undefined when it is absent.
 */
export function joinSafetensorsShards(
  index: SafetensorsIndex,
  readShard: (file: string) => Uint8Array | ArrayBuffer | undefined,
  source = SAFETENSORS_INDEX_NAME,
): Map<string, SafetensorsTensor> {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const file of new Set(index.weightMap.values())) {
    const bytes = readShard(file);
    if (bytes === undefined) fail(source, `shard "${file}" named in "weight_map" is missing`);
    const shard = readSafetensors(bytes, { source: file });
    for (const [name, tensor] of shard.tensors) {
      const listed = index.weightMap.get(name);
      if (listed === undefined) fail(file, `tensor ${JSON.stringify(name)} is not listed in ${source}'s "weight_map"`);
      if (listed !== file)
        fail(file, `tensor ${JSON.stringify(name)} is listed in ${source} under shard "${listed}", not this one`);
      tensors.set(name, tensor);
    }
  }
  for (const [name, file] of index.weightMap) {
    if (!tensors.has(name))
      fail(source, `tensor ${JSON.stringify(name)} is listed under shard "${file}" but that shard lacks it`);
  }
  return tensors;
}

/** Whether `file` looks like a numbered shard of a sharded checkpoint (`model-00001-of-00002.safetensors`). */
export function isShardFileName(file: string): boolean {
  return shardFileName.test(file);
}
