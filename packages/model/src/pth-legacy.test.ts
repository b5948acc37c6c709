/**
 * The legacy (pre-1.6) torch.save format, read through readPth: hand-built files (views, a shared storage,
 * two dtypes), every fault of the layout named, foreign globals refused as in the zip format; files PyTorch
 * writes with `_use_new_zipfile_serialization=False` are read in pth-torch.test.ts.
 */
import { describe, expect, it } from "vitest";
import { floatBytes, global, legacyFile, op, tensor, text, tuple } from "./__fixtures__/pickle-bytes.js";
import { readPth } from "./pth.js";

const storage = floatBytes([0, 1, 2, 3, 4, 5]);
const half = new Uint8Array(new Uint16Array([0x3c00, 0x4000]).buffer); // 1, 2 in float16

function stateDict(...entries: number[][]): number[] {
  return [...op.proto2, ...op.emptyDict, ...op.mark, ...entries.flat(), ...op.setItems, ...op.stop];
}

const pickle = stateDict(
  text("w"),
  tensor("FloatStorage", "140001", 6, 0, [2, 3], [3, 1], true),
  text("w_t"),
  tensor("FloatStorage", "140001", 6, 0, [3, 2], [1, 3], true),
  text("h"),
  tensor("HalfStorage", "140002", 2, 0, [2], [1], true),
);

describe("legacy torch.save files", () => {
  it("read to the same tensors as the zip format gives: views, a shared storage, two dtypes", () => {
    const file = legacyFile(pickle, [
      ["140001", 6, storage],
      ["140002", 2, half],
    ]);
    const { tensors } = readPth(file, { source: "old.pth" });
    expect(tensors).toEqual(
      new Map([
        ["w", { dtype: "F32", shape: [2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) }],
        ["w_t", { dtype: "F32", shape: [3, 2], data: new Float32Array([0, 3, 1, 4, 2, 5]) }],
        ["h", { dtype: "F16", shape: [2], data: new Uint16Array([0x3c00, 0x4000]) }],
      ]),
    );
  });

  it("names each fault of the layout", () => {
    const first = ["140001", 6, storage] as const;
    const second = ["140002", 2, half] as const;
    const both = [first, second];
    const read = (bytes: Uint8Array) => () => readPth(bytes, { source: "old.pth" });
    expect(read(legacyFile(pickle, both, { magic: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }))).toThrow(
      "[pth] old.pth: the file starts like a legacy torch.save file but its magic number is wrong",
    );
    expect(read(legacyFile(pickle, both, { littleEndian: false }))).toThrow(
      "[pth] old.pth: the legacy header does not say little_endian: True; only little-endian files are read",
    );
    expect(read(legacyFile(pickle, [["140001", 7, storage], second]))).toThrow(
      "[pth] old.pth: storage 140001 holds 7 elements, but the pickle says 6",
    );
    const whole = legacyFile(pickle, both);
    expect(read(whole.subarray(0, whole.length - 1))).toThrow(
      `[pth] old.pth: storage 140002 (4 bytes from byte ${whole.length - 4}) runs past the end of the ${whole.length - 1}-byte file`,
    );
    expect(read(new Uint8Array([...whole, 0]))).toThrow(
      "[pth] old.pth: 1 bytes follow the last storage; the file is not what it claims",
    );
    expect(read(legacyFile(pickle, [...both, ["140003", 1, floatBytes([9])]]))).toThrow(
      "[pth] old.pth: the legacy storage list names storage 140003, which no tensor uses",
    );
    expect(read(legacyFile(pickle, [first]))).toThrow(
      '[pth] old.pth: tensor "h": its storage 140002 is not in the file\'s storage list',
    );
    const viewed = stateDict(text("v"), [
      ...global("torch._utils", "_rebuild_tensor_v2"),
      ...tuple([
        ...tuple(text("storage"), global("torch", "FloatStorage"), text("1"), text("cpu"), [0x4b, 6], tuple(text("0"))),
        ...op.persistentId,
      ]),
    ]);
    expect(read(legacyFile(viewed, []))).toThrow(
      "a persistent id has view metadata a tuple of 1; storage views are not read",
    );
  });

  it("refuses a foreign global in the object pickle, naming it", () => {
    const hostile = [...op.proto2, ...global("posix", "system"), ...tuple(text("true")), ...op.reduce, ...op.stop];
    expect(() => readPth(legacyFile(hostile, []), { source: "old.pth" })).toThrow(
      /^\[pth\] old\.pth: legacy format: byte \d+: global posix\.system is not allowed; a state dict uses only /,
    );
  });
});
