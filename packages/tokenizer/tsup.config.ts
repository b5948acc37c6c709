import { readFile } from "node:fs/promises";
import { defineConfig } from "tsup";
import { compactMerges } from "./src/embedded-merges";

// ESM only: on Node ≥ 20.19, `require` of a MiniMind package (require(esm)) and `import` load the same module,
// so a process has one tensor world (see packages/tensor/README.md, "One module instance"). No source maps: dist/ is
// unminified, readable code, so stack traces point at legible lines, and maps would double the tarball.
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  dts: true,
  clean: true,
  target: "node20",
  esbuildOptions(options) {
    // Keep the embedded tokenizer's non-ASCII text as UTF-8 instead of \uXXXX escapes (twice the bytes).
    options.charset = "utf8";
  },
  esbuildPlugins: [
    {
      // MiniMind's tokenizer files (data/*.json) are embedded once, as one compact string parsed at load,
      // instead of esbuild's pretty-printed object literal (60 % larger, and slower to parse).
      name: "embed-json-as-string",
      setup(build) {
        build.onLoad({ filter: /[\\/]data[\\/][^\\/]+\.json$/ }, async (args) => {
          const parsed = JSON.parse(await readFile(args.path, "utf8"));
          // tokenizer.json's merges as vocabulary-id pairs (src/embedded-merges.ts; expanded when loaded).
          const compact = JSON.stringify(args.path.endsWith("tokenizer.json") ? compactMerges(parsed) : parsed);
          return { contents: `export default JSON.parse(${JSON.stringify(compact)});`, loader: "js" };
        });
      },
    },
  ],
});
