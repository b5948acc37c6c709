import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/gpujs.ts", "src/internals.ts"],
  format: ["esm", "cjs"],
  dts: true,
  // Shared chunks for the entries in both formats: @minimind/tensor/gpujs and @minimind/tensor/internals must
  // reach the same backend registry as @minimind/tensor (CommonJS included).
  splitting: true,
  sourcemap: true,
  clean: true,
  target: "node20",
});
