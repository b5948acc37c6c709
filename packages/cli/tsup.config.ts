import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
  version: string;
};

// The CLI bundles the @minimind/* packages it uses (they are devDependencies), so the packed tarball runs
// with `npx ./minimind-cli-x.y.z.tgz` before, and independently of, those packages being published.
export default defineConfig([
  {
    entry: ["src/index.ts"],
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "node20",
    noExternal: [/^@minimind\//],
    define: { __MINIMIND_CLI_VERSION__: JSON.stringify(version) },
  },
  {
    entry: ["src/bin.ts"],
    format: ["esm"],
    sourcemap: true,
    target: "node20",
    noExternal: [/^@minimind\//],
    define: { __MINIMIND_CLI_VERSION__: JSON.stringify(version) },
    banner: { js: "#!/usr/bin/env node" },
  },
]);
