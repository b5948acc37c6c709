/**
 * Counting for the fuzz suites: each suite runs its cases through `fuzzCase` (the watchdog of watchdog.ts:
 * 1 s and 200 MB a case, no raw engine error), which tallies results and clean refusals per suite; the
 * tallies are printed when the file ends, and `totalCases` lets a file assert how many cases it ran.
 * Not a test runner: one shared table per test file.
 */
import { type Budget, type Outcome, watchCase } from "./watchdog.js";

interface Tally {
  cases: number;
  results: number;
  refusals: number;
  messages: Map<string, number>;
}

const tallies = new Map<string, Tally>();

/** Runs one case of `suite` under the watchdog, counts it, and returns its outcome. */
export async function fuzzCase(suite: string, run: () => unknown, budget?: Budget): Promise<Outcome> {
  let tally = tallies.get(suite);
  if (tally === undefined) {
    tally = { cases: 0, results: 0, refusals: 0, messages: new Map() };
    tallies.set(suite, tally);
  }
  tally.cases += 1;
  const outcome = await watchCase(`${suite} case ${tally.cases}`, run, budget);
  if (outcome.kind === "result") tally.results += 1;
  else {
    tally.refusals += 1;
    // group refusals by their wording, numbers and quoted values blanked
    const shape = outcome.message
      .replace(/"[^"]*"/g, '"…"')
      .replace(/\d+(\.\d+)?(e[+-]?\d+)?/g, "N")
      .slice(0, 80);
    tally.messages.set(shape, (tally.messages.get(shape) ?? 0) + 1);
  }
  return outcome;
}

/** Cases run so far, over every suite of this file. */
export function totalCases(): number {
  let total = 0;
  for (const tally of tallies.values()) total += tally.cases;
  return total;
}

/** One line per suite (cases, results, refusals, distinct refusal kinds), and the total. */
export function printTallies(title: string): void {
  const lines = [...tallies].map(
    ([suite, tally]) =>
      `  ${suite.padEnd(28)} ${String(tally.cases).padStart(6)} cases: ${String(tally.results).padStart(6)} results, ${String(tally.refusals).padStart(6)} clean refusals (${tally.messages.size} kinds)`,
  );
  console.log(`${title}: ${totalCases()} cases\n${lines.join("\n")}`);
}
