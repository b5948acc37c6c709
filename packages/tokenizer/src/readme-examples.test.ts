/**
 * The README's example (examples/tour.ts) runs to the end and prints what its comments say. The README's code
 * block equals the file (scripts/check-readme-examples.mjs) and `typecheck` compiles it as a strict user project
 * would (examples/tsconfig.json). It imports `@minimind/tokenizer` by name: the built package.
 */
import { expect, it, vi } from "vitest";

it("tour.ts prints what its comments say", async () => {
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  await import("../examples/tour.js");
  const printed = log.mock.calls;
  log.mockRestore();
  expect(printed[0]).toEqual([[5351, 938, 851, 1728, 1221, 294, 4755, 357, 553, 562, 506, 286, 302]]);
  expect(printed[1]).toEqual(["床前明月光，疑是地上霜。"]);
  expect(printed[2]?.[0]).toMatch(/<\|im_start\|>user\n法国的首都是哪里？<\|im_end\|>\n<\|im_start\|>assistant\n/);
  expect(printed[3]).toEqual(['"<think>\\n\\n</think>\\n\\n巴黎<|im_end|>\\n"']);
  expect(printed[4]).toEqual(["template template template template system system", "0 0 0 0 0 0"]);
  expect(printed[5]).toEqual([300, "花落知多少"]);
});
