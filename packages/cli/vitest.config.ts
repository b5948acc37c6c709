import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
  version: string;
};

export default defineConfig({
  define: { __MINIMIND_CLI_VERSION__: JSON.stringify(version) },
  test: {
    include: ["src/**/*.test.ts"],
    // The command tests run the built executable; build it first when the sources are newer.
    globalSetup: ["./vitest.global-setup.ts"],
    // Some tests do real numeric work (fixture parity, 2,000 train steps, fuzzing); on a loaded 2-core CI
    // machine they can take tens of seconds. Timeouts guard against hangs, they assert nothing about speed.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
