/**
 * The README's TypeScript examples (examples/*.ts) run to the end and do what their comments say. The README's code
 * blocks equal these files (scripts/check-readme-examples.mjs) and `typecheck` compiles them as a strict user
 * project would (examples/tsconfig.json). They import `@minimind/cli` by name: the built package, as a user gets it.
 * The README's shell commands are tested by readme-examples-commands.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it, vi } from "vitest";

let folder = "";
let previous = "";
beforeEach(() => {
  previous = process.cwd();
  folder = mkdtempSync(join(tmpdir(), "cli-readme-"));
  process.chdir(folder);
});
afterEach(() => {
  process.chdir(previous);
  rmSync(folder, { recursive: true, force: true });
});

/** Runs an example and returns what it passed to console.log and wrote to stdout. */
async function runExample(load: () => Promise<unknown>) {
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  const written: string[] = [];
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  const printed = log.mock.calls;
  try {
    await load();
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
  return { printed, written: written.join("") };
}

it("run.ts: tokenize prints the ids and returns 0; a malformed value returns 2 and one line on stderr", async () => {
  const { printed, written } = await runExample(() => import("../examples/run.js"));
  expect(written).toBe("1602 2968\n");
  const [exitCode, usage, error] = printed[0] as [number, number, string];
  expect([exitCode, usage]).toEqual([0, 2]);
  expect(error).toMatch(/^minimind tokenize: option '--decode \[ids\.\.\.\]' argument '1e3' is invalid\. .*\n$/);
});

it("line-chart.ts: run/loss.svg with the title and both series, and run/loss.png (or the reason there is none)", async () => {
  const { printed } = await runExample(() => import("../examples/line-chart.js"));
  const written = printed[0]?.[0] as { svg: string; png?: string; pngError?: string };
  expect(written.svg).toBe("run/loss.svg");
  const svg = readFileSync("run/loss.svg", "utf8");
  expect(svg).toMatch(/^<svg/);
  for (const text of ["pretrain loss", "train", "held out"]) expect(svg).toContain(`>${text}</text>`);
  if (written.pngError === undefined) {
    expect(written.png).toBe("run/loss.png");
    expect([...readFileSync("run/loss.png").subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  } else {
    expect(written.png).toBeUndefined();
  }
});
