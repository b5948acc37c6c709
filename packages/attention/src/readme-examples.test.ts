/**
 * The README's example (examples/tour.ts) runs to the end and prints what its comments say. The README's code
 * block equals the file (scripts/check-readme-examples.mjs) and `typecheck` compiles it as a strict user project
 * would (examples/tsconfig.json). It imports the packages by name: the built packages, as a user gets them.
 */
import { expect, it, vi } from "vitest";

it("tour.ts prints what its comments say", async () => {
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  await import("../examples/tour.js");
  const printed = log.mock.calls;
  log.mockRestore();
  expect(printed[0]).toEqual(["1 0 1 0 0 1 1 1 0 1"]);
  expect(typeof printed[1]?.[0]).toBe("string");
  expect(printed[2]).toEqual([
    [1, 8, 10, 64],
    [1, 4, 10, 64],
  ]);
  expect(printed[3]).toEqual([
    [
      [0, 2],
      [2, 5],
      [5, 6],
      [6, 7],
      [7, 9],
      [9, 10],
    ],
  ]);
  expect(printed[4]).toEqual([
    [1, 1, 2, 2],
    [1, 1, 2, 2],
  ]);
  expect(printed[5]?.[0]).toMatch(/^\[KeyValueCache\] strategy "segments" refuses a chunk \[2, 3\): token 2/);
});
