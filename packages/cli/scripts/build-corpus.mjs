#!/usr/bin/env node
/**
 * Builds the corpus the CLI ships (data/corpus/poetry.jsonl.br) from the `chinese-poetry` npm package (MIT,
 * a devDependency; never needed at run time): the Tang poems of 全唐诗 in regular verse (绝句 and 律诗: two to
 * four couplets of five- or seven-character lines, about two thirds of the Tang poems and nearly all the
 * famous ones), the 300 Song ci of 宋词三百首, the Book of Songs (诗经) and the Analects (论语), about 3 MB
 * compressed. (All Tang poems and all 21,000 Song ci would be 7 MB.) Tang poems are converted from traditional to simplified characters
 * with opencc-js (MiniMind's tokenizer is trained mostly on simplified text; the ci, the Book of Songs and
 * the Analects already are). Editorial notes in parentheses are removed; works left without text, with
 * missing-character marks (□) or whose text repeats an earlier work are dropped. Output: one JSON object per
 * line, `{"collection","title","author","lines","famous"?}`, in source order, Brotli-compressed
 * (quality 11). Deterministic: the same package versions give byte-identical output.
 *
 *   node packages/cli/scripts/build-corpus.mjs            # writes data/corpus/poetry.jsonl.br + README.md
 *
 * Not a general converter: it knows the layout of chinese-poetry 2.0.1.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants } from "node:zlib";
import * as OpenCC from "opencc-js";

const packageRoot = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(join(packageRoot, "package.json"));
const sourceManifestPath = require.resolve("chinese-poetry/package.json");
const source = join(dirname(sourceManifestPath), "dist");
const sourceVersion = JSON.parse(readFileSync(sourceManifestPath, "utf8")).version;
// opencc-js exports no ./package.json; its manifest sits two folders above its entry point.
const openccVersion = JSON.parse(
  readFileSync(join(dirname(require.resolve("opencc-js")), "..", "..", "package.json"), "utf8"),
).version;
const outputFolder = join(packageRoot, "data", "corpus");

const toSimplified = OpenCC.Converter({ from: "t", to: "cn" });

function readJson(...parts) {
  return JSON.parse(readFileSync(join(source, ...parts), "utf8"));
}

/** `poet.tang.1000.json` → files of one prefix in numeric order (readdir order is not guaranteed). */
function numberedFiles(folder, prefix) {
  return readdirSync(join(source, folder))
    .filter((name) => name.startsWith(prefix) && /\.\d+\.json$/.test(name))
    .sort((a, b) => Number(a.match(/\.(\d+)\.json$/)[1]) - Number(b.match(/\.(\d+)\.json$/)[1]));
}

/** Removes editorial notes such as （一作…） and normalizes spacing. */
function cleanLine(line) {
  return line
    .replace(/（[^（）]*）|\([^()]*\)|\[[^[\]]*\]|〔[^〔〕]*〕/g, "")
    .replace(/\s+/g, "")
    .trim();
}

/** A couplet of two five- or seven-character clauses: 床前明月光，疑是地上霜。 */
const regularCouplet =
  /^(?:[^，。？！；：、]{5}，[^，。？！；：、]{5}|[^，。？！；：、]{7}，[^，。？！；：、]{7})[。？！]$/;

function isRegularVerse(lines) {
  const length = lines[0]?.length;
  return (
    lines.length >= 2 && lines.length <= 4 && lines.every((line) => line.length === length && regularCouplet.test(line))
  );
}

const records = [];
const seenTexts = new Set();
const dropped = { notRegularVerse: 0, empty: 0, missingCharacters: 0, duplicate: 0 };

function add(collection, title, author, rawLines, famous = false) {
  const lines = rawLines.map((line) => cleanLine(String(line))).filter((line) => line !== "");
  const text = lines.join("");
  if (lines.length === 0 || text.length < 4) return void dropped.empty++;
  if (/[□■�]/.test(text)) return void dropped.missingCharacters++;
  if (seenTexts.has(text)) return void dropped.duplicate++;
  seenTexts.add(text);
  const record = { collection, title: cleanLine(title), author: cleanLine(author), lines };
  if (famous) record.famous = true;
  records.push(record);
}

// Tang poems: 全唐诗, with 唐诗三百首 marking the famous ones (matched on title + author).
const tangKey = (poem) => `${poem.title}\u0000${poem.author}`;
const famousTang = new Set(readJson("quantangshi", "唐诗三百首.json").map(tangKey));
for (const file of numberedFiles("quantangshi", "poet.tang.")) {
  for (const poem of readJson("quantangshi", file)) {
    const lines = (poem.paragraphs ?? []).map((line) => cleanLine(toSimplified(String(line))));
    if (!isRegularVerse(lines)) {
      dropped.notRegularVerse++;
      continue;
    }
    add("tang", toSimplified(poem.title ?? ""), toSimplified(poem.author ?? ""), lines, famousTang.has(tangKey(poem)));
  }
}

// Song ci: 宋词三百首 (already simplified; the title is the tune name, rhythmic).
for (const ci of readJson("songci", "宋词三百首.json"))
  add("song-ci", ci.rhythmic ?? "", ci.author ?? "", ci.paragraphs ?? [], true);

// The Book of Songs: title and section (国风·周南); anonymous.
for (const song of readJson("shijing", "shijing.json")) {
  add("shijing", song.title ?? "", "", song.content ?? []);
}

// The Analects: one work per chapter (学而篇 …); each paragraph one line.
for (const chapter of readJson("lunyu", "lunyu.json"))
  add("analects", chapter.chapter ?? "", "", chapter.paragraphs ?? []);

const jsonl = `${records.map((record) => JSON.stringify(record)).join("\n")}\n`;
const raw = Buffer.from(jsonl, "utf8");
const compressed = brotliCompressSync(raw, {
  params: {
    [constants.BROTLI_PARAM_QUALITY]: 11,
    [constants.BROTLI_PARAM_LGWIN]: 24,
    [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
  },
});
writeFileSync(join(outputFolder, "poetry.jsonl.br"), compressed);

const counts = {};
for (const record of records) counts[record.collection] = (counts[record.collection] ?? 0) + 1;
const characters = [...jsonl].length;
const sha256 = createHash("sha256").update(compressed).digest("hex");
const summary = {
  source: `chinese-poetry@${sourceVersion}`,
  converter: `opencc-js@${openccVersion}`,
  works: records.length,
  byCollection: counts,
  famous: records.filter((record) => record.famous).length,
  dropped,
  uncompressedBytes: raw.length,
  compressedBytes: compressed.length,
  characters,
  sha256,
};
writeFileSync(join(outputFolder, "build-summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
console.log(JSON.stringify(summary));
