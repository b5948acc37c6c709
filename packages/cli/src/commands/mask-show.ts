/**
 * `minimind mask show`: draws an @minimind/attention strategy's mask for a chat (rendered through the
 * tokenizer's chat template, with per-token roles) or for a segment vector or plain length — in the terminal
 * and optionally as SVG (`--svg`) or JSON (`--json`). The strategy is a built-in name or a module path
 * (mask/strategy.ts). Not here: drawing (mask/render.ts).
 */
import { writeFileSync } from "node:fs";
import { Tokenizer } from "@minimind/tokenizer";
import { InvalidArgumentError } from "commander";
import { type CliCommand, type CommandIo, UsageError } from "../command.js";
import { describeFileError, readTextFile } from "../io.js";
import { evaluateMask, type MaskPicture, renderSvg, renderTerminal } from "../mask/render.js";
import { checkStrategyName, type MaskSequence, resolveStrategy } from "../mask/strategy.js";
import { integer } from "../options.js";

interface MaskShowOptions {
  strategy: string;
  chat?: string;
  segments?: number[];
  length?: number;
  prefix?: number;
  tokenizer?: string;
  svg?: string;
  json?: boolean;
  maxTokens?: number;
}

/** Parses `--segments 1,0,0,1,1` into the segment vector (non-negative integers). */
function segmentVector(text: string): number[] {
  const words = text.split(/[\s,]+/).filter((word) => word !== "");
  if (words.length === 0) throw new InvalidArgumentError("give one or more integers, e.g. 1,0,0,1,1.");
  return words.map((word) => {
    if (!/^\d+$/.test(word)) throw new InvalidArgumentError(`"${word}" is not a non-negative decimal integer.`);
    return Number(word);
  });
}

/** "line L, column C" for a position in `text`. */
function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position).split("\n");
  return `${before.length}:${(before.at(-1)?.length ?? 0) + 1}`;
}

/** Reads `--chat`: inline JSON (starts with [ or {), `-` for standard input, or a file path. */
async function readChat(value: string, io: CommandIo): Promise<{ role: string; content: string }[]> {
  const inline = /^\s*[[{]/.test(value);
  const source = inline ? "--chat" : value === "-" ? "standard input" : value;
  const text = inline ? value : value === "-" ? await io.readStdin() : readTextFile(value, "chat file");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /position (\d+)/.exec(message)?.[1];
    const where = position === undefined ? source : `${source}:${lineAndColumn(text, Number(position))}`;
    throw new Error(`${where}: not valid JSON (${message})`);
  }
  const messages = Array.isArray(parsed)
    ? parsed
    : ((parsed as { messages?: unknown; conversations?: unknown }).messages ??
      (parsed as { conversations?: unknown }).conversations);
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new Error(`${source}: expected a non-empty array of {"role", "content"} messages (or {"messages": [...]})`);
  }
  messages.forEach((message, index) => {
    const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== "string" || !["system", "user", "assistant", "tool"].includes(role)) {
      throw new Error(
        `${source}: message ${index} has role ${JSON.stringify(role)}; use system, user, assistant or tool`,
      );
    }
    if (typeof content !== "string") throw new Error(`${source}: message ${index} needs a string "content"`);
  });
  return messages as { role: string; content: string }[];
}

