/**
 * Checkpoint folders laid out like Hugging Face Trainer's: `<root>/checkpoint-<step>/` holding the files
 * the trainer hands over (model.safetensors, config.json, optimizer.safetensors, …) and
 * `trainer_state.json` (step, data position, RNG seeds, metrics, and every file's byte count and SHA-256).
 * A checkpoint is written into a temporary folder, each file flushed to disk, then renamed into place in one
 * step, so a crash leaves either the whole new checkpoint or none (and the previous ones untouched);
 * `keepLast` removes the oldest. Reading checks every file against trainer_state.json and refuses a
 * truncated or corrupted checkpoint with an error naming the file and the fault. Not here: what the files
 * contain (trainer.ts). Node only.
 */
import { createHash } from "node:crypto";
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";

export const TRAINER_STATE_NAME = "trainer_state.json";
export const CHECKPOINT_FORMAT = "minimind-ts-trainer/1";

/** A file's size and digest as trainer_state.json records them. */
export interface CheckpointFileRecord {
  readonly bytes: number;
  readonly sha256: string;
}

/** trainer_state.json: the trainer's fields plus the file records this module adds and checks. */
export interface CheckpointState {
  readonly format: string;
  readonly global_step: number;
  readonly files: Readonly<Record<string, CheckpointFileRecord>>;
  readonly [field: string]: unknown;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function writeDurably(file: string, bytes: Uint8Array): void {
  const descriptor = openSync(file, "w");
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(descriptor, bytes, written, bytes.length - written);
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}

function syncDirectory(directory: string): void {
  try {
    const descriptor = openSync(directory, "r");
    try {
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic there.
  }
}

/** The folder name of a step's checkpoint. */
export function checkpointName(step: number): string {
  return `checkpoint-${step}`;
}

/** Steps of the complete checkpoints under `root`, ascending (temporary folders are ignored). */
export async function listCheckpoints(root: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return names
    .map((name) => /^checkpoint-(\d+)$/.exec(name)?.[1])
    .filter((step): step is string => step !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

export interface WriteCheckpointOptions {
  /** Keep only the newest N checkpoints (default: keep all). */
  readonly keepLast?: number;
}

/**
 * Writes `checkpoint-<step>` under `root` atomically (temporary folder, fsync, rename) and prunes to
 * `keepLast`. `state` must not contain `files` or `format`; they are added. Returns the folder.
 */
export async function writeCheckpoint(
  root: string,
  step: number,
  files: ReadonlyMap<string, Uint8Array>,
  state: Readonly<Record<string, unknown>>,
  options: WriteCheckpointOptions = {},
): Promise<string> {
  if (options.keepLast !== undefined && !(Number.isInteger(options.keepLast) && options.keepLast >= 1)) {
    throw new RangeError(`[checkpoint] keepLast is ${options.keepLast}; use an integer ≥ 1`);
  }
  await mkdir(root, { recursive: true });
  const final = join(root, checkpointName(step));
  const temporary = join(root, `.${checkpointName(step)}.tmp-${process.pid}`);
  await rm(temporary, { recursive: true, force: true });
  await mkdir(temporary);
  try {
    const records: Record<string, CheckpointFileRecord> = {};
    for (const [name, bytes] of files) {
      if (name === TRAINER_STATE_NAME || name.includes("/") || name.startsWith(".")) {
        throw new Error(`[checkpoint] file name "${name}" is not allowed`);
      }
      writeDurably(join(temporary, name), bytes);
      records[name] = { bytes: bytes.length, sha256: sha256(bytes) };
    }
    const fullState: CheckpointState = { ...state, format: CHECKPOINT_FORMAT, global_step: step, files: records };
    const stateBytes = new TextEncoder().encode(`${JSON.stringify(fullState, null, 2)}\n`);
    writeDurably(join(temporary, TRAINER_STATE_NAME), stateBytes);
    syncDirectory(temporary);
  } catch (error) {
    // Nothing was renamed: the previous checkpoints are untouched; drop the partial folder.
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
  // Replacing a checkpoint of the same step (a resumed run saving again): move the old one aside first.
  const previous = join(root, `.${checkpointName(step)}.old-${process.pid}`);
  let movedAside = false;
  try {
    await stat(final);
    await rename(final, previous);
    movedAside = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await rename(temporary, final);
  syncDirectory(root);
  if (movedAside) await rm(previous, { recursive: true, force: true });
  if (options.keepLast !== undefined) {
    const steps = await listCheckpoints(root);
    for (const old of steps.slice(0, Math.max(steps.length - options.keepLast, 0))) {
      if (old !== step) await rm(join(root, checkpointName(old)), { recursive: true, force: true });
    }
  }
  return final;
}

/** A checkpoint read back and verified: its state and every file's bytes. */
export interface LoadedCheckpoint {
  readonly directory: string;
  readonly state: CheckpointState;
  readonly files: ReadonlyMap<string, Uint8Array>;
}

/**
 * Reads and verifies a checkpoint folder: trainer_state.json must parse and name this format, and every
 * file it lists must exist with the recorded size and SHA-256. Throws `CheckpointError` naming the file.
 */
export async function readCheckpoint(directory: string): Promise<LoadedCheckpoint> {
  const stateFile = join(directory, TRAINER_STATE_NAME);
  let text: string;
  try {
    text = await readFile(stateFile, "utf8");
  } catch (error) {
    throw new CheckpointError(
      `[checkpoint] ${stateFile}: cannot read (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
  let state: CheckpointState;
  try {
    state = JSON.parse(text) as CheckpointState;
  } catch (error) {
    throw new CheckpointError(
      `[checkpoint] ${stateFile}: not valid JSON (${(error as Error).message}); the file is truncated or corrupted`,
    );
  }
  if (typeof state !== "object" || state === null || state.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`[checkpoint] ${stateFile}: format is not "${CHECKPOINT_FORMAT}"`);
  }
  if (!Number.isInteger(state.global_step) || typeof state.files !== "object" || state.files === null) {
    throw new CheckpointError(`[checkpoint] ${stateFile}: global_step or files is missing or invalid`);
  }
  const files = new Map<string, Uint8Array>();
  for (const [name, record] of Object.entries(state.files)) {
    const file = join(directory, name);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch (error) {
      throw new CheckpointError(
        `[checkpoint] ${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? error})`,
      );
    }
    if (bytes.length !== record.bytes) {
      throw new CheckpointError(
        `[checkpoint] ${file}: ${bytes.length} bytes where ${TRAINER_STATE_NAME} records ${record.bytes}; the file is ${bytes.length < record.bytes ? "truncated" : "corrupted"}`,
      );
    }
    if (sha256(bytes) !== record.sha256) {
      throw new CheckpointError(
        `[checkpoint] ${file}: SHA-256 differs from the one ${TRAINER_STATE_NAME} records; the file is corrupted`,
      );
    }
    files.set(name, bytes);
  }
  return { directory, state, files };
}

/** The newest checkpoint folder under `root`, or undefined when there is none. */
export async function latestCheckpoint(root: string): Promise<string | undefined> {
  const steps = await listCheckpoints(root);
  const last = steps[steps.length - 1];
  return last === undefined ? undefined : join(root, checkpointName(last));
}
