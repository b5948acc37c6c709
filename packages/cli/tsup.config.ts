import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
  version: string;
};

// The CLI bundles the @minimind/* packages it uses (they are devDependencies), so the packed tarball runs
// with `npx ./minimind-cli-x.y.z.tgz` before, and independently of, those packages being published. Their
// third-party dependencies stay external and are declared in this package.json (checked by
// scripts/check-package-boundaries.mjs). `bin` and the ESM entry share chunks (code splitting).
// ESM only, like the packages it bundles (Node ≥ 20.19 can `require()` it). No source maps (they would double
// the tarball) and minified (a tenth less packed size, scripts/check-package-sizes.mjs) with names kept, so a
// stack trace (`--verbose`) still names every function.
export default defineConfig({
  entry: ["src/index.ts", "src/bin.ts"],
  format: ["esm"],
  // Declarations without their doc comments: the programmatic API is documented in the README, and the
  // comments were a sixth of the packed size (scripts/check-package-sizes.mjs).
  dts: { entry: "src/index.ts", compilerOptions: { removeComments: true } },
  // Stale chunks from an earlier build would ship too (and count against the size budget).
  clean: true,
  target: "node20",
  minify: true,
  esbuildOptions(options) {
    options.keepNames = true;
    // The bundled tokenizer's non-ASCII text stays UTF-8 instead of \uXXXX escapes (twice the bytes).
    options.charset = "utf8";
  },
  noExternal: [/^@minimind\//],
  define: { __MINIMIND_CLI_VERSION__: JSON.stringify(version) },
});
