import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generatedLoopsFile, renderElementwiseLoops } from "./cpu/elementwise-codegen.js";
import { binaryTable, unaryTable } from "./elementwise-table.js";
import { binarySource, unarySource } from "./gpujs/sources.js";

describe("the elementwise expression table", () => {
  it("generated the CPU loops file (after editing the table: pnpm --filter @minimind/tensor generate)", () => {
    const onDisk = readFileSync(new URL(`../../${generatedLoopsFile}`, import.meta.url), "utf8");
    expect(onDisk === renderElementwiseLoops(), `${generatedLoopsFile} is stale; run the generate script`).toBe(true);
  });

  it("drives the gpu.js kernels: every row's statement is in its op's kernel source", () => {
    for (const [op, row] of Object.entries(unaryTable)) {
      expect(unarySource(op as keyof typeof unaryTable)).toContain(row.gpujs ?? row.statement);
    }
    for (const [op, row] of Object.entries(binaryTable)) {
      expect(binarySource(op as keyof typeof binaryTable)).toContain(row.gpujs ?? row.statement);
    }
  });
});
