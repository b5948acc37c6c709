/**
 * `minimind generate "<text>"`: one answer from a model, streamed to stdout as it is generated — through the
 * chat template as a user message (as upstream `eval_llm.py`), or as a plain continuation with `--raw`.
 * Sampling flags default to eval_llm.py's (temperature 0.85, top-p 0.95). A thin layer over @minimind/model's
 * TextModel; the shared flags are in inference/. Not here: multi-turn chat (`minimind chat`).
 */
import { type CliCommand, UsageError } from "../command.js";
import { loadModel } from "../inference/model-loading.js";
import { complete, encodePrompt } from "../inference/prompt.js";
import { declareSampling, generationOptions, type SamplingFlags } from "../inference/sampling.js";

interface GenerateFlags extends SamplingFlags {
  raw?: boolean;
  json?: boolean;
}

export const generateCommand: CliCommand = {
  name: "generate",
  summary: 'answer one prompt with a model, streamed (minimind generate "床前明月光，")',
  configure(command) {
    command.argument("<text>", 'the prompt text ("-" reads standard input)');
    declareSampling(command, 256);
    command
      .option("--raw", "continue the text as it is instead of sending it as a chat message")
      .option("--json", "print {prompt, text, promptTokens, generatedTokens, seconds, tokensPerSecond} at the end")
      .addHelpText(
        "after",
        `
Examples:
  minimind generate --model runs/demo "「床前明月光」的下一句是什么？"
  minimind generate --model runs/demo/pretrain --raw --greedy "床前明月光，"
  echo "静夜思" | minimind generate --model runs/demo -`,
      );
  },
  async run({ arguments: [text], options }, { io, verbose }) {
    const flags = options as unknown as GenerateFlags;
    const prompt = text === "-" ? (await io.readStdin()).trim() : (text as string);
    if (prompt === "") throw new UsageError("the prompt is empty");
    const { textModel } = await loadModel(flags.model, flags.threads, flags.weights);
    const input = flags.raw === true ? prompt : [{ role: "user" as const, content: prompt }];
    const encoded = encodePrompt(textModel, input, { thinking: flags.think === true, mask: flags.mask });
    const json = flags.json === true;
    const result = await complete(textModel, encoded, generationOptions(flags), json ? undefined : io.stdout);
    const tokensPerSecond = result.generatedTokens / Math.max(result.seconds, 1e-9);
    if (json) {
      io.stdout(`${JSON.stringify({ prompt, ...result, tokensPerSecond })}\n`);
    } else {
      io.stdout("\n");
      if (verbose || io.stdoutIsTTY) {
        io.stderr(
          `(${result.promptTokens} prompt tokens, ${result.generatedTokens} generated in ${result.seconds.toFixed(1)} s: ${tokensPerSecond.toFixed(1)} tokens/s)\n`,
        );
      }
    }
    textModel.dispose();
    return 0;
  },
};
