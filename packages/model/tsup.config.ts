import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/safetensors-entry.ts", "src/pytorch-entry.ts"],
  format: ["esm", "cjs"],
  dts: true,
  splitting: true,
  sourcemap: true,
  clean: true,
  target: "node20",
});
