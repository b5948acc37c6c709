import { describe, expect, it } from "vitest";
import { isHeldOut, sample, splitBy, stableFraction, workIdentity } from "./split.js";

describe("stableFraction", () => {
  it("is a fixed function of its parts (the same on every machine)", () => {
    expect(stableFraction("a", "b")).toBe(stableFraction("a", "b"));
    expect(stableFraction("a", "b")).not.toBe(stableFraction("ab"));
    // Pinned (checked with Python's hashlib): a change of hash or joining rule would move works across the split.
    expect(stableFraction("minimind", "split", "静夜思\u0000李白")).toBe(0.9344355242792517);
  });
});

describe("splitBy", () => {
  const items = Array.from({ length: 4000 }, (_, index) => ({ title: `t${index}`, author: "a", lines: ["x"] }));

  it("holds out about the requested share, deterministically, independent of order and of other items", () => {
    const options = { heldOutShare: 0.1, seed: "minimind" };
    const { train, heldOut } = splitBy(items, workIdentity, options);
    expect(train.length + heldOut.length).toBe(4000);
    expect(heldOut.length).toBeGreaterThan(320);
    expect(heldOut.length).toBeLessThan(480);
    const reversed = splitBy([...items].reverse(), workIdentity, options);
    expect(new Set(reversed.heldOut.map((item) => item.title))).toEqual(new Set(heldOut.map((item) => item.title)));
    const alone = splitBy(heldOut.slice(0, 5), workIdentity, options);
    expect(alone.heldOut).toHaveLength(5);
  });

  it("a different seed gives a different split; share 0 holds out nothing", () => {
    const first = splitBy(items, workIdentity, { heldOutShare: 0.1, seed: "a" }).heldOut.map((item) => item.title);
    const second = splitBy(items, workIdentity, { heldOutShare: 0.1, seed: "b" }).heldOut.map((item) => item.title);
    expect(first).not.toEqual(second);
    expect(splitBy(items, workIdentity, { heldOutShare: 0, seed: "a" }).heldOut).toHaveLength(0);
  });

  it("decides on title and author, or on the text for untitled works", () => {
    expect(workIdentity({ title: "静夜思", author: "李白", lines: ["a"] })).toBe("静夜思\u0000李白");
    expect(workIdentity({ title: "", author: "", lines: ["a", "b"] })).toBe("text\u0000a\nb");
    const options = { heldOutShare: 0.5, seed: "s" };
    expect(isHeldOut("x", options)).toBe(stableFraction("s", "split", "x") < 0.5);
  });
});

describe("sample", () => {
  it("keeps the requested count in input order, the same every time", () => {
    const items = Array.from({ length: 100 }, (_, index) => index);
    const kept = sample(items, 10, String, "seed");
    expect(kept).toHaveLength(10);
    expect([...kept].sort((a, b) => a - b)).toEqual(kept);
    expect(sample(items, 10, String, "seed")).toEqual(kept);
    expect(sample(items, 500, String, "seed")).toEqual(items);
  });
});
