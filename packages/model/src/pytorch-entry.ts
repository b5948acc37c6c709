/**
 * @minimind/model/pytorch — PyTorch checkpoints without PyTorch: `torch.save` files (zip, and the legacy
 * format) read through a restricted unpickler that executes nothing and refuses every global a state dict does
 * not use, and `.pth` files written in upstream MiniMind's layout. Only what is exported here is public.
 * Whole models load and save through the main entry (`fromPretrained("model.pth")`,
 * `savePretrained(dir, { format: "pth" })`).
 */

export type { PickleKey, PickleValue } from "./pickle-values.js";
export { PickleDict, PickleGlobal, PickleTuple, StorageReference, TensorReference } from "./pickle-values.js";
export type { PthArchive, PthContents, ReadPthOptions } from "./pth.js";
export { openPth, readPth } from "./pth.js";
export type { ReadPthFileOptions } from "./pth-files.js";
export { findPthFile, readPthFile, writePthFile } from "./pth-files.js";
export type { WritePthOptions } from "./pth-writer.js";
export { withTiedLmHead, writePth } from "./pth-writer.js";
export type { InflateRaw } from "./pytorch-zip.js";
