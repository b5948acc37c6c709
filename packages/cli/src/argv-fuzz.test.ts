/**
 * Command-line fuzzing (issue #18): random argv built from the commands' real words, flags, malformed numbers
 * and junk, run in-process. Every run must end with a documented exit code (0, 1 or 2) without throwing;
 * a usage error (2) points to --help, a failure (1) is one line without a stack trace. Inputs are chosen so
 * no case does heavy work: commands that read files get a file that does not exist. Seeded, so a failure
 * reproduces; FUZZ_RUNS raises the count.
 */
import { describe, expect, it } from "vitest";
import { commands } from "./index.js";
import { runProgram } from "./program.js";
import { captureIo } from "./testing/capture-io.js";

/** xorshift32: a small seeded generator, so every run draws the same cases. */
function generator(seed: number): (count: number) => number {
  let state = seed >>> 0 || 1;
  return (count) => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % count;
  };
}

const heads = [
  ["tokenize"],
  ["version"],
  ["mask", "show"],
  ["mask"],
  ["data", "missing.jsonl"],
  ["train-tokenizer", "missing.jsonl"],
  ["help"],
  [],
];
const flags = [
  "--decode",
  "--text",
  "--json",
  "--special",
  "--tokenizer",
  "--strategy",
  "--segments",
  "--length",
  "--prefix",
  "--max-tokens",
  "--chat",
  "--heldout",
  "--max-works",
  "--max-characters",
  "--kinds",
  "--collections",
  "--vocab-size",
  "--min-frequency",
  "--seed",
  "--verbose",
  "--help",
  "-h",
  "--version",
  "--frob",
  "-x",
  "--",
];
const values = [
  "1",
  "0",
  "-1",
  "3",
  "1e3",
  "0x10",
  "1.5",
  "",
  " ",
  "NaN",
  "Infinity",
  "1,0,1",
  "1,x",
  "causal",
  "prefix",
  "segments",
  "tang",
  "author",
  "no-such-file.json",
  "[]",
  "[{",
  '[{"role":"user","content":"hi"}]',
  "床前明月光",
  "9007199254740993",
];

describe("argv fuzzing", () => {
  const runs = Number(process.env.FUZZ_RUNS ?? 400);

  it(`${runs} random command lines end with 0, 1 or 2, cleanly`, async () => {
    const draw = generator(20261201);
    const counts = { 0: 0, 1: 0, 2: 0 } as Record<number, number>;
    for (let run = 0; run < runs; run++) {
      const argv = [...(heads[draw(heads.length)] as string[])];
      const words = draw(5);
      for (let word = 0; word < words; word++) {
        argv.push(draw(3) === 0 ? (values[draw(values.length)] as string) : (flags[draw(flags.length)] as string));
        if (draw(2) === 0) argv.push(values[draw(values.length)] as string);
      }
      // Never let a case reach heavy work or the real terminal.
      if (argv[0] === "mask" && !argv.includes("--json") && !argv.includes("--svg")) argv.push("--json");
      const { io, err } = captureIo();
      const code = await runProgram(commands, argv, io);
      const stderr = err();
      const label = JSON.stringify(argv);
      expect([0, 1, 2], label).toContain(code);
      counts[code] = (counts[code] ?? 0) + 1;
      if (code === 2 && stderr !== "" && !stderr.includes("Commands:")) {
        expect(stderr, label).toMatch(/Run "minimind[^"]*--help" for usage\.\n$/);
      }
      if (code === 1 && !argv.includes("--verbose")) {
        expect(
          stderr.split("\n").filter((line) => line !== ""),
          label,
        ).toHaveLength(1);
        expect(stderr, label).not.toMatch(/\n\s+at /);
      }
    }
    console.log(`argv fuzzing: ${runs} cases, exit codes ${JSON.stringify(counts)}`);
    expect(counts[2]).toBeGreaterThan(0);
    expect(counts[0]).toBeGreaterThan(0);
  });
});
