/**
 * One small training run for the resume tests, shared by the test process and its child processes (run
 * with tsx): a tiny model on a deterministic corpus, pretraining or SFT, packed or not. As a child it
 * trains with checkpoints, prints `CHECKPOINT <step>` and `STEP <step>` lines, and, with `hangAfter`, blocks
 * after that step so the parent can kill it mid-run. Test-only.
 */
import { Tokenizer } from "@minimind/tokenizer";
import { PackedDataset } from "../packing.js";
import { PretrainDataset } from "../pretrain-dataset.js";
import { recordsFromArray, type TrainingDataset } from "../sample.js";
import { SFTDataset } from "../sft-dataset.js";
import { type TrainEvent, type TrainResult, train } from "../trainer.js";
import { corpus, tinyModel } from "./tiny.js";

export interface ResumeRunSettings {
  readonly stage: "pretrain" | "sft";
  readonly packed: boolean;
  readonly outputDirectory?: string;
  readonly maxSteps: number;
  readonly checkpointEvery?: number;
  readonly resume?: string;
  /** Child only: block forever after this step (its metrics logged), as if busy when killed. */
  readonly hangAfter?: number;
  /** Child only: sleep this long (ms) after each step, so a signal arrives mid-run. */
  readonly slowSteps?: number;
}

export function resumeDataset(stage: "pretrain" | "sft", packed: boolean): TrainingDataset {
  const tokenizer = Tokenizer.minimind();
  const texts = corpus(48);
  const documents =
    stage === "pretrain"
      ? new PretrainDataset(recordsFromArray(texts.map((text) => ({ text }))), { tokenizer, maxSeqLen: 40 })
      : new SFTDataset(
          recordsFromArray(
            texts.map((text, index) => ({
              conversations: [
                { role: "user", content: `第${index}句？` },
                { role: "assistant", content: text },
              ],
            })),
          ),
          { tokenizer, maxSeqLen: 48, seed: 3 },
        );
  return packed ? new PackedDataset(documents, { maxSeqLen: 64 }) : documents;
}

export async function resumeRun(
  settings: ResumeRunSettings,
  onEvent: (event: TrainEvent) => void = () => {},
): Promise<{ result: TrainResult; model: ReturnType<typeof tinyModel> }> {
  const model = tinyModel(11, { dropout: 0.1 });
  const result = await train({
    model,
    dataset: resumeDataset(settings.stage, settings.packed),
    stage: settings.stage,
    epochs: 12,
    batchSize: 4,
    accumulationSteps: 2,
    learningRate: 2e-3,
    warmupSteps: 3,
    seed: 5,
    maxSteps: settings.maxSteps,
    attention: settings.stage === "sft" ? "segments" : "causal",
    ...(settings.outputDirectory !== undefined ? { outputDirectory: settings.outputDirectory } : {}),
    ...(settings.checkpointEvery !== undefined ? { checkpointEvery: settings.checkpointEvery } : {}),
    ...(settings.resume !== undefined ? { resume: settings.resume } : {}),
    onEvent,
  });
  return { result, model };
}

async function child(): Promise<void> {
  const settings = JSON.parse(process.argv[2] as string) as ResumeRunSettings;
  const { result } = await resumeRun(settings, (event) => {
    if (event.type === "checkpoint") process.stdout.write(`CHECKPOINT ${event.step} ${event.reason}\n`);
    if (event.type === "step") {
      process.stdout.write(`STEP ${event.step}\n`);
      if (settings.hangAfter === event.step) {
        // Simulate a run that is busy between checkpoints when it is killed.
        for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
      }
      if (settings.slowSteps !== undefined)
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, settings.slowSteps);
    }
  });
  process.stdout.write(`END ${result.stoppedBy} ${result.step}\n`);
  if (result.stoppedBy === "signal") process.exitCode = 130;
}

if (process.argv[1]?.endsWith("resume-run.ts") && process.argv[2] !== undefined) {
  child().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
