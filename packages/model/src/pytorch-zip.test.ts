/**
 * The zip container: CRC-32 against the published check value; archives built field by field from the
 * specification (data descriptors, ZIP64 extra fields and end records, deflate) read back; our writer's output
 * accepted by Python's zipfile where python3 exists; and each structural fault named. Fuzzing: pth-fuzz.test.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { buildZip } from "./__fixtures__/zip-bytes.js";
import { crc32, readZipArchive, writeZipArchive } from "./pytorch-zip.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const inflateRaw = (data: Uint8Array, maxOutputLength: number) => inflateRawSync(data, { maxOutputLength });

const records = [
  { name: "archive/data.pkl", data: encoder.encode("pickle bytes") },
  { name: "archive/data/0", data: new Uint8Array(1000).map((_, index) => index % 251) },
  { name: "archive/version", data: encoder.encode("3\n") },
];

function readAll(bytes: Uint8Array, options = {}): Map<string, string> {
  const archive = readZipArchive(bytes, options);
  return new Map([...archive.entries.keys()].map((name) => [name, Buffer.from(archive.read(name)).toString("hex")]));
}

const expected = new Map(records.map((record) => [record.name, Buffer.from(record.data).toString("hex")]));

describe("crc32", () => {
  it("gives the standard check value for '123456789' and 0 for nothing", () => {
    expect(crc32(encoder.encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it("equals a bit-at-a-time CRC on every length from 0 to 40 and on a long buffer", () => {
    const bitwise = (bytes: Uint8Array): number => {
      let crc = 0xffffffff;
      for (const byte of bytes) {
        crc ^= byte;
        for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
      }
      return (crc ^ 0xffffffff) >>> 0;
    };
    const data = new Uint8Array(100_003).map((_, index) => (index * 2654435761) >>> 24);
    for (let length = 0; length <= 40; length++)
      expect(crc32(data.subarray(7, 7 + length)), `length ${length}`).toBe(bitwise(data.subarray(7, 7 + length)));
    expect(crc32(data)).toBe(bitwise(data));
  });
});

describe("readZipArchive", () => {
  it("reads entries whose local headers carry no sizes (data descriptors, as torch writes)", () => {
    expect(readAll(buildZip(records))).toEqual(expected);
  });

  it("reads ZIP64: 64-bit sizes and offsets in extra fields, and a ZIP64 end record", () => {
    expect(readAll(buildZip(records, { zip64Entries: true, zip64End: true }))).toEqual(expected);
  });

  it("reads deflated entries through inflateRaw, and says what to do without one", () => {
    const deflated = buildZip(records.map((record) => ({ ...record, method: 8 as const })));
    expect(readAll(deflated, { inflateRaw })).toEqual(expected);
    const bomb = deflated.slice(); // archive/data.pkl claiming 4 GB from a dozen deflated bytes
    const central = Buffer.from(bomb).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    new DataView(bomb.buffer).setUint32(central + 24, 0xfffffff0, true);
    expect(() => readZipArchive(bomb, { source: "d.pth", inflateRaw }).read("archive/data.pkl")).toThrow(
      /^\[pth\] d\.pth: zip: entry "archive\/data\.pkl" claims 4294967280 bytes from \d+ deflated bytes, more than deflate can produce$/,
    );
    expect(() => readZipArchive(deflated, { source: "d.pth" }).read("archive/data/0")).toThrow(
      '[pth] d.pth: zip: entry "archive/data/0" is deflated; pass an inflateRaw function (readPthFile does) or re-save it uncompressed with torch.save',
    );
  });

  it("names the fault: not a zip, a legacy pickle, truncation, a failed CRC, a duplicate, an encrypted entry", () => {
    const read = (bytes: Uint8Array) => () => readAll(bytes, { source: "f.pth" });
    expect(read(encoder.encode("hello"))).toThrow(
      "[pth] f.pth: zip: the file is 5 bytes, too short for a zip archive (torch.save writes zip files)",
    );
    expect(read(new Uint8Array([0x80, 0x02, ...new Uint8Array(40)]))).toThrow(
      "[pth] f.pth: this is a bare pickle (the legacy, pre-1.6 torch.save format), not a zip archive; readPth reads both",
    );
    const good = buildZip(records);
    expect(read(good.subarray(0, good.length - 1))).toThrow("[pth] f.pth: no zip end-of-central-directory record");
    const corrupt = good.slice();
    corrupt[100] = (corrupt[100] as number) ^ 1; // inside archive/data/0
    expect(read(corrupt)).toThrow(
      /\[pth\] f\.pth: zip: entry "archive\/data\/0" fails its CRC-32 check \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\); the file is corrupt/,
    );
    const unrecorded = good.slice(); // CRC 0: none recorded (torch.save with compute_crc32 off), so none checked
    const central0 = Buffer.from(unrecorded).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    new DataView(unrecorded.buffer).setUint32(central0 + 16, 0, true);
    expect(readAll(unrecorded)).toEqual(expected);
    const twice = buildZip([records[0], records[0]] as typeof records);
    expect(read(twice)).toThrow('[pth] f.pth: zip: entry "archive/data.pkl" appears twice in the central directory');
    const encrypted = good.slice();
    const central = Buffer.from(encrypted).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    encrypted[central + 8] = (encrypted[central + 8] as number) | 1;
    expect(read(encrypted)).toThrow(
      '[pth] f.pth: zip: entry "archive/data.pkl" is encrypted, which torch never writes',
    );
    const bzip = good.slice();
    bzip[central + 10] = 12;
    expect(read(bzip)).toThrow(
      'entry "archive/data.pkl" uses compression method 12; only stored (0) and deflate (8) are read',
    );
  });

  it("refuses entries that share bytes (the zip-bomb layout: many entries, one deflated stream)", () => {
    const good = buildZip(records.map((record) => ({ ...record, method: 8 as const })));
    const view = new DataView(good.buffer);
    const first = Buffer.from(good).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const second = first + 46 + view.getUint16(first + 28, true); // the next central-directory entry
    view.setUint32(second + 42, 0, true); // archive/data/0 now claims archive/data.pkl's local header
    expect(() => readZipArchive(good, { source: "bomb.pth", inflateRaw })).toThrow(
      /^\[pth\] bomb\.pth: zip: entry "archive\/data(\.pkl|\/0)" \(at byte 0\) overlaps entry "archive\/data(\.pkl|\/0)" \(bytes 0–\d+\); entries must not share bytes$/,
    );
  });

  it("refuses offsets that point outside the file or into the central directory", () => {
    const good = buildZip(records);
    const view = new DataView(good.buffer);
    const end = good.length - 22;
    const badDirectory = good.slice();
    new DataView(badDirectory.buffer).setUint32(end + 16, good.length, true);
    expect(() => readZipArchive(badDirectory, { source: "g.pth" })).toThrow(
      `[pth] g.pth: zip: the central directory (bytes ${good.length}–${good.length + view.getUint32(end + 12, true)}) runs past its end record at byte ${end}`,
    );
    const badLocal = good.slice();
    const central = Buffer.from(badLocal).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    new DataView(badLocal.buffer).setUint32(central + 42, 0x7fffffff, true);
    expect(() => readZipArchive(badLocal, { source: "g.pth" })).toThrow(
      '[pth] g.pth: zip: entry "archive/data.pkl": its local header at byte 2147483647 is not before the central directory',
    );
    const badSize = good.slice();
    new DataView(badSize.buffer).setUint32(central + 20, 5000, true);
    new DataView(badSize.buffer).setUint32(central + 24, 5000, true);
    expect(() => readZipArchive(badSize, { source: "g.pth" })).toThrow(
      /\[pth\] g\.pth: zip: entry "archive\/data\.pkl": its data \(bytes \d+–\d+\) runs into the central directory at byte \d+/,
    );
  });
});

describe("writeZipArchive", () => {
  const python = ["/usr/bin/python3", "python3"].find(
    (candidate) => spawnSync(candidate, ["-c", "import zipfile"]).status === 0,
  );
  const directory = mkdtempSync(join(tmpdir(), "minimind-zip-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it("stores every entry's data at a multiple of 64 bytes, and reads back", () => {
    const bytes = writeZipArchive(records.map((record) => [record.name, record.data]));
    const archive = readZipArchive(bytes);
    for (const entry of archive.entries.values()) {
      expect(entry.dataOffset % 64).toBe(0);
      expect(entry.method).toBe(0);
    }
    expect(readAll(bytes)).toEqual(expected);
  });

  it.skipIf(python === undefined)(
    `is accepted by Python's zipfile (names, CRCs, contents)${python === undefined ? " — skipped: no python3" : ""}`,
    () => {
      const file = join(directory, "written.zip");
      writeFileSync(file, writeZipArchive(records.map((record) => [record.name, record.data])));
      const script =
        "import json, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({i.filename: z.read(i).hex() for i in z.infolist()}))";
      const run = spawnSync(python as string, ["-c", script, file], { encoding: "utf8" });
      expect(run.stderr).toBe("");
      expect(new Map(Object.entries(JSON.parse(run.stdout)))).toEqual(expected);
    },
  );

  it("refuses a name given twice", () => {
    expect(() =>
      writeZipArchive(
        [
          ["a", new Uint8Array(1)],
          ["a", new Uint8Array(2)],
        ],
        { source: "w.pth" },
      ),
    ).toThrow('[pth] w.pth: zip: entry "a" is given twice');
    expect(decoder.decode(readZipArchive(writeZipArchive([["é", encoder.encode("x")]])).read("é"))).toBe("x");
  });
});
