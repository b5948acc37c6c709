import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    // The memory test forces garbage collection before measuring the JS heap.
    execArgv: ["--expose-gc"],
  },
});
