/**
 * `minimind tokenize`: text → token ids with MiniMind's tokenizer (or one from a directory), and `--decode`
 * for the way back. Input rule: positional arguments are always files (`-` is standard input); literal text
 * is given with `--text`; with neither, standard input is read (refused when it is a terminal). One output
 * line per input line, so `tokenize f | tokenize --decode` gives back the lines of f. A thin wrapper over
 * @minimind/tokenizer; it does no tokenization of its own.
 */
import { Tokenizer } from "@minimind/tokenizer";
import { InvalidArgumentError } from "commander";
import { type CliCommand, type CommandIo, UsageError } from "../command.js";
import { readTextFile } from "../io.js";

interface TokenizeOptions {
  text?: string;
  decode?: true | number[];
  special?: boolean;
  tokenizer?: string;
  json?: boolean;
}

const ID = /^\d+$/;

/** Parses one `--decode` value (ids separated by commas are allowed) and appends to the earlier ones. */
function collectIds(value: string, previous: unknown): number[] {
  const earlier = Array.isArray(previous) ? (previous as number[]) : [];
  const words = value.split(",").filter((word) => word !== "");
  for (const word of words) {
    if (!ID.test(word) || !Number.isSafeInteger(Number(word))) {
      throw new InvalidArgumentError(
        `"${word}" is not a token id (a non-negative decimal integer). To decode ids read from a file, put the file before --decode.`,
      );
    }
  }
  return [...earlier, ...words.map(Number)];
}

/** Splits a line of ids (spaces, commas or a JSON array) into numbers, naming `source` on a bad one. */
function parseIdLine(line: string, source: string): number[] {
  const words = line.split(/[\s,[\]]+/).filter((word) => word !== "");
  return words.map((word) => {
    if (!ID.test(word) || !Number.isSafeInteger(Number(word))) {
      throw new Error(`${source}: "${word}" is not a token id (a non-negative decimal integer)`);
    }
    return Number(word);
  });
}

interface InputText {
  /** Where the text came from, for error messages: a path, "standard input" or "--text". */
  source: string;
  text: string;
}

async function readInputs(files: readonly string[], options: TokenizeOptions, io: CommandIo): Promise<InputText[]> {
  if (options.text !== undefined) {
    if (files.length > 0) throw new UsageError("give either files or --text, not both");
    return [{ source: "--text", text: options.text }];
  }
  if (files.length === 0 && io.stdinIsTTY) {
    throw new UsageError("nothing to read: pass files (- for standard input), --text <text>, or pipe text in");
  }
  const inputs: InputText[] = [];
  for (const file of files.length === 0 ? ["-"] : files) {
    inputs.push(
      file === "-"
        ? { source: "standard input", text: await io.readStdin() }
        : { source: file, text: readTextFile(file, "input file") },
    );
  }
  return inputs;
}

function linesOf(input: InputText): string[] {
  if (input.source === "--text") return [input.text];
  const text = input.text.endsWith("\n") ? input.text.slice(0, -1) : input.text;
  return text === "" ? [] : text.split(/\r?\n/);
}

export const tokenizeCommand: CliCommand = {
  name: "tokenize",
  summary: "encode text to token ids (or --decode ids to text) with MiniMind's tokenizer",
  configure(command) {
    command
      .argument("[files...]", "files to read, one output line per input line (- for standard input)")
      .option("--text <text>", "encode this text instead of reading files")
      .option("--decode [ids...]", "decode token ids (given here, or read from the files) back to text", collectIds)
      .option("--special", "with --decode: keep special tokens such as <|im_end|>")
      .option("--tokenizer <dir>", "a directory with tokenizer.json (and tokenizer_config.json)")
      .option("--json", 'print one JSON object per line: {"ids", "tokens"} (encode) or {"text"} (decode)')
      .addHelpText(
        "after",
        `
Positional arguments are always files; use --text for literal text.

Examples:
  minimind tokenize --text "Hello World"            # 1602 2968
  minimind tokenize poems.txt > ids.txt             # one line of ids per line of poems.txt
  minimind tokenize ids.txt --decode                # and back
  minimind tokenize --decode 1602 2968              # Hello World
  echo "床前明月光" | minimind tokenize --json`,
      );
  },
  async run({ arguments: [files], options }, { io }) {
    const parsed = options as TokenizeOptions;
    const tokenizer =
      parsed.tokenizer === undefined ? Tokenizer.minimind() : await Tokenizer.fromPretrained(parsed.tokenizer);
    const write = (value: object, plain: string) =>
      io.stdout(parsed.json ? `${JSON.stringify(value)}\n` : `${plain}\n`);

    if (Array.isArray(parsed.decode)) {
      if ((files as string[]).length > 0 || parsed.text !== undefined) {
        throw new UsageError("--decode with ids takes no files or --text; give ids or files, not both");
      }
      const text = tokenizer.decode(parsed.decode, { skipSpecialTokens: parsed.special !== true });
      write({ text }, text);
      return 0;
    }
    if (parsed.special === true && parsed.decode === undefined)
      throw new UsageError("--special only applies to --decode");

    for (const input of await readInputs(files as string[], parsed, io)) {
      const lines = linesOf(input);
      for (const [index, line] of lines.entries()) {
        if (parsed.decode === true) {
          const source = input.source === "--text" ? "--text" : `${input.source}:${index + 1}`;
          const text = tokenizer.decode(parseIdLine(line, source), { skipSpecialTokens: parsed.special !== true });
          write({ text }, text);
        } else {
          const ids = tokenizer.encode(line);
          write({ ids, tokens: ids.map((id) => tokenizer.decode([id])) }, ids.join(" "));
        }
      }
    }
    return 0;
  },
};
