/**
 * `--minutes`: turns a time budget into a step count, so a run stays reproducible and resumable (the trainer
 * counts steps, never the clock). Five optimizer steps of a scratch copy of the model (same configuration,
 * same data and batch settings, thrown away after) measure the seconds a step takes; the first two, which pay
 * for warm-up, are left out. The count is saved in `<out>/budget.json`, so `--resume` keeps the same schedule.
 * Not here: the run itself (run.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StrategyLike } from "@minimind/attention";
import { type MiniMindConfig, MiniMindForCausalLM } from "@minimind/model";
import { type AttentionMode, type Batch, type TrainingDataset, train } from "@minimind/train";

export interface BudgetSettings {
  out: string;
  minutes: number;
  batchSize: number;
  accumulation: number;
  learningRate: number;
  seed: number;
  mask: AttentionMode | ((batch: Batch) => StrategyLike);
  resume?: boolean | string;
}

export interface StepBudget {
  steps: number;
  stepSeconds: number;
  /** True when read back from an earlier run's budget.json. */
  reused: boolean;
}

/** Seconds one optimizer step takes for this configuration and data (the mean of steps 3–5). */
export async function measureStepSeconds(
  config: MiniMindConfig,
  dataset: TrainingDataset,
  settings: BudgetSettings,
): Promise<number> {
  const scratch = new MiniMindForCausalLM(config, { seed: settings.seed });
  const elapsed: number[] = [];
  try {
    await train({
      model: scratch,
      dataset,
      stage: "sft",
      epochs: 1000,
      batchSize: settings.batchSize,
      accumulationSteps: settings.accumulation,
      learningRate: settings.learningRate,
      seed: settings.seed,
      maxSteps: 5,
      attention: settings.mask,
      handleSignals: false,
      onEvent: (event) => {
        if (event.type === "step") elapsed.push(event.elapsedSeconds);
      },
    });
  } finally {
    scratch.dispose();
  }
  // Steps 1 and 2 pay for warm-up (kernel compilation, first allocations): time steps 3 to 5.
  const from = Math.min(2, elapsed.length - 1);
  const first = elapsed[from - 1] ?? 0;
  const last = elapsed.at(-1) ?? first;
  return elapsed.length > from && from > 0 ? (last - first) / (elapsed.length - from) : Math.max(last, 1e-3);
}

/** The step count for `settings.minutes` minutes (less `spentSeconds`), measured or read from budget.json. */
export async function stepBudget(
  config: MiniMindConfig,
  dataset: TrainingDataset,
  settings: BudgetSettings,
  spentSeconds: number,
): Promise<StepBudget> {
  const file = join(settings.out, "budget.json");
  if (settings.resume !== undefined && existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, "utf8")) as { steps: number; stepSeconds: number };
    return { steps: saved.steps, stepSeconds: saved.stepSeconds, reused: true };
  }
  const started = performance.now();
  const stepSeconds = await measureStepSeconds(config, dataset, settings);
  const left = settings.minutes * 60 - spentSeconds - (performance.now() - started) / 1000;
  const steps = Math.max(1, Math.floor(left / stepSeconds));
  mkdirSync(settings.out, { recursive: true });
  writeFileSync(file, `${JSON.stringify({ minutes: settings.minutes, steps, stepSeconds }, null, 2)}\n`);
  return { steps, stepSeconds, reused: false };
}