export const maskShowCommand: CliCommand = {
  name: "show",
  summary: "draw a strategy's attention mask for a chat or a segment vector (terminal, SVG, JSON)",
  configure(command) {
    command
      .option("--strategy <name|path>", "causal, prefix, segments, bidirectional, or a module file", "causal")
      .option("--chat <file|json>", 'messages as JSON: a file, - for standard input, or inline [{"role",…}]')
      .option("--segments <vector>", "a segment vector (big_vision ar), e.g. 1,0,0,1,1", segmentVector)
      .option(
        "--length <n>",
        "a plain sequence of n tokens (without --chat or --segments)",
        integer({ min: 1, max: 4096 }),
      )
      .option(
        "--prefix <n>",
        "prefix length for the prefix strategy (default: up to the first answer)",
        integer({ min: 0 }),
      )
      .option("--tokenizer <dir>", "a directory with tokenizer.json and tokenizer_config.json; default: MiniMind's")
      .option("--svg <file>", "also write the mask as an SVG picture")
      .option("--max-tokens <n>", "draw at most n tokens in the terminal (default: what fits)", integer({ min: 1 }))
      .option("--json", "print {strategy, tokens, roles, mask} as JSON instead of drawing")
      .addHelpText(
        "after",
        `
Rows are queries, columns keys: █ means the query attends the key. With a chat, the left column shows each
token's role (S system, U user, A assistant, T tool, · template markup) and its text.

Built-in strategies: causal; prefix (prefix-LM: the prompt before the first answer is bidirectional);
segments (each system/user/tool turn bidirectional within itself, answers causal; or --segments); bidirectional.
A module strategy exports createStrategy({ length, roles, turns }) → strategy, or a strategy (or a bare
maskMod(batch, head, query, key) → boolean) as default or "strategy".

Examples:
  minimind mask show --strategy segments --chat '[{"role":"user","content":"床前明月光"},{"role":"assistant","content":"疑是地上霜"}]'
  minimind mask show --strategy prefix --chat chat.json --svg mask.svg
  minimind mask show --strategy segments --segments 1,0,0,1,1,1
  minimind mask show --strategy ./my-strategy.mjs --length 12`,
      );
  },
  async run(invocation, { io, colors }) {
    const options = invocation.options as unknown as MaskShowOptions;
    checkStrategyName(options.strategy, "--strategy");
    const inputs = [options.chat, options.segments, options.length].filter((value) => value !== undefined);
    if (inputs.length !== 1) throw new UsageError("give exactly one of --chat, --segments or --length");

    let sequence: MaskSequence;
    let tokens: string[];
    if (options.chat !== undefined) {
      const messages = await readChat(options.chat, io);
      const tokenizer =
        options.tokenizer === undefined ? Tokenizer.minimind() : await Tokenizer.fromPretrained(options.tokenizer);
      const encoded = tokenizer.encodeChat(messages);
      tokens = encoded.ids.map((id) => tokenizer.decode([id]));
      sequence = { length: encoded.ids.length, roles: encoded.roles, turns: encoded.segments };
    } else if (options.segments !== undefined) {
      tokens = options.segments.map(String);
      sequence = { length: options.segments.length, segmentVector: options.segments };
    } else {
      const length = options.length as number;
      tokens = Array.from({ length }, (_, index) => String(index));
      sequence = { length };
    }
    if (sequence.length > 4096) {
      throw new Error(`the chat has ${sequence.length} tokens; mask show draws at most 4096`);
    }
    const strategy = await resolveStrategy(options.strategy, sequence, options.prefix);
    const picture: MaskPicture = {
      strategyName: strategy.name,
      tokens,
      ...(sequence.roles === undefined ? {} : { roles: sequence.roles }),
      rows: evaluateMask(strategy.maskMod, sequence.length),
    };

    if (options.svg !== undefined) {
      try {
        writeFileSync(options.svg, renderSvg(picture));
      } catch (error) {
        throw new Error(`cannot write "${options.svg}": ${describeFileError(error)}`);
      }
    }
    if (options.json === true) {
      io.stdout(
        `${JSON.stringify({
          strategy: strategy.name,
          tokens,
          roles: sequence.roles ?? null,
          mask: picture.rows.map((row) => row.map((attends) => (attends ? "1" : "0")).join("")),
        })}\n`,
      );
      return 0;
    }
    const fits = Math.max(8, io.columns - 20);
    const maxTokens = options.maxTokens ?? fits;
    io.stdout(`${colors.bold(strategy.name)}: ${sequence.length} tokens\n`);
    io.stdout(renderTerminal(picture, colors, maxTokens));
    if (sequence.length > maxTokens) {
      io.stdout(
        `(showing the first ${maxTokens} of ${sequence.length} tokens${options.svg === undefined ? "; --svg draws all" : ""})\n`,
      );
    }
    if (options.svg !== undefined) io.stdout(`wrote ${options.svg}\n`);
    return 0;
  },
};
