import { readFileSync } from "node:fs";
import { defineConfig, type Options } from "tsup";

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
  version: string;
};

// The CLI bundles the @minimind/* packages it uses (they are devDependencies), so the packed tarball runs
// with `npx ./minimind-cli-x.y.z.tgz` before, and independently of, those packages being published. Their
// third-party dependencies stay external and are declared in this package.json (checked by
// scripts/check-package-boundaries.mjs). `bin` and the ESM entry share chunks (code splitting).
// Source maps map stack traces back to file and line but carry no source text (sourcesContent: false), which
// would otherwise double the tarball.
const shared = {
  sourcemap: true,
  // import.meta.url in the CJS build (the shipped corpus is found relative to the module).
  shims: true,
  esbuildOptions(options) {
    options.sourcesContent = false;
  },
  target: "node20",
  noExternal: [/^@minimind\//],
  define: { __MINIMIND_CLI_VERSION__: JSON.stringify(version) },
} satisfies Options;

export default defineConfig([
  { ...shared, entry: ["src/index.ts", "src/bin.ts"], format: ["esm"], dts: { entry: "src/index.ts" } },
  { ...shared, entry: ["src/index.ts"], format: ["cjs"], dts: { entry: "src/index.ts" } },
]);
