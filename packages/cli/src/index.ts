/**
 * @minimind/cli — the `minimind` command. This file only wires subcommands (one file each in `commands/`)
 * and exposes `run` for programmatic and in-process use, plus the data-building functions other tools
 * reuse; `bin.ts` is the executable and `program.ts` the parsing and exit-code rules.
 */
import type { CliCommand, CommandIo } from "./command.js";
import { chatCommand } from "./commands/chat.js";
import { convertCommand } from "./commands/convert.js";
import { dataCommand } from "./commands/data.js";
import { demoCommand } from "./commands/demo.js";
import { evalCommand } from "./commands/eval.js";
import { experimentCommand } from "./commands/experiment-masks.js";
import { generateCommand } from "./commands/generate.js";
import { loraCommand } from "./commands/lora.js";
import { maskCommand } from "./commands/mask.js";
import { pretrainCommand } from "./commands/pretrain.js";
import { serveCommand } from "./commands/serve.js";
import { sftCommand } from "./commands/sft.js";
import { tokenizeCommand } from "./commands/tokenize.js";
import { trainTokenizerCommand } from "./commands/train-tokenizer.js";
import { versionCommand } from "./commands/version.js";
import { processIo } from "./io.js";
import { runProgram } from "./program.js";

export type { CliCommand, CommandContext, CommandIo, Invocation } from "./command.js";
export { ExitCode, UsageError } from "./command.js";
export { DATA_FILES } from "./commands/data.js";
export type { BuildOptions, DatasetSummary, Datasets, PretrainRecord, SftRecord, Side } from "./data/build.js";
export { buildDatasets, pretrainTexts, toJsonl } from "./data/build.js";
export type { Question, QuestionKind } from "./data/questions.js";
export { AnswerIndex, clauses, QUESTION_KINDS, questionsFor } from "./data/questions.js";
export type { SplitOptions } from "./data/split.js";
export { isHeldOut, stableFraction, workIdentity } from "./data/split.js";
export type { ChatRole, Conversation, InputContents, Work } from "./data/works.js";
export { loadShippedCorpus, parseJsonl, parsePlainText, readInputFile, shippedCorpusPath } from "./data/works.js";
export type { ChartPoint, ChartSeries, LineChartOptions, WrittenChart } from "./plot/line-chart.js";
export { lineChartSpec, renderLineChartSvg, svgToPng, writeLineChart } from "./plot/line-chart.js";
export type { InterruptWatch, InterruptWatchOptions, SignalSource } from "./terminal/interrupt.js";
export { InterruptedError, watchInterrupt } from "./terminal/interrupt.js";
export type { ProgressOptions, ProgressUpdate } from "./terminal/progress.js";
export { ProgressBar } from "./terminal/progress.js";
export { sparkline } from "./terminal/sparkline.js";

/** Every subcommand, in the order `--help` lists them. */
export const commands: readonly CliCommand[] = [
  demoCommand,
  dataCommand,
  pretrainCommand,
  sftCommand,
  loraCommand,
  generateCommand,
  evalCommand,
  chatCommand,
  convertCommand,
  serveCommand,
  maskCommand,
  experimentCommand,
  tokenizeCommand,
  trainTokenizerCommand,
  versionCommand,
];

/**
 * Runs the CLI on `argv` (without the node and script paths) and returns the exit code: 0 ok, 1 the work
 * failed, 2 usage error, 130 interrupted. Never throws. `io` defaults to the process; pass parts of it to
 * capture output.
 */
export async function run(argv: readonly string[], io: Partial<CommandIo> = {}): Promise<number> {
  return runProgram(commands, argv, { ...processIo(), ...io });
}
