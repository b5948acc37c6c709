/**
 * The README's commands are tested: every `minimind …` / `npx @minimind/cli …` line of its sh blocks, and every
 * inline `minimind …` span that gives arguments, goes through the CLI's own parser — `runProgram` with each
 * command's real `configure` (its arguments, options and value parsers), only `run` replaced by a recorder — so a
 * renamed command, an unknown flag or a malformed value in the README fails here. The quick ones (help, version,
 * tokenize, generate with the shipped model, data, train-tokenizer, mask show) also run through the built
 * executable and must print what the README says they print. Long ones (demo, pretrain, sft, lora, serve, convert
 * and eval on runs the README builds elsewhere) are parsed only.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CliCommand } from "./command.js";
import { commands } from "./index.js";
import { runProgram } from "./program.js";
import { type CliResult, runCli, temporaryFolder } from "./testing/built-cli.js";
import { captureIo } from "./testing/capture-io.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

/** One command of the README: its argv (after `minimind`), the line it came from, and its trailing `# comment`. */
interface ReadmeCommand {
  argv: string[];
  source: string;
  comment?: string;
  /** An inline span naming a command without arguments (`minimind eval`): its help must be that command's. */
  nameOnly?: boolean;
}

/**
 * A shell line split into words as sh splits these simple lines (single and double quotes, backslash escapes),
 * cut into pipeline stages at `|`, `&&` and `;`, with the trailing comment apart.
 */
function shellStages(line: string): { stages: string[][]; comment: string | undefined } {
  const stages: string[][] = [[]];
  let word: string | undefined;
  const end = () => {
    if (word !== undefined) stages.at(-1)?.push(word);
    word = undefined;
  };
  for (let index = 0; index < line.length; index++) {
    const character = line[index] as string;
    if (character === "'" || character === '"') {
      const close = line.indexOf(character, index + 1);
      if (close < 0) throw new Error(`unclosed ${character} in: ${line}`);
      word = (word ?? "") + line.slice(index + 1, close);
      index = close;
    } else if (character === "\\") {
      word = (word ?? "") + (line[index + 1] ?? "");
      index++;
    } else if (/\s/.test(character)) {
      end();
    } else if (character === "#" && word === undefined) {
      return { stages: stages.filter((stage) => stage.length > 0), comment: line.slice(index + 1).trim() };
    } else if (character === "|" || character === ";" || (character === "&" && line[index + 1] === "&")) {
      end();
      stages.push([]);
      if (character === "&" || line[index + 1] === "|") index++;
    } else {
      word = (word ?? "") + character;
    }
  }
  end();
  return { stages: stages.filter((stage) => stage.length > 0), comment: undefined };
}

/** The argv after the program name, or undefined when the words do not start a `minimind` command. */
function minimindArgv(words: readonly string[]): string[] | undefined {
  if (words[0] === "minimind") return words.slice(1);
  if (words[0] === "npx" && words[1] === "@minimind/cli") return words.slice(2);
  return undefined;
}

/** Programs other than minimind that the README's sh blocks may use (checked by nothing here). */
const otherPrograms = new Set(["curl"]);

/** Every command of the README's sh blocks and inline code spans. */
/** Code fences of a markdown text: language and body. */
const fence = /^```(\w*)\n([\s\S]*?)^```$/gm;

/** The non-empty lines of a markdown text's sh blocks, backslash continuations joined. */
function shLines(text: string): string[] {
  return [...text.matchAll(fence)]
    .filter((block) => block[1] === "sh")
    .flatMap((block) => (block[2] ?? "").replace(/\\\n\s*/g, " ").split("\n"))
    .filter((line) => line.trim() !== "");
}

