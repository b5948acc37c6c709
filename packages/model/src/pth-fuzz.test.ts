/**
 * Fuzzing the `.pth` reader (fast-check, fixed seeds, 3,400 cases): mutated zip structures (whole file, and
 * the central directory / end records alone; stored, ZIP64 and deflated seeds), mutated legacy-format files,
 * mutated pickle streams re-wrapped in a valid zip so that they reach the unpickler, streams assembled from
 * random opcodes, and random views (shape, stride, offset) over a storage. Every case must end in a result or
 * an Error whose class is plain Error and whose message starts with "[pth] " — never a RangeError or
 * TypeError from inside — within 1 s and 200 MB of peak memory growth; no tensor read may be larger than the
 * input file. Views that are read are also compared with an index computation written out here.
 */
import { inflateRawSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  archive,
  float,
  floatBytes,
  global,
  int,
  legacyFile,
  op,
  tensor,
  text,
  tuple,
} from "./__fixtures__/pickle-bytes.js";
import { peakResidentBytes } from "./__fixtures__/watchdog.js";
import { buildZip } from "./__fixtures__/zip-bytes.js";
import { readPickle } from "./pickle.js";
import { type ReadPthOptions, readPth } from "./pth.js";
import { writePth } from "./pth-writer.js";
import { readZipArchive, writeZipArchive } from "./pytorch-zip.js";
import type { SafetensorsTensor } from "./safetensors.js";

const inflateRaw = (data: Uint8Array, maxOutputLength: number) => inflateRawSync(data, { maxOutputLength });
let cases = 0;
let readCleanly = 0;
let refused = 0;
const messages = new Map<string, number>();

/**
 * Runs one case: a result with no tensor larger than `limitBytes` (the input's size; 1032 times it for
 * deflated input, deflate's largest ratio), or a labelled plain Error — within 1 s and with the process's peak
 * resident memory grown by at most 200 MB (issue #18's per-case budget).
 */
function expectClean(run: () => unknown, limitBytes: number): void {
  cases += 1;
  const started = performance.now();
  const peakBefore = peakResidentBytes();
  try {
    const result = run() as { tensors?: Map<string, SafetensorsTensor> } | undefined;
    for (const tensor of result?.tensors?.values() ?? []) {
      expect(tensor.data.byteLength).toBeLessThanOrEqual(limitBytes);
    }
    readCleanly += 1;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    const { message } = error as Error;
    const errorClass = (error as Error).constructor;
    if (errorClass !== Error || !message.startsWith("[pth] ")) {
      throw new Error(`not a clean error: ${errorClass.name}: ${message}`);
    }
    const kind = message.replace(/\d+/g, "N").slice(0, 90);
    messages.set(kind, (messages.get(kind) ?? 0) + 1);
    refused += 1;
  }
  expect(performance.now() - started).toBeLessThan(1000);
  expect((peakResidentBytes() - peakBefore) / 2 ** 20).toBeLessThanOrEqual(200);
}

const weights = new Map<string, SafetensorsTensor>([
  ["embed.weight", { dtype: "F32", shape: [4, 3], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) }],
  ["norm.weight", { dtype: "F16", shape: [3], data: new Uint16Array([0x3c00, 0x4000, 0xbc00]) }],
  ["bias", { dtype: "BF16", shape: [2], data: new Uint16Array([0x3f80, 0x4000]) }],
  ["step", { dtype: "I64", shape: [], data: new BigInt64Array([12n]) }],
]);
weights.set("head.weight", weights.get("embed.weight") as SafetensorsTensor); // tied: one storage
const written = writePth(weights);
const writtenZip = readZipArchive(written);
const recordList = [...writtenZip.entries.keys()].map((name) => ({ name, data: writtenZip.read(name).slice() }));
const zipSeeds: { label: string; bytes: Uint8Array; options: ReadPthOptions; ratio: number }[] = [
  { label: "stored (our writer)", bytes: written, options: {}, ratio: 1 },
  {
    label: "ZIP64 + data descriptors",
    bytes: buildZip(recordList, { zip64Entries: true, zip64End: true }),
    options: {},
    ratio: 1,
  },
  {
    label: "deflated",
    bytes: buildZip(recordList.map((record) => ({ ...record, method: 8 as const }))),
    options: { inflateRaw },
    ratio: 1032,
  },
];
const legacySeed = legacyFile(
  [
    ...op.proto2,
    ...op.emptyDict,
    ...op.mark,
    ...text("w"),
    ...tensor("FloatStorage", "7", 6, 0, [2, 3], [3, 1], true),
    ...text("w.t"),
    ...tensor("FloatStorage", "7", 6, 0, [3, 2], [1, 3], true),
    ...op.setItems,
    ...op.stop,
  ],
  [["7", 6, floatBytes([1, 2, 3, 4, 5, 6])]],
);
const seeds = [...zipSeeds, { label: "legacy format", bytes: legacySeed, options: {}, ratio: 1 }];
const seedPickle = writtenZip.read("archive/data.pkl").slice();

