#!/usr/bin/env node
/** The `minimind` executable: hands argv to `run` and exits with its code. */
import { run } from "./index.js";

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`minimind: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
