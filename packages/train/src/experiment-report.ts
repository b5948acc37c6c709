/**
 * The mask experiment's summary and markdown: per arm and task, exact match and answer-token loss as mean ±
 * 95 % t-interval over seeds, the paired difference of each against the causal arm of the same seed (marked
 * when its interval excludes zero), and the 3-turn chat timings. The quality table is a pure function of the
 * measured scores, so a rerun with the same options reproduces it exactly; the timing table is wall time and
 * does not. Not here: running anything (experiment.ts).
 */

import type { MaskExperimentResult, MaskExperimentRun } from "./experiment.js";
import { MASK_EXPERIMENT_ARMS, type MaskExperimentArm } from "./experiment-arms.js";
import { excludesZero, formatInterval, type Interval, tInterval } from "./experiment-statistics.js";

export interface MaskExperimentSummaryRow {
  readonly arm: MaskExperimentArm;
  readonly task: string;
  readonly exactMatch: Interval;
  readonly answerLoss: Interval;
  /** Paired by seed: this arm minus causal (undefined for causal itself or without a causal run). */
  readonly exactMatchVersusCausal?: Interval;
  readonly answerLossVersusCausal?: Interval;
}

function tasksOf(result: MaskExperimentResult): string[] {
  return [...new Set(result.runs.flatMap((run) => Object.keys(run.tasks)))];
}

function armsOf(result: MaskExperimentResult): MaskExperimentArm[] {
  return MASK_EXPERIMENT_ARMS.filter((arm) => result.runs.some((run) => run.arm === arm));
}

function pairedDifference(
  runs: readonly MaskExperimentRun[],
  causalRuns: readonly MaskExperimentRun[],
  value: (run: MaskExperimentRun) => number,
): Interval | undefined {
  const differences: number[] = [];
  for (const run of runs) {
    const partner = causalRuns.find((candidate) => candidate.seed === run.seed);
    if (partner !== undefined) differences.push(value(run) - value(partner));
  }
  return differences.length === 0 ? undefined : tInterval(differences);
}

export function summarizeMaskExperiment(result: MaskExperimentResult): MaskExperimentSummaryRow[] {
  const rows: MaskExperimentSummaryRow[] = [];
  const causalRuns = result.runs.filter((run) => run.arm === "causal");
  for (const task of tasksOf(result)) {
    for (const arm of armsOf(result)) {
      const runs = result.runs.filter((run) => run.arm === arm && run.tasks[task] !== undefined);
      const exact = (run: MaskExperimentRun) => run.tasks[task]?.exactMatch ?? Number.NaN;
      const loss = (run: MaskExperimentRun) => run.tasks[task]?.answerLoss ?? Number.NaN;
      const versus = arm === "causal" ? undefined : pairedDifference(runs, causalRuns, exact);
      const lossVersus = arm === "causal" ? undefined : pairedDifference(runs, causalRuns, loss);
      rows.push({
        arm,
        task,
        exactMatch: tInterval(runs.map(exact)),
        answerLoss: tInterval(runs.map(loss)),
        ...(versus !== undefined ? { exactMatchVersusCausal: versus } : {}),
        ...(lossVersus !== undefined ? { answerLossVersusCausal: lossVersus } : {}),
      });
    }
  }
  return rows;
}

function difference(interval: Interval | undefined): string {
  if (interval === undefined) return "—";
  const sign = interval.mean >= 0 ? "+" : "";
  return `${sign}${formatInterval(interval)}${excludesZero(interval) ? " *" : ""}`;
}

const MASK_NAMES = { causal: "causal", prefix: "prefixLM", segments: "segments", memory: "memory + causal" } as const;

/** The quality table (markdown): a pure function of the scores, reproduced exactly by the same options. */
export function maskExperimentTable(result: MaskExperimentResult): string {
  const lines: string[] = [];
  for (const task of tasksOf(result)) {
    lines.push(
      `**${task}** (held-out, ${result.runs[0]?.tasks[task]?.examples ?? 0} examples; mean ± 95 % t-interval over ${new Set(result.runs.map((run) => run.seed)).size} seeds; Δ = paired by seed against causal, * = interval excludes 0)`,
    );
    lines.push("");
    lines.push("| arm | trained with | served with | exact match | Δ exact | answer loss (nats) | Δ loss |");
    lines.push("| --- | --- | --- | --- | --- | --- | --- |");
    for (const row of summarizeMaskExperiment(result).filter((candidate) => candidate.task === task)) {
      const run = result.runs.find((candidate) => candidate.arm === row.arm);
      lines.push(
        `| ${row.arm} | ${run ? MASK_NAMES[run.trainingMask] : "?"} | ${run ? MASK_NAMES[run.servingMask] : "?"} | ${formatInterval(row.exactMatch)} | ${difference(row.exactMatchVersusCausal)} | ${formatInterval(row.answerLoss)} | ${difference(row.answerLossVersusCausal)} |`,
      );
    }
    lines.push("");
  }
  return lines.join("\n");
}

/** The 3-turn chat timings (markdown): wall time, so it changes from run to run and machine to machine. */
export function maskExperimentChatTable(result: MaskExperimentResult): string {
  const timed = armsOf(result).filter((arm) => result.runs.some((run) => run.arm === arm && run.chat !== undefined));
  if (timed.length === 0) return "";
  const turns = Math.max(...result.runs.map((run) => run.chat?.turnMilliseconds.length ?? 0));
  const turnHeaders = Array.from({ length: turns }, (_, turn) => `turn ${turn + 1} ms`);
  const lines = [
    `| arm | served with | ${turnHeaders.join(" | ")} | prompt tokens computed at turn ${turns} | tokens generated per turn | cache kept after turn 1 |`,
    `| --- | --- | ${turnHeaders.map(() => "---").join(" | ")} | --- | --- | --- |`,
  ];
  for (const arm of timed) {
    const runs = result.runs.filter((run) => run.arm === arm && run.chat !== undefined);
    const chat = runs.map((run) => run.chat as NonNullable<MaskExperimentRun["chat"]>);
    const perTurn = Array.from({ length: turns }, (_, turn) =>
      formatInterval(tInterval(chat.map((timing) => timing.turnMilliseconds[turn] ?? Number.NaN)), 0),
    );
    const computed = formatInterval(tInterval(chat.map((timing) => timing.computedTokens[turns - 1] ?? Number.NaN)), 0);
    const reuse = tInterval(chat.map((timing) => timing.cacheReuseRate)).mean;
    // Older results.json files have no generatedTokens.
    const perTurnGenerated = chat.flatMap((timing) => timing.generatedTokens ?? []);
    const generated = perTurnGenerated.length === 0 ? "—" : formatInterval(tInterval(perTurnGenerated), 1);
    lines.push(
      `| ${arm} | ${MASK_NAMES[(runs[0] as MaskExperimentRun).servingMask]} | ${perTurn.join(" | ")} | ${computed} | ${generated} | ${(reuse * 100).toFixed(0)} % |`,
    );
  }
  return lines.join("\n");
}