type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "byte"; at: number; value: number }
  | { kind: "word"; at: number; value: number }
  | { kind: "delete"; at: number; length: number }
  | { kind: "insert"; at: number; bytes: number[] }
  | { kind: "truncate"; at: number };

const interestingWords = [0, 1, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant("byte" as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({
    kind: fc.constant("word" as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(...interestingWords), fc.nat({ max: 0xffffffff })),
  }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 16 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
);

/** Applies mutations at positions taken modulo the region [from, bytes.length). */
function mutate(bytes: Uint8Array, mutations: readonly Mutation[], from = 0): Uint8Array {
  let data = Array.from(bytes);
  for (const change of mutations) {
    const span = Math.max(data.length - from, 1);
    const at = Math.min(from + (change.at % span), data.length);
    switch (change.kind) {
      case "flip":
        if (at < data.length) data[at] = (data[at] as number) ^ (1 << change.bit);
        break;
      case "byte":
        if (at < data.length) data[at] = change.value;
        break;
      case "word":
        for (let index = 0; index < 4 && at + index < data.length; index++) {
          data[at + index] = (change.value >>> (8 * index)) & 0xff;
        }
        break;
      case "delete":
        data.splice(at, change.length);
        break;
      case "insert":
        data.splice(at, 0, ...change.bytes);
        break;
      case "truncate":
        data = data.slice(0, at);
        break;
    }
  }
  return new Uint8Array(data);
}

const mutations = fc.array(mutation, { minLength: 1, maxLength: 6 });

describe("fuzzing the .pth reader", () => {
  afterAll(() => {
    console.log(`[pth-fuzz] ${cases} cases: ${readCleanly} read, ${refused} refused with a labelled error`);
    if (process.env.PTH_FUZZ_MESSAGES)
      // the refusals by kind, digits folded: PTH_FUZZ_MESSAGES=1 npx vitest run src/pth-fuzz.test.ts
      console.log(
        [...messages]
          .sort((a, b) => b[1] - a[1])
          .map(([message, count]) => `${count} ${message}`)
          .join("\n"),
      );
  });

  it.each(seeds)("mutated archives ($label): 300 cases anywhere in the file", ({ bytes, options, ratio }) => {
    expect(readPth(bytes, options).tensors.size).toBeGreaterThan(0); // the seed itself reads
    fc.assert(
      fc.property(mutations, (changes) => {
        const input = mutate(bytes, changes);
        expectClean(() => readPth(input, options), input.length * ratio);
      }),
      { numRuns: 300, seed: 17 },
    );
  });

  it.each(zipSeeds)("mutated central directory and end records ($label): 200 cases", ({ bytes, options, ratio }) => {
    const directoryStart = Buffer.from(bytes).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    fc.assert(
      fc.property(mutations, (changes) => {
        const input = mutate(bytes, changes, directoryStart);
        expectClean(() => readPth(input, options), input.length * ratio);
      }),
      { numRuns: 200, seed: 23 },
    );
  });

  it("mutated pickle streams in a valid zip: 700 cases", () => {
    fc.assert(
      fc.property(mutations, (changes) => {
        const pickle = mutate(seedPickle, changes);
        const input = writeZipArchive([
          ["archive/data.pkl", pickle],
          ...recordList.slice(1).map((record): [string, Uint8Array] => [record.name, record.data]),
        ]);
        expectClean(() => readPth(input), input.length);
      }),
      { numRuns: 700, seed: 29 },
    );
  });

  const pieces: number[][] = [
    op.mark,
    op.tuple,
    op.emptyTuple,
    op.emptyDict,
    op.emptyList,
    op.setItem,
    op.setItems,
    op.appends,
    [0x61],
    op.reduce,
    op.build,
    op.persistentId,
    op.newFalse,
    op.newTrue,
    op.none,
    op.stop,
    [0x30],
    [0x31],
    [0x32],
    [0x85],
    [0x86],
    [0x87],
    [0x71, 0],
    [0x71, 1],
    [0x68, 0],
    [0x68, 1],
    [0x6a, 255, 255, 255, 255],
    [0x94],
    text("storage"),
    text("0"),
    text("cpu"),
    text("model"),
    int(0),
    int(3),
    int(-1),
    int(0x7fffffff),
    [0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x80],
    global("collections", "OrderedDict"),
    global("torch", "FloatStorage"),
    global("torch._utils", "_rebuild_tensor_v2"),
    global("torch._utils", "_rebuild_parameter"),
    tensor("FloatStorage", "0", 12, 0, [4, 3], [3, 1]),
    tuple(int(2), int(2)),
    [0x95, 1, 0, 0, 0, 0, 0, 0, 0],
    [0x8d, 255, 255, 255, 255, 255, 255, 255, 127],
    [0x58, 255, 255, 255, 255],
    float(5e-4),
    [0x47, 1, 2],
  ];

  it("streams assembled from random opcodes: 300 cases, through readPickle and readPth", () => {
    const chunk = fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...pieces) },
      { weight: 1, arbitrary: fc.array(fc.nat(255), { minLength: 1, maxLength: 4 }) },
    );
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 40 }), (chunks) => {
        const pickle = new Uint8Array([...op.proto2, ...chunks.flat()]);
        expectClean(() => readPickle(pickle, { source: "fuzz" }), pickle.length);
        const input = archive(Array.from(pickle), { "0": floatBytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) });
        expectClean(() => readPth(input), input.length);
      }),
      { numRuns: 300, seed: 31 },
    );
  });

  it("random views over a 12-element storage: 300 cases, each read equal to a written-out index computation", () => {
    const storage = floatBytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const view = fc.record({
      shape: fc.array(fc.nat(4), { maxLength: 4 }),
      stride: fc.array(fc.nat(6), { minLength: 4, maxLength: 4 }),
      offset: fc.nat(13),
      count: fc.constantFrom(12, 12, 12, 11, 13),
    });
    fc.assert(
      fc.property(view, ({ shape, stride, offset, count }) => {
        const strides = stride.slice(0, shape.length);
        const pickle = [
          ...op.proto2,
          ...op.emptyDict,
          ...text("t"),
          ...tensor("FloatStorage", "0", count, offset, shape, strides),
          ...op.setItem,
          ...op.stop,
        ];
        const input = archive(pickle, { "0": storage });
        expectClean(() => readPth(input), input.length);
        let read: SafetensorsTensor | undefined;
        try {
          read = readPth(input).tensors.get("t");
        } catch {
          read = undefined;
        }
        const elements = shape.reduce((product, size) => product * size, 1);
        const reach =
          offset + shape.reduce((sum, size, axis) => sum + Math.max(size - 1, 0) * (strides[axis] as number), 0);
        const valid = count === 12 && elements <= 12 && (elements === 0 || reach < 12);
        expect(read !== undefined).toBe(valid);
        if (read === undefined) return;
        const expected: number[] = [];
        const walk = (axis: number, index: number): void => {
          if (axis === shape.length) {
            expected.push(index);
            return;
          }
          for (let position = 0; position < (shape[axis] as number); position++) {
            walk(axis + 1, index + position * (strides[axis] as number));
          }
        };
        walk(0, offset);
        expect(read).toEqual({ dtype: "F32", shape, data: new Float32Array(expected) });
      }),
      { numRuns: 300, seed: 37 },
    );
  });

  it("ran at least 2,000 cases", () => {
    expect(cases).toBeGreaterThanOrEqual(2000);
  });
});
