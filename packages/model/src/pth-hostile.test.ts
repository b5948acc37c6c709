/**
 * Hostile `.pth` files: pickles that would run code under Python's own unpickler (os.system, builtins.eval,
 * by GLOBAL or STACK_GLOBAL) are refused with an error naming the global, before anything is built, and
 * nothing runs; where python3 is installed the same bytes are first shown to run a command under
 * `pickle.loads`, so the payloads are real. Also every refused opcode and misuse of an allowed global.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { archive, floatBytes, global, int, op, tensor, text, tuple } from "./__fixtures__/pickle-bytes.js";
import { readPickle } from "./pickle.js";
import { readPth } from "./pth.js";

const directory = mkdtempSync(join(tmpdir(), "minimind-pth-hostile-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const python = ["/usr/bin/python3", "python3"].find(
  (candidate) => spawnSync(candidate, ["-c", "import pickle"]).status === 0,
);
const pythonSkip = python === undefined ? " — skipped: no python3 to run the payload" : "";

/** `os.system("touch <marker>")` as protocol 2 writes it: GLOBAL, a one-tuple of the command, REDUCE. */
function systemPayload(marker: string): number[] {
  return [...op.proto2, ...global("os", "system"), ...tuple(text(`touch ${marker}`)), ...op.reduce, ...op.stop];
}

/** `builtins.eval("…")` through STACK_GLOBAL (protocol 4): module and name are strings on the stack. */
function evalPayload(marker: string): number[] {
  const code = `open(${JSON.stringify(marker)}, "w").close()`;
  const stackGlobal = [0x93];
  return [
    0x80,
    4,
    ...text("builtins"),
    ...text("eval"),
    ...stackGlobal,
    ...tuple(text(code)),
    ...op.reduce,
    ...op.stop,
  ];
}

function runUnderPython(pickle: number[]): void {
  const run = spawnSync(python as string, ["-c", "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"], {
    input: Buffer.from(pickle),
  });
  expect(run.status, String(run.stderr)).toBe(0);
}

describe.each([
  ["os.system", systemPayload, "byte 2: global os.system is not allowed"],
  ["builtins.eval", evalPayload, "byte 24: global builtins.eval is not allowed"], // 2 (PROTO) + 13 + 9 (two BINUNICODE),
])("a pickle calling %s", (name, payload, message) => {
  it.skipIf(python === undefined)(
    `runs a command under Python's pickle.loads (the payload is live)${pythonSkip}`,
    () => {
      const marker = join(directory, `python-${name}`);
      runUnderPython(payload(marker));
      expect(existsSync(marker)).toBe(true);
    },
  );

  it("is refused by readPth, naming the global and what is allowed, and nothing runs", () => {
    const marker = join(directory, `ours-${name}`);
    const bytes = archive(payload(marker), {});
    expect(() => readPth(bytes, { source: "evil.pth" })).toThrow(
      `[pth] evil.pth: archive/data.pkl: ${message}; a state dict uses only collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and torch.<Type>Storage (FloatStorage, HalfStorage, BFloat16Storage, DoubleStorage, LongStorage, IntStorage, ShortStorage, CharStorage, ByteStorage, BoolStorage)`,
    );
    expect(existsSync(marker)).toBe(false);
  });
});

describe("the restricted unpickler", () => {
  const refuse = (bytes: number[]) => () => readPickle(new Uint8Array(bytes), { source: "x.pth: archive/data.pkl" });

  it("refuses a foreign global even where a storage class belongs (in a persistent id)", () => {
    const pickle = [...op.proto2, ...tensor("FloatStorage", "0", 1, 0, [1], [1]), ...op.stop];
    const at = pickle.indexOf(0x63, 40); // the storage class GLOBAL, after _rebuild_tensor_v2's
    const hostile = [
      ...pickle.slice(0, at),
      ...global("torch", "Tensor"),
      ...pickle.slice(at + global("torch", "FloatStorage").length),
    ];
    expect(refuse(hostile)).toThrow("global torch.Tensor is not allowed");
    const legacy = [...op.proto2, ...global("torch._utils", "_rebuild_tensor"), ...op.stop];
    expect(refuse(legacy)).toThrow("global torch._utils._rebuild_tensor is not allowed");
  });

  it.each([
    ["NEWOBJ", [...op.proto2, ...global("collections", "OrderedDict"), ...op.emptyTuple, 0x81, ...op.stop]],
    ["INST", [...op.proto2, ...op.mark, 0x69, ...new TextEncoder().encode("os\nsystem\n"), ...op.stop]],
    ["OBJ", [...op.proto2, ...op.mark, ...global("collections", "OrderedDict"), 0x6f, ...op.stop]],
    ["EXT1", [...op.proto2, 0x82, 1, ...op.stop]],
    ["PERSID", [...op.proto2, 0x50, ...new TextEncoder().encode("0\n"), ...op.stop]],
    ["STRING", [...op.proto2, 0x53, ...new TextEncoder().encode("'x'\n"), ...op.stop]],
  ])("refuses opcode %s by name", (name, bytes) => {
    expect(refuse(bytes)).toThrow(`opcode ${name} is not allowed in a state dict`);
  });

  it("refuses an unknown opcode, BUILD on anything but an OrderedDict, and calling a storage class", () => {
    expect(refuse([...op.proto2, 0xff, ...op.stop])).toThrow(
      "[pth] x.pth: archive/data.pkl: byte 2: unknown opcode 0xff",
    );
    expect(refuse([...op.proto2, ...op.emptyDict, ...op.emptyDict, ...op.build, ...op.stop])).toThrow(
      "BUILD on a dict of 0 is not allowed; only an OrderedDict's attributes are read",
    );
    expect(
      refuse([...op.proto2, ...global("torch", "FloatStorage"), ...op.emptyTuple, ...op.reduce, ...op.stop]),
    ).toThrow("torch.FloatStorage cannot be called; it is a storage class");
  });

  it("refuses persistent ids that are not typed storages, and malformed tensor arguments", () => {
    const notStorage = [...op.proto2, ...tuple(text("module"), int(1)), ...op.persistentId, ...op.stop];
    expect(refuse(notStorage)).toThrow(
      'a persistent id is a tuple of 2; expected ("storage", torch.<Type>Storage, key, location, size)',
    );
    const badKey = [...op.proto2, ...tensor("FloatStorage", "../../etc/passwd", 1, 0, [1], [1]), ...op.stop];
    expect(refuse(badKey)).toThrow(
      'a persistent id has storage key "../../etc/passwd"; expected a plain name like "0"',
    );
    const badStride = [...op.proto2, ...tensor("FloatStorage", "0", 4, 0, [2, 2], [2]), ...op.stop];
    expect(refuse(badStride)).toThrow("_rebuild_tensor_v2's stride is a tuple of 1; expected 2 non-negative integers");
  });

  it("reads a tensor wrapped by _rebuild_parameter (an nn.Parameter saved as is)", () => {
    const parameter = [
      ...op.proto2,
      ...op.emptyDict,
      ...text("w"),
      ...global("torch._utils", "_rebuild_parameter"),
      ...tuple(tensor("FloatStorage", "0", 2, 0, [2], [1]), op.newTrue, [
        ...global("collections", "OrderedDict"),
        ...op.emptyTuple,
        ...op.reduce,
      ]),
      ...op.reduce,
      ...op.setItem,
      ...op.stop,
    ];
    const { tensors } = readPth(archive(parameter, { "0": floatBytes([3, 4]) }));
    expect(tensors.get("w")).toEqual({ dtype: "F32", shape: [2], data: new Float32Array([3, 4]) });
  });
});
