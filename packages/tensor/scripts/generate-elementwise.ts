/**
 * Writes the CPU backend's elementwise loops (src/backends/cpu/elementwise-loops.generated.ts) from the
 * expression table (src/backends/elementwise-table.ts). Run after editing the table:
 * `pnpm --filter @minimind/tensor generate`.
 */
import { writeFileSync } from "node:fs";
import { generatedLoopsFile, renderElementwiseLoops } from "../src/backends/cpu/elementwise-codegen.js";

const target = new URL(`../${generatedLoopsFile}`, import.meta.url);
writeFileSync(target, renderElementwiseLoops());
console.log(`generate-elementwise: wrote ${generatedLoopsFile}`);
