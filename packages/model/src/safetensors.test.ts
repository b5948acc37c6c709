import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  isSafetensorsDtype,
  MAX_SAFETENSORS_HEADER_BYTES,
  readSafetensors,
  readSafetensorsHeader,
  type SafetensorsTensor,
  tensorFromFloat32,
  tensorToFloat32,
  writeSafetensors,
} from "./safetensors.js";

/** A safetensors file from a header (object or raw JSON text) and data bytes; `headerLength` overrides the prefix. */
function fileBytes(header: string | object, data: number[] | Uint8Array = [], headerLength?: bigint): Uint8Array {
  const text = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const output = new Uint8Array(8 + text.length + data.length);
  new DataView(output.buffer).setBigUint64(0, headerLength ?? BigInt(text.length), true);
  output.set(text, 8);
  output.set(data, 8 + text.length);
  return output;
}

const f32 = (shape: number[], offsets: [number, number]) => ({ dtype: "F32", shape, data_offsets: offsets });

function readError(bytes: Uint8Array): string {
  try {
    readSafetensors(bytes, { source: "bad.safetensors" });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the file to be rejected");
}

describe("readSafetensors", () => {
  it("reads hand-assembled tensors of several dtypes, at unaligned offsets", () => {
    // 1.5 = 0x3fc00000, -2 = 0xc0000000 (F32); 7 (I32); 1 = 0x3c00 (F16); 1 = 0x3f80 (BF16); -1 (I64)
    const data = [
      ...[0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0],
      ...[0x07, 0x00, 0x00, 0x00],
      ...[0x00, 0x3c],
      ...[0x80, 0x3f],
      ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ];
    const header = {
      __metadata__: { format: "pt" },
      a: f32([2], [0, 8]),
      b: { dtype: "I32", shape: [1, 1], data_offsets: [8, 12] },
      c: { dtype: "F16", shape: [], data_offsets: [12, 14] },
      d: { dtype: "BF16", shape: [1], data_offsets: [14, 16] },
      e: { dtype: "I64", shape: [1], data_offsets: [16, 24] },
    };
    const bytes = fileBytes(`${JSON.stringify(header)} `, data); // 1 trailing space: odd header length
    expect((bytes.length - data.length) % 4).not.toBe(0);
    const { tensors, metadata } = readSafetensors(bytes);
    expect(metadata).toEqual({ format: "pt" });
    expect([...tensors.keys()]).toEqual(["a", "b", "c", "d", "e"]);
    expect(tensors.get("a")).toEqual({ dtype: "F32", shape: [2], data: new Float32Array([1.5, -2]) });
    expect(tensors.get("b")).toEqual({ dtype: "I32", shape: [1, 1], data: new Int32Array([7]) });
    expect(tensors.get("c")).toEqual({ dtype: "F16", shape: [], data: new Uint16Array([0x3c00]) });
    expect(tensors.get("e")).toEqual({ dtype: "I64", shape: [1], data: new BigInt64Array([-1n]) });
    expect(Array.from(tensorToFloat32(tensors.get("c") as SafetensorsTensor))).toEqual([1]);
    expect(Array.from(tensorToFloat32(tensors.get("d") as SafetensorsTensor))).toEqual([1]);
    expect(() => tensorToFloat32(tensors.get("b") as SafetensorsTensor, "b", "x.safetensors")).toThrow(
      '[safetensors] x.safetensors: tensor "b" is I32, not a floating-point dtype; cannot convert to F32',
    );
  });

  it("accepts an ArrayBuffer and a view into a larger buffer, and copies the data out", () => {
    const bytes = fileBytes({ a: f32([1], [0, 4]) }, [0, 0, 0x80, 0x3f]);
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    const view = padded.subarray(3);
    const fromView = readSafetensors(view).tensors.get("a");
    expect(fromView?.data).toEqual(new Float32Array([1]));
    view[view.length - 1] = 0; // changing the input afterwards leaves the tensor alone
    expect(fromView?.data).toEqual(new Float32Array([1]));
    expect(readSafetensors(bytes.slice().buffer).tensors.get("a")?.data).toEqual(new Float32Array([1]));
  });

  it("accepts a Node Buffer from a shared pool (whose slice is a view, not a copy)", () => {
    const bytes = fileBytes({ a: f32([1], [0, 4]), b: f32([1], [4, 8]) }, [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]);
    const pooled = Buffer.from(bytes); // small Buffers live inside one shared pool, at a non-zero offset
    const { tensors } = readSafetensors(pooled);
    expect(tensors.get("a")?.data).toEqual(new Float32Array([1]));
    expect(tensors.get("b")?.data).toEqual(new Float32Array([2]));
    expect(tensors.get("b")?.data.buffer.byteLength).toBe(4);
  });

  it("reads an empty file header with no tensors, and zero-element tensors", () => {
    expect(readSafetensors(fileBytes({})).tensors.size).toBe(0);
    const { tensors } = readSafetensors(fileBytes({ z: f32([0, 3], [0, 0]), a: f32([1], [0, 4]) }, [0, 0, 0, 0]));
    expect(tensors.get("z")?.data).toEqual(new Float32Array(0));
    expect(tensors.get("a")?.data).toEqual(new Float32Array([0]));
  });

  const faults: [string, Uint8Array, string][] = [
    ["a file shorter than the length prefix", new Uint8Array(3), "the file is 3 bytes; a safetensors file starts"],
    [
      "a header length over 100 MB",
      fileBytes({}, [], 100_000_001n),
      "the header length is 100000001 bytes, over the 100000000-byte limit",
    ],
    ["a header length of 2^64 − 1", fileBytes({}, [], 2n ** 64n - 1n), "over the 100000000-byte limit"],
    [
      "a header longer than the file",
      fileBytes({}, [], 40n),
      "the header length is 40 bytes but only 2 bytes follow it; the file is truncated",
    ],
    ["invalid UTF-8", fileBytes("", [0xff, 0xfe], 2n), "the header is not valid UTF-8"],
    ["invalid JSON", fileBytes('{"a":'), "the header is not valid JSON"],
    ["a JSON array", fileBytes("[]"), "the header must be a JSON object"],
    ["JSON null", fileBytes("null"), "the header must be a JSON object"],
    [
      "a duplicate tensor name",
      fileBytes(
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
        [0, 0, 0, 0],
      ),
      'key "a" appears twice in the header',
    ],
    [
      "a duplicate written with an escape",
      fileBytes(
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\\u0061":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
        [0, 0, 0, 0],
      ),
      'key "a" appears twice',
    ],
    [
      "a duplicate field inside a tensor",
      fileBytes('{"a":{"dtype":"F32","shape":[1],"shape":[2],"data_offsets":[0,4]}}', [0, 0, 0, 0]),
      'key "shape" appears twice in "a" in the header',
    ],
    ["non-string metadata", fileBytes({ __metadata__: { step: 3 } }), '"__metadata__"."step" must be a string, got 3'],
    [
      "metadata that is an array",
      fileBytes({ __metadata__: ["x"] }),
      '"__metadata__" must be an object of string values',
    ],
    [
      "a tensor that is not an object",
      fileBytes({ a: [1, 2] }),
      'tensor "a" must be an object { dtype, shape, data_offsets }, got [1,2]',
    ],
    [
      "an unknown dtype",
      fileBytes({ a: { dtype: "F33", shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0]),
      'tensor "a" has dtype "F33"; expected one of',
    ],
    [
      "a lower-case dtype",
      fileBytes({ a: { dtype: "f32", shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0]),
      'tensor "a" has dtype "f32"',
    ],
    [
      "a missing dtype",
      fileBytes({ a: { shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0]),
      'tensor "a" has dtype undefined',
    ],
    [
      "a string dimension",
      fileBytes({ a: f32(["1"] as unknown as number[], [0, 4]) }, [0, 0, 0, 0]),
      'tensor "a" has shape ["1"]; expected an array of non-negative integers',
    ],
    ["a negative dimension", fileBytes({ a: f32([-1], [0, 4]) }, [0, 0, 0, 0]), 'tensor "a" has shape [-1]'],
    ["a fractional dimension", fileBytes({ a: f32([1.5], [0, 4]) }, [0, 0, 0, 0]), 'tensor "a" has shape [1.5]'],
    [
      "a dimension beyond 2^53",
      fileBytes('{"a":{"dtype":"F32","shape":[1e300],"data_offsets":[0,4]}}', [0, 0, 0, 0]),
      'tensor "a" has shape [1e+300]',
    ],
    [
      "a shape that is not an array",
      fileBytes({ a: f32(4 as unknown as number[], [0, 4]) }, [0, 0, 0, 0]),
      'tensor "a" has shape 4',
    ],
    [
      "an element count too large to address",
      fileBytes({ a: f32([2 ** 30, 2 ** 30, 2 ** 30], [0, 4]) }, [0, 0, 0, 0]),
      "too many elements to address",
    ],
    [
      "one data offset",
      fileBytes({ a: { dtype: "F32", shape: [1], data_offsets: [4] } }, [0, 0, 0, 0]),
      'tensor "a" has data_offsets [4]; expected [begin, end]',
    ],
    [
      "string offsets",
      fileBytes({ a: { dtype: "F32", shape: [1], data_offsets: ["0", "4"] } }, [0, 0, 0, 0]),
      'tensor "a" has data_offsets ["0","4"]',
    ],
    [
      "an end before the begin",
      fileBytes({ a: f32([0], [4, 0]) }, [0, 0, 0, 0]),
      'tensor "a" has data_offsets [4, 0]: the end comes before the begin',
    ],
    [
      "an unknown field",
      fileBytes({ a: { ...f32([1], [0, 4]), extra: 1 } }, [0, 0, 0, 0]),
      'tensor "a" has an unknown field "extra"',
    ],
    [
      "a byte count that does not match the shape",
      fileBytes({ a: f32([3], [0, 8]) }, new Uint8Array(8)),
      'tensor "a" has 8 bytes, expected 12 (shape [3] × 4-byte F32)',
    ],
    [
      "overlapping tensors",
      fileBytes({ a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, new Uint8Array(12)),
      'tensor "b" (bytes 4–12) overlaps tensor "a" (which ends at byte 8)',
    ],
    [
      "two tensors on the same bytes",
      fileBytes({ a: f32([1], [0, 4]), b: f32([1], [0, 4]) }, new Uint8Array(4)),
      "overlaps",
    ],
    [
      "a gap between tensors",
      fileBytes({ a: f32([1], [0, 4]), b: f32([1], [8, 12]) }, new Uint8Array(12)),
      'bytes 4–8 after tensor "a" belong to no tensor; the data must be contiguous',
    ],
    [
      "a gap at the start",
      fileBytes({ a: f32([1], [4, 8]) }, new Uint8Array(8)),
      "bytes 0–4 at the start of the data section belong to no tensor",
    ],
    [
      "a tensor past the end (truncated data)",
      fileBytes({ a: f32([2], [0, 8]) }, new Uint8Array(4)),
      'tensor "a" ends at byte 8 but the data section has 4 bytes',
    ],
    [
      "bytes left over after the tensors",
      fileBytes({ a: f32([1], [0, 4]) }, new Uint8Array(8)),
      "the tensors cover 4 bytes but the data section has 8; 4 bytes belong to no tensor",
    ],
  ];
  it.each(faults)("rejects %s, naming the file, the tensor and the fault", (_, bytes, message) => {
    const error = readError(bytes);
    expect(error.startsWith("[safetensors] bad.safetensors: ")).toBe(true);
    expect(error).toContain(message);
  });

  it("names <bytes> when no source is given", () => {
    expect(() => readSafetensors(new Uint8Array(0))).toThrow("[safetensors] <bytes>: the file is 0 bytes");
  });

  it("reads the header without the data", () => {
    const header = readSafetensorsHeader(fileBytes({ b: f32([1], [4, 8]), a: f32([1], [0, 4]) }, new Uint8Array(8)));
    expect(header.entries.map((entry) => entry.name)).toEqual(["a", "b"]);
    expect(header.dataStart).toBe(8 + JSON.stringify({ b: f32([1], [4, 8]), a: f32([1], [0, 4]) }).length);
  });

  it("states the 100 MB header limit of the reference implementation", () => {
    expect(MAX_SAFETENSORS_HEADER_BYTES).toBe(100_000_000);
  });
});

describe("tensorFromFloat32", () => {
  it("stores float32 values as F32, F16 or BF16 bits", () => {
    const values = new Float32Array([1, -2, 0.1]);
    expect(tensorFromFloat32(values, [3]).data).toBe(values);
    // 0.1 in F16: 0x2e66 (0.0999755859375); in BF16: 0x3dcd (0.10009765625)
    expect(tensorFromFloat32(values, [1, 3], "F16")).toEqual({
      dtype: "F16",
      shape: [1, 3],
      data: new Uint16Array([0x3c00, 0xc000, 0x2e66]),
    });
    expect(tensorFromFloat32(values, [3], "BF16").data).toEqual(new Uint16Array([0x3f80, 0xc000, 0x3dcd]));
    expect(() => tensorFromFloat32(values, [2, 2])).toThrow(
      "[safetensors] tensorFromFloat32: 3 values do not fill shape [2, 2] (4 elements)",
    );
  });
});

describe("writeSafetensors", () => {
  it("writes a header padded to 8 bytes, widest dtype first, each tensor aligned", () => {
    const bytes = writeSafetensors(
      new Map<string, SafetensorsTensor>([
        ["half", { dtype: "F16", shape: [3], data: new Uint16Array([0x3c00, 0x4000, 0x4200]) }],
        ["single", { dtype: "F32", shape: [1], data: new Float32Array([1]) }],
        ["ids", { dtype: "I32", shape: [2], data: new Int32Array([5, -100]) }],
      ]),
      { metadata: { format: "pt" } },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header).toEqual({
      __metadata__: { format: "pt" },
      single: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
      ids: { dtype: "I32", shape: [2], data_offsets: [4, 12] },
      half: { dtype: "F16", shape: [3], data_offsets: [12, 18] },
    });
    expect(Array.from(bytes.subarray(8 + headerLength))).toEqual([
      ...[0x00, 0x00, 0x80, 0x3f],
      ...[0x05, 0x00, 0x00, 0x00, 0x9c, 0xff, 0xff, 0xff],
      ...[0x00, 0x3c, 0x00, 0x40, 0x00, 0x42],
    ]);
  });

  it("writes only a tensor view's own bytes", () => {
    const backing = new Float32Array([9, 1, 2, 9]);
    const bytes = writeSafetensors({ a: { dtype: "F32", shape: [2], data: backing.subarray(1, 3) } });
    expect(readSafetensors(bytes).tensors.get("a")?.data).toEqual(new Float32Array([1, 2]));
  });

  const bad: [string, Record<string, unknown>, string][] = [
    [
      "a shape that does not match the data",
      { a: { dtype: "F32", shape: [3], data: new Float32Array(2) } },
      'tensor "a" has 2 elements but shape [3] needs 3',
    ],
    [
      "data of the wrong array type",
      { a: { dtype: "F32", shape: [2], data: new Float64Array(2) } },
      'tensor "a" is F32 but its data is a Float64Array; expected a Float32Array',
    ],
    [
      "a dtype it does not write",
      { a: { dtype: "I64", shape: [1], data: new BigInt64Array(1) } },
      'tensor "a" is I64; this writer stores only F32, F16, BF16, I32',
    ],
    [
      "a negative dimension",
      { a: { dtype: "F32", shape: [-1], data: new Float32Array(0) } },
      'tensor "a" has shape [-1]',
    ],
    ["a missing tensor", { a: null }, 'tensor "a" is null; expected { dtype, shape, data }'],
    [
      "the reserved name",
      { __metadata__: { dtype: "F32", shape: [0], data: new Float32Array(0) } },
      'tensor "__metadata__": the name "__metadata__" is reserved for file metadata',
    ],
  ];
  it.each(bad)("rejects %s", (_, tensors, message) => {
    expect(() => writeSafetensors(tensors as Record<string, SafetensorsTensor>, { source: "out.safetensors" })).toThrow(
      `[safetensors] out.safetensors: ${message}`,
    );
  });
});

/** Random float-weight and I32 tensors, with arbitrary bit patterns (NaN payloads, -0, subnormals). */
const tensorArbitrary: fc.Arbitrary<SafetensorsTensor> = fc
  .record({
    dtype: fc.constantFrom("F32", "F16", "BF16", "I32" as const),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    seed: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 64, maxLength: 64 }),
  })
  .map(({ dtype, shape, seed }) => {
    const size = shape.reduce((product, dimension) => product * dimension, 1);
    const words = Uint32Array.from({ length: size }, (_, index) => seed[index % 64] as number);
    if (dtype === "F32") return { dtype, shape, data: new Float32Array(words.buffer) };
    if (dtype === "I32") return { dtype, shape, data: new Int32Array(words.buffer) };
    return { dtype, shape, data: Uint16Array.from(words, (word) => word & 0xffff) };
  });

const stateArbitrary = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), tensorArbitrary, { maxKeys: 6 });

function bitsOf(tensor: SafetensorsTensor): Uint8Array {
  return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
}

describe("round trip", () => {
  it("write → read is bit-exact for any names, shapes and bit patterns, and rewriting gives the same bytes", () => {
    fc.assert(
      fc.property(stateArbitrary, fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), (tensors, metadata) => {
        delete (tensors as Record<string, unknown>).__metadata__;
        const bytes = writeSafetensors(tensors, { metadata });
        const read = readSafetensors(bytes);
        expect(read.metadata).toEqual(metadata);
        expect(new Set(read.tensors.keys())).toEqual(new Set(Object.keys(tensors)));
        for (const [name, tensor] of Object.entries(tensors)) {
          const back = read.tensors.get(name) as SafetensorsTensor;
          expect(back.dtype).toBe(tensor.dtype);
          expect(back.shape).toEqual(tensor.shape);
          expect(bitsOf(back)).toEqual(bitsOf(tensor));
        }
        const inOriginalOrder = new Map(
          Object.keys(tensors).map((name) => [name, read.tensors.get(name) as SafetensorsTensor]),
        );
        expect(writeSafetensors(inOriginalOrder, { metadata })).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });
});

/**
 * Reads hostile bytes: either a clean `[safetensors]` Error, or contents that are consistent with the file
 * (each tensor's element count matches its shape, total bytes match the data section). Anything else — a
 * RangeError, a TypeError, data of the wrong size — fails the test.
 */
function expectCleanOutcome(bytes: Uint8Array): "read" | "rejected" {
  let contents: ReturnType<typeof readSafetensors>;
  try {
    contents = readSafetensors(bytes, { source: "fuzz.safetensors" });
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message.startsWith("[safetensors] fuzz.safetensors: ")).toBe(true);
    return "rejected";
  }
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  let total = 0;
  for (const tensor of contents.tensors.values()) {
    expect(tensor.data.length).toBe(tensor.shape.reduce((product, dimension) => product * dimension, 1));
    total += tensor.data.byteLength;
  }
  expect(total).toBe(bytes.length - 8 - headerLength);
  return "read";
}

const validFileArbitrary = stateArbitrary.map((tensors) => {
  delete (tensors as Record<string, unknown>).__metadata__;
  return writeSafetensors(tensors);
});

function headerOf(bytes: Uint8Array): { text: string; data: Uint8Array } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { text: new TextDecoder().decode(bytes.subarray(8, 8 + length)), data: bytes.subarray(8 + length) };
}

describe("hostile input (fuzzing)", () => {
  it("random bytes are rejected cleanly", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(expectCleanOutcome(bytes)).toBe("rejected");
      }),
      { numRuns: 500 },
    );
  });

  it("a random header text with a correct length prefix is read consistently or rejected cleanly", () => {
    fc.assert(
      fc.property(fc.json(), fc.uint8Array({ maxLength: 64 }), (text, data) => {
        expectCleanOutcome(fileBytes(text, data));
      }),
      { numRuns: 500 },
    );
  });

  it("truncating a valid file anywhere is always rejected, even when the rest is still in memory", () => {
    fc.assert(
      fc.property(validFileArbitrary, fc.nat(), (bytes, cut) => {
        const length = cut % bytes.length;
        expect(expectCleanOutcome(bytes.slice(0, length))).toBe("rejected");
        // a view whose buffer goes on past its end: reading beyond the view would find the real bytes
        expect(expectCleanOutcome(bytes.subarray(0, length))).toBe("rejected");
      }),
      { numRuns: 300 },
    );
  });

  it("corrupting any byte of a valid file is read consistently or rejected cleanly", () => {
    fc.assert(
      fc.property(validFileArbitrary, fc.nat(), fc.integer({ min: 1, max: 255 }), (bytes, position, flip) => {
        const corrupted = bytes.slice();
        const index = position % corrupted.length;
        corrupted[index] = (corrupted[index] as number) ^ flip;
        expectCleanOutcome(corrupted);
      }),
      { numRuns: 500 },
    );
  });

  it("any length prefix other than the true one is rejected, huge ones by the 100 MB limit", () => {
    // Longer: data bytes join the header (invalid JSON, or whitespace that the data section then lacks).
    // Shorter: the header is cut (invalid JSON), or padding spaces move into the data section (not covered).
    fc.assert(
      fc.property(validFileArbitrary, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (bytes, length) => {
        fc.pre(length !== new DataView(bytes.buffer).getBigUint64(0, true));
        const altered = bytes.slice();
        new DataView(altered.buffer).setBigUint64(0, length, true);
        expect(expectCleanOutcome(altered)).toBe("rejected");
        if (length > 100_000_000n) expect(readError(altered)).toContain("over the 100000000-byte limit");
      }),
      { numRuns: 300 },
    );
  });

  it("overlapping or gapped offsets are always rejected", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 5 }),
        fc.nat(),
        fc.integer({ min: -8, max: 8 }).filter((shift) => shift !== 0),
        (sizes, pick, shift) => {
          // contiguous F32 tensors t0, t1, …; then move one tensor's range by `shift` bytes (keeping its size)
          let offset = 0;
          const header: Record<string, unknown> = {};
          sizes.forEach((size, index) => {
            header[`t${index}`] = f32([size], [offset, offset + 4 * size]);
            offset += 4 * size;
          });
          const moved = `t${pick % sizes.length}`;
          const entry = header[moved] as { data_offsets: [number, number] };
          const [begin, end] = entry.data_offsets;
          fc.pre(begin + shift >= 0);
          entry.data_offsets = [begin + shift, end + shift];
          const outcome = expectCleanOutcome(fileBytes(header, new Uint8Array(offset)));
          expect(outcome).toBe("rejected");
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a duplicated tensor entry is always rejected", () => {
    fc.assert(
      fc.property(validFileArbitrary, fc.nat(), (bytes, pick) => {
        const { text, data } = headerOf(bytes);
        const header = JSON.parse(text) as Record<string, unknown>;
        const names = Object.keys(header).filter((name) => name !== "__metadata__");
        fc.pre(names.length > 0);
        const name = names[pick % names.length] as string;
        const duplicated = `${text.trimEnd().slice(0, -1)},${JSON.stringify(name)}:${JSON.stringify(header[name])}}`;
        expect(readError(fileBytes(duplicated, data))).toContain(`key ${JSON.stringify(name)} appears twice`);
      }),
      { numRuns: 200 },
    );
  });

  it("wrong dtypes, non-numeric or wrong shapes are always rejected", () => {
    const hostileDimension = fc.oneof(
      fc.string(),
      fc.double({ noInteger: true }),
      fc.integer({ max: -1 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.nat(), { maxLength: 2 }),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({
            kind: fc.constant("dtype" as const),
            value: fc.string().filter((text) => !isSafetensorsDtype(text)),
          }),
          fc.record({ kind: fc.constant("dimension" as const), value: hostileDimension }),
          fc.record({ kind: fc.constant("size" as const), value: fc.integer({ min: 1, max: 100 }) }),
        ),
        (fault) => {
          const tensor: Record<string, unknown> = f32([2, 3], [0, 24]);
          if (fault.kind === "dtype") tensor.dtype = fault.value;
          if (fault.kind === "dimension") tensor.shape = [2, fault.value];
          if (fault.kind === "size") tensor.shape = [2, 3 + fault.value];
          const message = readError(fileBytes({ w: tensor }, new Uint8Array(24)));
          expect(message).toContain('tensor "w"');
        },
      ),
      { numRuns: 300 },
    );
  });
});
