/**
 * The restricted unpickler on streams written by Python's own pickler (protocols 2, 3 and 4; the hex below is
 * `pickle.dumps(...)` output, pasted with the Python value it encodes): values, dict keys, LONG1 integers
 * (the examples of pickle.py's `encode_long`), bytes, a self-referential list, an OrderedDict, and the
 * stack faults it names. Globals and hostile streams: pth-hostile.test.ts.
 */
import { describe, expect, it } from "vitest";
import { readPickle } from "./pickle.js";
import { describe as describeValue, PickleDict, PickleTuple, type PickleValue } from "./pickle-values.js";

function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

function dict(value: PickleValue): Map<unknown, PickleValue> {
  expect(value).toBeInstanceOf(PickleDict);
  return (value as PickleDict).entries;
}

describe("readPickle on Python's own output", () => {
  // {"a": [1, 2.5, None, True, -7, 2**40], "t": (1, 2, 3, 4), "s": "é"}
  const expectedEntries = [
    ["a", [1, 2.5, null, true, -7, 2 ** 40]],
    ["t", new PickleTuple([1, 2, 3, 4])],
    ["s", "é"],
  ];

  it("protocol 2: BINPUT memo, BININT, BINFLOAT, LONG1, MARK/TUPLE, BINUNICODE", () => {
    const hex =
      "80027d71002858010000006171015d7102284b014740040000000000004e884af9ffffff8a06000000000001655801000000747103284b014b024b034b0474710458010000007371055802000000c3a97106752e";
    expect([...dict(readPickle(fromHex(hex))).entries()]).toEqual(expectedEntries);
  });

  it("protocol 4: FRAME, SHORT_BINUNICODE, MEMOIZE", () => {
    const hex =
      "8004953f000000000000007d94288c0161945d94284b014740040000000000004e884af9ffffff8a06000000000001658c017494284b014b024b034b0474948c0173948c02c3a994752e";
    expect([...dict(readPickle(fromHex(hex))).entries()]).toEqual(expectedEntries);
  });

  it("dict keys of int, float, None, bool and a LONG1 beyond 2^53: {0: 'x', 1.5: 'y', None: 1, True: 2, -(2**70): 3}", () => {
    const hex =
      "80027d7100284b005801000000787101473ff800000000000058010000007971024e4b01884b028a090000000000000000c04b03752e";
    expect([...dict(readPickle(fromHex(hex))).entries()]).toEqual([
      [0, "x"],
      [1.5, "y"],
      [null, 1],
      [true, 2],
      [-(2n ** 70n), 3],
    ]);
  });

  it.each([
    ["", 0],
    ["ff00", 255],
    ["00ff", -256],
    ["ff7f", 32767],
    ["0080", -32768],
    ["80", -128],
    ["7f", 127],
    ["000000000000000001", 2n ** 64n],
  ])("LONG1 %s is %s (pickle.py's encode_long examples)", (bytes, value) => {
    const length = (bytes.length / 2).toString(16).padStart(2, "0");
    expect(readPickle(fromHex(`80028a${length}${bytes}2e`))).toEqual(value);
  });

  it("protocol 3 bytes (SHORT_BINBYTES) become a Uint8Array", () => {
    expect(readPickle(fromHex("80034302000171002e"))).toEqual(new Uint8Array([0, 1])); // b"\x00\x01"
  });

  it("a list that contains itself (l = []; l.append(l)) reads, and describing it terminates", () => {
    const value = readPickle(fromHex("80025d71006800612e")) as PickleValue[];
    expect(value[0]).toBe(value);
    expect(describeValue(value)).toBe("a list of 1");
  });

  it("collections.OrderedDict([('w', 1)])", () => {
    const value = readPickle(
      fromHex("800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710158010000007771024b01732e"),
    );
    expect((value as PickleDict).kind).toBe("OrderedDict");
    expect([...dict(value).entries()]).toEqual([["w", 1]]);
  });
});

describe("readPickle faults", () => {
  const read = (hex: string) => () => readPickle(fromHex(hex), { source: "p.pkl" });

  it("names the byte and the fault", () => {
    expect(read("80024b01")).toThrow("[pth] p.pkl: byte 4: the stream ends without a STOP opcode");
    expect(read("80024b014b022e")).toThrow("[pth] p.pkl: byte 6: STOP leaves values on the stack");
    expect(read("80024b014b0261")).toThrow("[pth] p.pkl: byte 6: APPEND needs a list, found 1");
    expect(read("8002284b0161")).toThrow("[pth] p.pkl: byte 5: APPEND finds no value on the stack"); // not past MARK
    expect(read("8002282e")).toThrow("[pth] p.pkl: byte 3: STOP finds no value on the stack");
    expect(read("80025d284b01732e")).toThrow("[pth] p.pkl: byte 6: SETITEM finds no value on the stack");
    expect(read("80027d285d4b0175")).toThrow(
      "[pth] p.pkl: byte 7: SETITEMS: a dict key is a list of 0; only str, int, float, bool and None keys are read",
    );
    expect(read("800201")).toThrow("[pth] p.pkl: byte 2: unknown opcode 0x01");
    expect(read("8001")).toThrow("[pth] p.pkl: byte 0: pickle protocol 1 is not supported (torch writes 2)");
  });
});
