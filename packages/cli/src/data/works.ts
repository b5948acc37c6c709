/**
 * Works: the unit the data builder splits and asks questions about (a poem, a chapter, a paragraph of the
 * user's text), and the readers that produce them — the shipped corpus (data/corpus/poetry.jsonl.br), the
 * same JSONL format from a file (plain, .gz or .br), plain text (one work per blank-line-separated block),
 * and upstream `{"text"}` / `{"conversations"}` JSONL, which pass through as they are. Every malformed line
 * is reported as `file:line: reason`. Not here: splitting (split.ts) and questions (questions.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { describeFileError, requireFile } from "../io.js";

export interface Work {
  /** Where the work comes from: `tang`, `song-ci`, `shijing`, `analects`, or the user's file name. */
  collection: string;
  title: string;
  /** Empty when unknown. */
  author: string;
  /** The text, one entry per line (a couplet for regular verse). */
  lines: string[];
  /** In 唐诗三百首 or 宋词三百首. */
  famous?: boolean;
}

export type ChatRole = "system" | "user" | "assistant" | "tool";

/** One upstream SFT sample: `{"conversations": [{"role", "content"}, …]}`. */
export interface Conversation {
  conversations: { role: ChatRole; content: string; [key: string]: unknown }[];
}

/** What an input file held: works (which get questions), bare texts and ready-made conversations. */
export interface InputContents {
  works: Work[];
  texts: string[];
  conversations: Conversation[];
}

const CORPUS_FILE = join("data", "corpus", "poetry.jsonl.br");

/** The folder of this module in ESM and CJS builds and in the sources. */
function moduleFolder(): string {
  return typeof __dirname === "string" ? __dirname : dirname(fileURLToPath(import.meta.url));
}

/** Path of the shipped corpus: found from dist/ (published) or src/data/ (sources). */
export function shippedCorpusPath(): string {
  let folder = moduleFolder();
  for (let level = 0; level < 4; level++) {
    const candidate = join(folder, CORPUS_FILE);
    if (existsSync(candidate)) return candidate;
    folder = dirname(folder);
  }
  throw new Error(`the shipped corpus ${CORPUS_FILE} is missing next to ${moduleFolder()}; reinstall @minimind/cli`);
}

/** Reads a file as text, decompressing `.br` and `.gz`. */
function readMaybeCompressed(path: string, what: string): string {
  requireFile(path, what);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read ${what} "${path}": ${describeFileError(error)}`);
  }
  try {
    if (path.endsWith(".br")) return brotliDecompressSync(bytes).toString("utf8");
    if (path.endsWith(".gz")) return gunzipSync(bytes).toString("utf8");
  } catch {
    throw new Error(`cannot read ${what} "${path}": not valid ${path.endsWith(".br") ? "Brotli" : "gzip"} data`);
  }
  return bytes.toString("utf8");
}

const roles = new Set<string>(["system", "user", "assistant", "tool"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkConversation(value: unknown, where: string): Conversation {
  if (!Array.isArray(value) || value.length === 0) {
    throw new Error(`${where}: "conversations" must be a non-empty array of {"role", "content"} messages`);
  }
  value.forEach((message, index) => {
    if (!isRecord(message)) throw new Error(`${where}: conversations[${index}] is not an object`);
    if (typeof message.role !== "string" || !roles.has(message.role)) {
      throw new Error(
        `${where}: conversations[${index}].role is ${JSON.stringify(message.role)}; use system, user, assistant or tool`,
      );
    }
    if (typeof message.content !== "string") {
      throw new Error(`${where}: conversations[${index}].content must be a string`);
    }
  });
  return { conversations: value as Conversation["conversations"] };
}

function checkWork(value: Record<string, unknown>, collection: string, where: string): Work {
  const { title, author, lines } = value;
  if (typeof title !== "string") throw new Error(`${where}: "title" must be a string`);
  if (author !== undefined && typeof author !== "string") throw new Error(`${where}: "author" must be a string`);
  if (!Array.isArray(lines) || lines.length === 0 || !lines.every((line) => typeof line === "string")) {
    throw new Error(`${where}: "lines" must be a non-empty array of strings`);
  }
  const work: Work = {
    collection: typeof value.collection === "string" ? value.collection : collection,
    title,
    author: author ?? "",
    lines: lines as string[],
  };
  if (value.famous === true) work.famous = true;
  return work;
}

/**
 * Parses JSONL whose lines are works `{"title","author"?,"lines"}`, pretraining texts `{"text"}` or SFT
 * samples `{"conversations"}` (blank lines are skipped). `name` is used in errors as `name:line`.
 */
export function parseJsonl(text: string, name: string, collection = name): InputContents {
  const contents: InputContents = { works: [], texts: [], conversations: [] };
  const lines = text.split("\n");
  lines.forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === "") return;
    const where = `${name}:${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new Error(`${where}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    if (!isRecord(value))
      throw new Error(`${where}: expected a JSON object, got ${JSON.stringify(value).slice(0, 40)}`);
    if ("conversations" in value) contents.conversations.push(checkConversation(value.conversations, where));
    else if ("text" in value) {
      if (typeof value.text !== "string" || value.text === "") {
        throw new Error(`${where}: "text" must be a non-empty string`);
      }
      contents.texts.push(value.text);
    } else if ("lines" in value) contents.works.push(checkWork(value, collection, where));
    else {
      throw new Error(
        `${where}: expected {"text": …}, {"conversations": […]} or {"title", "author", "lines": […]}; got keys ${Object.keys(value).join(", ") || "none"}`,
      );
    }
  });
  return contents;
}

/** Plain text: each block separated by blank lines is one untitled work, one entry per non-empty line. */
export function parsePlainText(text: string, collection: string): Work[] {
  return text
    .split(/\r?\n(?:[ \t]*\r?\n)+/)
    .map((block) =>
      block
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line !== ""),
    )
    .filter((lines) => lines.length > 0)
    .map((lines) => ({ collection, title: "", author: "", lines }));
}

/** Reads one input file: `.jsonl` (optionally `.gz`/`.br`) as JSONL, anything else as plain text. */
export function readInputFile(path: string): InputContents {
  const text = readMaybeCompressed(path, "input file");
  const bare = path.replace(/\.(?:br|gz)$/, "");
  if (/\.jsonl?$/.test(bare)) return parseJsonl(text, path);
  return { works: parsePlainText(text, path), texts: [], conversations: [] };
}

/** The works of the shipped corpus, optionally only some collections. */
export function loadShippedCorpus(collections?: readonly string[]): Work[] {
  const path = shippedCorpusPath();
  const { works } = parseJsonl(readMaybeCompressed(path, "shipped corpus"), path, "corpus");
  if (collections === undefined) return works;
  const known = new Set(works.map((work) => work.collection));
  for (const name of collections) {
    if (!known.has(name)) {
      throw new Error(`the shipped corpus has no collection "${name}"; it has ${[...known].join(", ")}`);
    }
  }
  const wanted = new Set(collections);
  return works.filter((work) => wanted.has(work.collection));
}
