/**
 * `pnpm bench [suite…] [--json]`: runs the named suites (all when none is named). Human-readable lines by
 * default; with --json, one JSON object per result line on stdout and progress on stderr.
 */
import { availableParallelism } from "node:os";
import { suites } from "./suites/index.js";

async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes("--json");
  const names = argv.filter((a) => !a.startsWith("-"));
  const unknownFlags = argv.filter((a) => a.startsWith("-") && a !== "--json");
  if (unknownFlags.length > 0) {
    process.stderr.write(`bench: unknown option ${unknownFlags.join(", ")}. Usage: pnpm bench [suite…] [--json]\n`);
    return 2;
  }
  const unknown = names.filter((n) => !suites.some((s) => s.name === n));
  if (unknown.length > 0) {
    const known = suites.map((s) => s.name).join(", ") || "(none yet)";
    process.stderr.write(`bench: unknown suite ${unknown.join(", ")}. Known suites: ${known}\n`);
    return 2;
  }
  const selected = names.length === 0 ? suites : suites.filter((s) => names.includes(s.name));
  if (selected.length === 0) {
    process.stderr.write("bench: no suites are registered yet\n");
    return 0;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  // Which runtime measured the figures: every JSON line carries it too, so runs on Node 20 and 24 stay apart.
  const runtime = `node ${process.version}`;
  log(`# ${runtime} (V8 ${process.versions.v8}), ${process.platform}-${process.arch}, ${availableParallelism()} cores`);
  for (const suite of selected) {
    log(`# ${suite.name}: ${suite.description}`);
    for await (const result of suite.run({ log })) {
      if (json) {
        process.stdout.write(`${JSON.stringify({ ...result, runtime })}\n`);
      } else {
        const peer =
          result.peer === null
            ? ""
            : `  vs ${result.peer} ${result.peerValue?.toPrecision(4)} → ratio ${result.ratio?.toFixed(2)}`;
        process.stdout.write(
          `${result.suite}/${result.case} [${runtime}]  ${result.metric} ${result.value.toPrecision(4)} ${result.unit}${peer}\n`,
        );
      }
    }
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
