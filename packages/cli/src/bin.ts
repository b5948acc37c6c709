#!/usr/bin/env node
/**
 * The `minimind` executable: hands argv to `run` and exits with its code. A closed stdout (`minimind tokenize
 * big.txt | head`) ends the process quietly with exit code 0 instead of an EPIPE trace.
 */
import { run } from "./index.js";

// Stack traces (printed only with --verbose or DEBUG) point into the sources rather than the bundle.
if (process.argv.includes("--verbose") || (process.env.DEBUG ?? "") !== "") process.setSourceMapsEnabled(true);

for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}

run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
