/**
 * `minimind tokenize`: text → token ids with MiniMind's tokenizer (or one from a directory), and `--decode`
 * for the way back. A thin wrapper over @minimind/tokenizer; it does no tokenization of its own.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Tokenizer } from "@minimind/tokenizer";
import { type Command, UsageError } from "../command.js";

const usage = `Usage: minimind tokenize [text…] [options]

Encodes text (the arguments, or standard input when there are none) to token ids, one line of space-separated
ids per input. With --decode, reads ids and prints the text.

Options:
  --tokenizer <dir>  a directory with tokenizer.json (and tokenizer_config.json); default: MiniMind's own
  --decode           decode ids (arguments or standard input) back to text
  --special          --decode: keep special tokens such as <|im_end|> (default: skip them)
  --json             print {"ids", "tokens"} as JSON (encode) or {"text"} (decode)`;

export const tokenizeCommand: Command = {
  name: "tokenize",
  summary: "Encode text to token ids (or --decode ids to text) with MiniMind's tokenizer.",
  usage,
  async run(argv, io) {
    let parsed: ReturnType<typeof parse>;
    try {
      parsed = parse(argv);
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    const { values, positionals } = parsed;
    const tokenizer =
      values.tokenizer === undefined ? Tokenizer.minimind() : await Tokenizer.fromPretrained(values.tokenizer);
    const input = positionals.length > 0 ? positionals.join(" ") : readFileSync(0, "utf8");

    if (values.decode) {
      const ids = input
        .split(/[\s,[\]]+/)
        .filter((word) => word !== "")
        .map((word) => {
          const id = Number(word);
          if (!Number.isInteger(id) || id < 0) throw new UsageError(`"${word}" is not a token id`);
          return id;
        });
      const text = tokenizer.decode(ids, { skipSpecialTokens: !values.special });
      io.stdout(values.json ? `${JSON.stringify({ text })}\n` : `${text}\n`);
      return 0;
    }

    const lines = positionals.length > 0 ? [input] : input.replace(/\n$/, "").split("\n");
    for (const line of lines) {
      const ids = tokenizer.encode(line);
      if (values.json) {
        const tokens = ids.map((id) => tokenizer.decode([id]));
        io.stdout(`${JSON.stringify({ ids, tokens })}\n`);
      } else {
        io.stdout(`${ids.join(" ")}\n`);
      }
    }
    return 0;
  },
};

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      tokenizer: { type: "string" },
      decode: { type: "boolean", default: false },
      special: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
}
