import { describe, expect, it } from "vitest";
import { readSafetensors } from "./safetensors.js";
import { findDuplicateJsonKey } from "./strict-json.js";

describe("findDuplicateJsonKey", () => {
  it("finds duplicates at any depth, after unescaping, and only among keys of one object", () => {
    expect(findDuplicateJsonKey('{"a":1,"b":{"c":1,"c":2}}')).toEqual({ key: "c", path: "b" });
    expect(findDuplicateJsonKey('{"a":1,"\\u0061":2}')).toEqual({ key: "a", path: "" });
    expect(findDuplicateJsonKey('[{"x":1},{"x":2}]')).toBeUndefined(); // two objects, one key each
    expect(findDuplicateJsonKey('{"a":"a","b":["a","a"],"c":{"a":1}}')).toBeUndefined(); // values are not keys
    expect(findDuplicateJsonKey('{"a\\"":1,"a":2}')).toBeUndefined(); // an escaped quote inside a key
    expect(findDuplicateJsonKey('{"l":[{"k":1,"k":1}]}')).toEqual({ key: "k", path: "l." });
  });

  it("handles very deep nesting without recursion; the reader rejects such a header cleanly", () => {
    const depth = 200_000;
    const text = `{"a":${"[".repeat(depth)}${"]".repeat(depth)},"a":1}`;
    expect(findDuplicateJsonKey(text)).toEqual({ key: "a", path: "" });
    const header = new TextEncoder().encode(`{"a":${"[".repeat(depth)}${"]".repeat(depth)}}`);
    const bytes = new Uint8Array(8 + header.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(header, 8);
    expect(() => readSafetensors(bytes, { source: "deep.safetensors" })).toThrow(
      /^\[safetensors\] deep\.safetensors: /,
    );
  });
});
