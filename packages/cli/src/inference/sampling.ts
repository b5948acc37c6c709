/**
 * The sampling flags `generate` and `chat` share, with upstream `eval_llm.py`'s defaults (temperature 0.85,
 * top-p 0.95, `--open_thinking` as `--think`), and the prompt mask flag. Turns the parsed flags into
 * @minimind/model generation options. Not here: loading the model (model-loading.ts).
 */
import type { PromptMask, WeightFormat } from "@minimind/model";
import { type Command as CommanderCommand, InvalidArgumentError } from "commander";
import { decimal, integer } from "../options.js";
import { WEIGHTS_HELP, weightFormat } from "./model-loading.js";

export interface SamplingFlags {
  model?: string;
  temperature: number;
  topP: number;
  topK: number;
  repetitionPenalty: number;
  maxNewTokens: number;
  seed?: number;
  greedy?: boolean;
  think?: boolean;
  mask: PromptMask;
  threads?: number;
  weights?: WeightFormat;
}

function promptMask(text: string): PromptMask {
  if (text === "causal" || text === "prefix" || text === "segments") return text;
  throw new InvalidArgumentError(`"${text}" is not one of causal, prefix, segments.`);
}

function topP(text: string): number {
  const value = decimal({ min: 0, max: 1 })(text);
  if (value === 0) throw new InvalidArgumentError(`"${text}" must be above 0 (1 turns top-p off).`);
  return value;
}

/** Declares --model and the sampling flags. */
export function declareSampling(command: CommanderCommand, maxNewTokens: number): void {
  command
    .option("-m, --model <dir>", "model folder, or the run folder of pretrain/sft/demo (default: the shipped model)")
    .option(
      "--temperature <t>",
      "sampling temperature; 0 is greedy (upstream eval_llm.py: 0.85)",
      decimal({ min: 0 }),
      0.85,
    )
    .option("--top-p <p>", "nucleus sampling share in (0, 1]; 1 is off (upstream: 0.95)", topP, 0.95)
    .option("--top-k <k>", "keep the k most likely tokens; 0 is off", integer({ min: 0 }), 0)
    .option("--repetition-penalty <x>", "> 1 discourages repeating tokens", decimal({ min: 0.01 }), 1)
    .option("--max-new-tokens <n>", "longest answer in tokens", integer({ min: 1 }), maxNewTokens)
    .option("--seed <n>", "sampling seed (same seed, same answer)", integer({ min: 0 }))
    .option("--greedy", "always take the most likely token (same as --temperature 0)")
    .option("--think", "open the template's <think> block (upstream --open_thinking)")
    .option(
      "--mask <strategy>",
      "the prompt's attention: causal, prefix or segments (as the model was trained)",
      promptMask,
      "causal",
    )
    .option("--threads <n>", "matmul threads (default: every core)", integer({ min: 1, max: 64 }))
    .option("--weights <format>", WEIGHTS_HELP, weightFormat);
}

/** Generation options for @minimind/model from the parsed flags. */
export function generationOptions(flags: SamplingFlags) {
  const greedy = flags.greedy === true || flags.temperature === 0;
  return {
    maxNewTokens: flags.maxNewTokens,
    doSample: !greedy,
    ...(greedy ? {} : { temperature: flags.temperature, topP: flags.topP, topK: flags.topK }),
    repetitionPenalty: flags.repetitionPenalty,
    ...(flags.seed === undefined ? {} : { seed: flags.seed }),
  };
}