function readmeCommands(text: string): ReadmeCommand[] {
  const found: ReadmeCommand[] = [];
  for (const line of shLines(text)) {
    const { stages, comment } = shellStages(line);
    for (const stage of stages) {
      const argv = minimindArgv(stage);
      if (argv !== undefined) found.push({ argv, source: line.trim(), ...(comment ? { comment } : {}) });
      else if (!otherPrograms.has(stage[0] ?? "")) {
        throw new Error(`README sh line is neither a minimind command nor a known program: ${line}`);
      }
    }
  }
  const prose = text.replace(fence, "");
  for (const span of prose.matchAll(/`((?:minimind|npx @minimind\/cli) [^`]*)`/g)) {
    const source = span[1] as string;
    // Placeholders (`minimind <command> --help`) and error messages (`minimind convert: …`) are not commands.
    if (/[<…]/.test(source) || /^minimind [\w-]+:/.test(source)) continue;
    for (const stage of shellStages(source).stages) {
      const argv = minimindArgv(stage);
      if (argv === undefined) continue;
      const nameOnly = argv.every((word) => /^[a-z][\w-]*$/.test(word));
      found.push({ argv, source, ...(nameOnly ? { nameOnly } : {}) });
    }
  }
  return found;
}

/** The commands with `run` replaced by a recorder of the command path: commander parses, nothing runs. */
function recording(list: readonly CliCommand[], reached: string[][], path: string[] = []): CliCommand[] {
  return list.map((command) => {
    const here = [...path, command.name];
    const copy: CliCommand = { ...command };
    if (command.run !== undefined) {
      copy.run = async () => {
        reached.push(here);
        return 0;
      };
    }
    if (command.subcommands !== undefined) copy.subcommands = recording(command.subcommands, reached, here);
    return copy;
  });
}

/** Parses `argv` with the CLI's own program: the exit code, what it wrote to stderr, and the command it reached. */
async function parse(argv: readonly string[]) {
  const reached: string[][] = [];
  const { io, out, err } = captureIo();
  const code = await runProgram(recording(commands, reached), argv, io);
  return { code, stdout: out(), stderr: err(), reached: reached[0] };
}

/** Whether `minimind <path> --help` is the help of exactly the command `path` names. */
async function isCommandPath(path: readonly string[]): Promise<boolean> {
  const result = await parse([...path, "--help"]);
  return result.code === 0 && result.stdout.startsWith(`Usage: minimind ${path.join(" ")} `);
}

const found = readmeCommands(readme);

describe("the README's commands", () => {
  it("are found: the sh blocks and the inline spans", () => {
    expect(found.filter((command) => !command.nameOnly).length).toBeGreaterThanOrEqual(30);
    expect(found.filter((command) => command.nameOnly).length).toBeGreaterThanOrEqual(5);
  });

  it("the parser check fails on an unknown command, an unknown flag, a malformed value or a missing argument", async () => {
    for (const argv of [
      ["tokenze", "--text", "x"],
      ["tokenize", "--txet", "x"],
      ["data", "--max-works", "1e3"],
      ["generate"],
      ["mask", "shwo"],
    ]) {
      const result = await parse(argv);
      expect(result.code, argv.join(" ")).toBe(2);
      expect(result.reached, argv.join(" ")).toBeUndefined();
    }
    const [typo, subcommand] = readmeCommands("Run `minimind genrate` or `minimind mask shwo`.");
    expect(await isCommandPath(typo?.argv ?? [])).toBe(false);
    expect(await isCommandPath(subcommand?.argv ?? [])).toBe(false);
    expect(() => readmeCommands("```sh\nminimnd data\n```\n")).toThrow(/neither a minimind command/);
  });

  it.each(found.filter((command) => !command.nameOnly).map((command) => [command.argv.join(" "), command] as const))(
    "parse: minimind %s",
    async (_, command) => {
      const result = await parse(command.argv);
      expect(result.stderr, command.source).toBe("");
      expect(result.code, command.source).toBe(0);
      // Help prints and stops; anything else reaches the command its leading words name.
      if (command.argv.includes("--help")) return;
      expect(result.reached, command.source).toBeDefined();
      expect(command.argv.slice(0, result.reached?.length), command.source).toEqual(result.reached);
    },
  );

  it.each(found.filter((command) => command.nameOnly).map((command) => [command.argv.join(" ")] as const))(
    "names a command: minimind %s",
    async (path) => {
      expect(await isCommandPath(path.split(" "))).toBe(true);
    },
  );
});

/**
 * The repository README's `minimind` commands (the quick start's `pnpm minimind demo`, the experiment commands):
 * its sh blocks also hold pnpm, npx and git lines, so only the stages that run minimind — directly or as
 * `pnpm minimind` — are taken.
 */
function repositoryReadmeCommands(text: string): ReadmeCommand[] {
  const found: ReadmeCommand[] = [];
  for (const line of shLines(text)) {
    for (const stage of shellStages(line).stages) {
      const at = stage.indexOf("minimind");
      const viaPnpm = at > 0 && /^pnpm(@|$)/.test(stage[at - 1] ?? "");
      if (at === 0 || viaPnpm) found.push({ argv: stage.slice(at + 1), source: line.trim() });
    }
  }
  return found;
}

const repositoryReadme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
const repositoryCommands = repositoryReadmeCommands(repositoryReadme);

describe("the repository README's minimind commands", () => {
  it("are found (the quick start's demo, the experiment runs)", () => {
    expect(repositoryCommands.map((command) => command.argv[0])).toEqual(
      expect.arrayContaining(["demo", "experiment"]),
    );
  });

  it.each(repositoryCommands.map((command) => [command.argv.join(" "), command] as const))(
    "parse: minimind %s",
    async (_, command) => {
      const result = await parse(command.argv);
      expect(result.stderr, command.source).toBe("");
      expect(result.code, command.source).toBe(0);
      expect(result.reached, command.source).toBeDefined();
      expect(command.argv.slice(0, result.reached?.length), command.source).toEqual(result.reached);
    },
  );
});

describe("the README's quick commands, run (built executable)", () => {
  const work = temporaryFolder("minimind-readme-");
  afterAll(() => work.remove());

  /** Runs the README command whose argv is `argv` (failing when the README no longer has it). */
  function runReadme(argv: readonly string[]): { result: CliResult; command: ReadmeCommand } {
    const command = found.find((candidate) => candidate.argv.join("\u0000") === argv.join("\u0000"));
    if (command === undefined) throw new Error(`the README no longer shows: minimind ${argv.join(" ")}`);
    const result = runCli(command.argv, { cwd: work.path });
    expect(result.stderr, command.source).toBe("");
    expect(result.status, command.source).toBe(0);
    return { result, command };
  }

  /** The README's `# comment` after a command, as a pattern for its output (`…` stands for anything). */
  function commentPattern(command: ReadmeCommand): RegExp {
    const escaped = (command.comment ?? "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/…/g, ".+");
    return new RegExp(`^${escaped}\\n$`);
  }

  it("--help lists every command", () => {
    const { result } = runReadme(["--help"]);
    for (const command of commands) expect(result.stdout).toContain(`  ${command.name} `);
  });

  it("tokenize both ways and version --json print what the README's comments say", () => {
    for (const argv of [
      ["tokenize", "--text", "Hello World"],
      ["tokenize", "--decode", "1602", "2968"],
      ["version", "--json"],
    ]) {
      const { result, command } = runReadme(argv);
      expect(result.stdout).toMatch(commentPattern(command));
    }
    const { result } = runReadme(["version", "--json"]);
    expect(JSON.parse(result.stdout)).toEqual({ name: "@minimind/cli", version });
  });

  it("generate with the shipped model gives back the famous line the README quotes", () => {
    const quoted = /`minimind generate --greedy "([^"]+)"` → ([^)\s]+)\)/.exec(readme);
    expect(quoted).not.toBeNull();
    const { result } = runReadme(["generate", "--greedy", quoted?.[1] as string]);
    expect(result.stdout.trim()).toBe(quoted?.[2]);
  });

  it("data builds the small dataset: the four files and the manifest, every work on one side", () => {
    runReadme(["data", "--collections", "tang", "--max-works", "2000", "--out", "small"]);
    const lines = (file: string) =>
      readFileSync(join(work.path, "small", file), "utf8")
        .trim()
        .split("\n").length;
    expect(lines("pretrain.jsonl") + lines("pretrain-heldout.jsonl")).toBe(2000);
    expect(lines("sft.jsonl")).toBeGreaterThan(0);
    expect(lines("sft-heldout.jsonl")).toBeGreaterThan(0);
    expect(existsSync(join(work.path, "small", "manifest.json"))).toBe(true);
  });

  it("train-tokenizer writes a 2,000-token vocabulary that tokenize --tokenizer then uses", () => {
    runReadme(["train-tokenizer", "--vocab-size", "2000", "--max-texts", "5000", "--out", "tok"]);
    const text = "床前明月光，疑是地上霜。";
    const { result } = runReadme(["tokenize", "--tokenizer", "tok", "--json", "--text", text]);
    const { ids, tokens } = JSON.parse(result.stdout) as { ids: number[]; tokens: string[] };
    expect(tokens.join("")).toBe(text);
    expect(ids).toHaveLength(tokens.length);
    for (const id of ids) expect(id).toBeLessThan(2000);
  });

  it("mask show draws segments: the chat with its SVG, and the explicit vector by big_vision's rule", () => {
    const chat = found.find((command) => command.argv.includes("--chat"))?.argv;
    expect(chat).toBeDefined();
    const drawn = runReadme(chat ?? []).result.stdout;
    expect(drawn).toMatch(/^segments: \d+ tokens\n/);
    expect(readFileSync(join(work.path, "mask.svg"), "utf8")).toMatch(/^<svg/);

    const vector = [1, 0, 0, 1, 1];
    const { result } = runReadme(["mask", "show", "--strategy", "segments", "--segments", vector.join(",")]);
    const rows = result.stdout.split("\n").filter((line) => /^\d+ /.test(line));
    const sums = vector.map((_, index) => vector.slice(0, index + 1).reduce((a, b) => a + b, 0));
    expect(rows.map((row) => row.trimEnd().slice(-vector.length))).toEqual(
      sums.map((query) => sums.map((key) => (key <= query ? "█" : "·")).join("")),
    );
  });
});
