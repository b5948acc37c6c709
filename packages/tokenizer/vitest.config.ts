import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    // Some tests do real numeric work (fixture parity, 2,000 train steps, fuzzing); on a loaded 2-core CI
    // machine they can take tens of seconds. Timeouts guard against hangs, they assert nothing about speed.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
