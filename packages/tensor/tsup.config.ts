import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/gpujs.ts"],
  format: ["esm", "cjs"],
  dts: true,
  // One shared chunk for both entries in both formats: @minimind/tensor/gpujs must register into the same
  // backend registry as @minimind/tensor (CommonJS included).
  splitting: true,
  sourcemap: true,
  clean: true,
  target: "node20",
});
