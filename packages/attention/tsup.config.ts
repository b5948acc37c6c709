import { defineConfig } from "tsup";

// ESM only: on Node ≥ 20.19, `require` of a MiniMind package (require(esm)) and `import` load the same module,
// so a process has one tensor world (see packages/tensor/README.md, "One module instance"). No source maps: dist/ is
// unminified, readable code, so stack traces point at legible lines, and maps would double the tarball.
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  dts: true,
  clean: true,
  target: "node20",
});
