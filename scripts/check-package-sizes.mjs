#!/usr/bin/env node
/**
 * Size budget for the published tarballs (issue #16): packs every published package with `npm pack --dry-run`
 * (the files `pnpm publish` would ship, compressed as npm does) and fails when one is over its budget below.
 * Needs `pnpm build` first; run by `pnpm test` (`check:sizes`). Not a bundle analyser: it prints the largest
 * files of a package that is over, nothing more.
 *
 * A budget is the packed (gzip) size of the whole tarball, in bytes. Files that are data rather than code and
 * are already compressed (the CLI's corpus, a shipped model) have their own budget under `separately`: their
 * gzip size is measured on its own and left out of the package's figure.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/**
 * Half of each package's packed size when issue #16 was filed (tensor 331 kB, attention 94, model 164,
 * tokenizer 574, cli 484 without its corpus); train was not measured there: half of its 183 kB before the
 * packages became ESM-only without source maps.
 */
export const budgets = {
  "@minimind/tensor": { packed: 165_500 },
  "@minimind/attention": { packed: 47_000 },
  "@minimind/model": { packed: 82_000 },
  "@minimind/tokenizer": { packed: 287_000 },
  "@minimind/train": { packed: 91_500 },
  "@minimind/cli": {
    packed: 242_000,
    separately: [
      // The shipped corpus of classical Chinese poetry, Brotli-compressed (2.57 MB when this budget was set).
      { path: "data/corpus/poetry.jsonl.br", bytes: 2_700_000 },
      // The shipped default chat model (BF16 weights, about 13 MB), to be added under model/. Data, not
      // code: it is not part of the halving target of issue #16, and has its own budget here.
      { path: "model/", bytes: 16_000_000 },
    ],
  },
};

/** Whether a tarball path falls under a `separately` entry (a folder when the entry ends in "/"). */
export function matches(entryPath, filePath) {
  return entryPath.endsWith("/") ? filePath.startsWith(entryPath) : filePath === entryPath;
}

/**
 * Compares one package's pack result with its budget. `pack`: npm's JSON for the package (`name`, `size`,
 * `files: [{ path, size }]`); `compressedSize(path)`: the gzip size of a file of the package, asked only for
 * files under `separately`. Returns the figures and a list of problems (empty when within budget).
 */
export function evaluate(pack, budget, compressedSize) {
  const problems = [];
  if (budget === undefined) {
    return {
      name: pack.name,
      packed: pack.size,
      separate: [],
      problems: [`${pack.name}: no size budget; add one to scripts/check-package-sizes.mjs`],
    };
  }
  const separate = (budget.separately ?? []).map((entry) => {
    const files = pack.files.filter((file) => matches(entry.path, file.path));
    const bytes = files.reduce((total, file) => total + compressedSize(file.path), 0);
    if (bytes > entry.bytes) {
      problems.push(`${pack.name}: ${entry.path} packs to ${bytes} bytes, over its budget of ${entry.bytes}`);
    }
    return { path: entry.path, bytes, budget: entry.bytes, files: files.length };
  });
  const packed = pack.size - separate.reduce((total, entry) => total + entry.bytes, 0);
  if (packed > budget.packed) {
    const largest = [...pack.files]
      .filter((file) => !separate.some((entry) => matches(entry.path, file.path)))
      .sort((a, b) => b.size - a.size)
      .slice(0, 5)
      .map((file) => `${file.path} (${file.size} bytes unpacked)`)
      .join(", ");
    problems.push(
      `${pack.name}: packs to ${packed} bytes${separate.length > 0 ? " (without the files budgeted separately)" : ""}, ` +
        `over its budget of ${budget.packed}; largest files: ${largest}`,
    );
  }
  return { name: pack.name, packed, budget: budget.packed, separate, problems };
}

/** `npm pack --dry-run --json` in `directory`: what would be published, without writing a tarball. */
export function pack(directory) {
  const output = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: directory,
    encoding: "utf8",
    env: { ...process.env, npm_config_update_notifier: "false" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [result] = JSON.parse(output);
  return result;
}

/** The published (not private) packages under `root`/packages, as { name, directory }. */
export function publishedPackages(root) {
  const packagesDirectory = join(root, "packages");
  return readdirSync(packagesDirectory, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(packagesDirectory, entry.name))
    .flatMap((directory) => {
      let manifest;
      try {
        manifest = JSON.parse(readFileSync(join(directory, "package.json"), "utf8"));
      } catch {
        return [];
      }
      return manifest.private ? [] : [{ name: manifest.name, directory }];
    });
}

function main() {
  const rootFlag = process.argv.indexOf("--root");
  const root = rootFlag >= 0 ? process.argv[rootFlag + 1] : fileURLToPath(new URL("..", import.meta.url));
  const problems = [];
  for (const { name, directory } of publishedPackages(root)) {
    const result = evaluate(
      pack(directory),
      budgets[name],
      (path) => gzipSync(readFileSync(join(directory, path))).length,
    );
    problems.push(...result.problems);
    const share = result.budget ? ` of ${result.budget} (${Math.round((100 * result.packed) / result.budget)} %)` : "";
    console.log(`${name}: ${result.packed} bytes packed${share}`);
    for (const entry of result.separate) {
      console.log(
        `  + ${entry.path}: ${entry.bytes} bytes of ${entry.budget} (${entry.files} file(s), budgeted separately)`,
      );
    }
  }
  if (problems.length > 0) {
    for (const problem of problems) console.error(`check-package-sizes: ${problem}`);
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
