/**
 * `minimind chat`: a multi-turn conversation in the terminal over @minimind/model's ChatSession — answers
 * stream as they are generated, the KV cache is kept across turns wherever the mask allows (`/stats` or
 * `--verbose` show how many prompt tokens came from the cache), `/reset` forgets the conversation, `/think
 * on|off` flips the template's thinking switch, `/exit` or Ctrl-D leaves. Ctrl-C stops an answer being
 * generated; at the prompt it leaves (exit 130). Reads lines from standard input, so a pipe works too.
 * Not here: the session and its cache (ChatSession), the sampling flags (inference/sampling.ts).
 */
import { createInterface } from "node:readline";
import { ChatSession, type TextModel, type TurnStatistics } from "@minimind/model";
import type { CliCommand, CommandIo } from "../command.js";
import { loadModel } from "../inference/model-loading.js";
import { declareSampling, generationOptions, type SamplingFlags } from "../inference/sampling.js";

interface ChatFlags extends SamplingFlags {
  system?: string;
}

const HELP = `commands: /reset (forget the conversation), /think on|off, /stats (cache use of the last turn), /exit`;

function describeTurn(turn: TurnStatistics, cachedTokens: number, seconds: number): string {
  const reuse = turn.cacheReused
    ? `reused ${turn.reusedTokens} cached tokens`
    : "cache not reusable under this mask: recomputed";
  const rate = seconds > 0 ? `, ${(turn.generatedTokens / seconds).toFixed(1)} tokens/s` : "";
  return `[${reuse}, ${turn.newPromptTokens} new prompt tokens, ${turn.generatedTokens} generated${rate}; the cache holds ${cachedTokens}]`;
}

/** Runs the conversation; resolves with the exit code (0 for /exit and Ctrl-D, 130 for Ctrl-C at the prompt). */
async function converse(
  session: ChatSession,
  textModel: TextModel,
  flags: ChatFlags,
  io: CommandIo,
  verbose: boolean,
): Promise<number> {
  const terminal = io.stdinIsTTY && io.stdoutIsTTY;
  const lines = createInterface({
    input: process.stdin,
    ...(terminal ? { output: process.stdout, terminal: true } : { terminal: false }),
    prompt: "> ",
  });
  let generating: AbortController | undefined;
  let exitCode = 0;
  const interrupt = () => {
    if (generating !== undefined) {
      generating.abort(new Error("stopped"));
      return;
    }
    exitCode = 130;
    lines.close();
  };
  lines.on("SIGINT", interrupt);
  process.on("SIGINT", interrupt);
  let lastSeconds = 0;
  const ask = () => {
    if (terminal) lines.prompt();
  };
  try {
    ask();
    for await (const raw of lines) {
      const line = raw.trim();
      if (line === "") {
        ask();
        continue;
      }
      if (line === "/exit" || line === "/quit") break;
      if (line === "/help") {
        io.stdout(`${HELP}\n`);
      } else if (line === "/reset") {
        session.reset();
        io.stdout("(conversation cleared)\n");
      } else if (line === "/think on" || line === "/think off") {
        session.thinking = line === "/think on";
        io.stdout(`(thinking ${session.thinking ? "on" : "off"})\n`);
      } else if (line === "/stats") {
        const turn = session.lastTurn;
        io.stdout(`${turn === undefined ? "(no turn yet)" : describeTurn(turn, session.cachedTokens, lastSeconds)}\n`);
      } else if (line.startsWith("/")) {
        io.stdout(`unknown command ${line.split(" ")[0]}; ${HELP}\n`);
      } else {
        // Answers stop at the model's context: the whole conversation and the answer must fit in it.
        const context = textModel.model.config.max_position_embeddings;
        const promptTokens = textModel.encodePrompt([...session.messages, { role: "user", content: line }], {
          thinking: session.thinking,
        }).ids.length;
        const room = context - promptTokens;
        if (room < 1) {
          io.stdout(`(the conversation fills the model's context of ${context} tokens; /reset to start over)\n`);
          ask();
          continue;
        }
        const options = { ...generationOptions(flags), maxNewTokens: Math.min(flags.maxNewTokens, room) };
        generating = new AbortController();
        const started = performance.now();
        try {
          for await (const chunk of session.send(line, { ...options, signal: generating.signal })) {
            io.stdout(chunk);
          }
        } catch (error) {
          if (!generating.signal.aborted) throw error;
          io.stdout(" [stopped]");
        } finally {
          generating = undefined;
        }
        lastSeconds = (performance.now() - started) / 1000;
        io.stdout("\n");
        const turn = session.lastTurn;
        if (verbose && turn !== undefined) io.stderr(`${describeTurn(turn, session.cachedTokens, lastSeconds)}\n`);
      }
      ask();
    }
  } finally {
    process.off("SIGINT", interrupt);
    lines.close();
  }
  if (terminal) io.stdout("\n");
  return exitCode;
}

export const chatCommand: CliCommand = {
  name: "chat",
  summary: "talk with a model: streamed, multi-turn, the KV cache kept across turns (/reset, /think, /stats)",
  configure(command) {
    declareSampling(command, 256);
    command.option("--system <text>", "a system prompt first in the conversation").addHelpText(
      "after",
      `
${HELP}. Ctrl-C stops an answer; at the prompt it leaves, as Ctrl-D does.
--verbose prints, after each answer, how many prompt tokens came from the KV cache.

Examples:
  minimind chat --model runs/demo
  minimind chat --model runs/demo --greedy --verbose
  printf '床前明月光\\n/stats\\n' | minimind chat --model runs/demo`,
    );
  },
  async run({ options }, { io, verbose }) {
    const flags = options as unknown as ChatFlags;
    const { textModel, folder } = await loadModel(flags.model, flags.threads, flags.weights);
    const session = new ChatSession(textModel, {
      mask: flags.mask,
      thinking: flags.think === true,
      ...(flags.system === undefined ? {} : { system: flags.system }),
    });
    if (io.stdinIsTTY) io.stderr(`minimind chat — ${folder}; /help for commands, Ctrl-D to leave\n`);
    try {
      return await converse(session, textModel, flags, io, verbose);
    } finally {
      session.dispose();
      textModel.dispose();
    }
  },
};
