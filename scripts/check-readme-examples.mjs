#!/usr/bin/env node
/**
 * README examples are files (issue #16): a code block in packages/<name>/README.md that follows a line
 * `<!-- example: examples/<file>.ts -->` must equal that file of the package, byte for byte. The files are
 * compiled by the package's strict `typecheck` and run by its `src/readme-examples.test.ts`, so the README
 * cannot drift from code that compiles and runs. `--fix` rewrites the README blocks from the files.
 * Run by `pnpm test` (`check:readme-examples`). Not here: compiling or running the examples.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const MARKER = /^<!-- example: (\S+) -->$/;

/**
 * The marked examples of a README: [{ file, line, start, end, code }], `start`/`end` the line indexes of the
 * block's body. Throws, naming the line, for a marker not followed by a fenced block.
 */
export function markedExamples(text, source) {
  const lines = text.split("\n");
  const examples = [];
  for (let index = 0; index < lines.length; index++) {
    const match = MARKER.exec(lines[index]);
    if (match === null) continue;
    const fence = lines[index + 1] ?? "";
    if (!/^```(ts|typescript|js)$/.test(fence)) {
      throw new Error(`${source}:${index + 1}: "${lines[index]}" must be followed by a \`\`\`ts code block`);
    }
    const close = lines.indexOf("```", index + 2);
    if (close < 0) throw new Error(`${source}:${index + 2}: the code block is not closed`);
    examples.push({
      file: match[1],
      line: index + 1,
      start: index + 2,
      end: close,
      code: `${lines.slice(index + 2, close).join("\n")}\n`,
    });
  }
  return examples;
}

/** Problems of one package folder (README blocks against files), and with `fix` the README rewritten. */
export function checkPackage(directory, { fix = false } = {}) {
  const readme = join(directory, "README.md");
  if (!existsSync(readme)) return [];
  const text = readFileSync(readme, "utf8");
  const lines = text.split("\n");
  const problems = [];
  const examples = markedExamples(text, readme);
  let changed = false;
  for (const example of [...examples].reverse()) {
    const path = join(directory, example.file);
    if (!existsSync(path)) {
      problems.push(`${readme}:${example.line}: ${example.file} does not exist`);
      continue;
    }
    const code = readFileSync(path, "utf8");
    if (code === example.code) continue;
    if (fix) {
      lines.splice(example.start, example.end - example.start, ...code.replace(/\n$/, "").split("\n"));
      changed = true;
    } else problems.push(`${readme}:${example.line}: the code block differs from ${example.file} (run with --fix)`);
  }
  const examplesDirectory = join(directory, "examples");
  if (existsSync(examplesDirectory)) {
    const shown = new Set(examples.map((example) => example.file));
    for (const name of readdirSync(examplesDirectory).filter((file) => file.endsWith(".ts"))) {
      if (!shown.has(`examples/${name}`)) problems.push(`${readme}: examples/${name} is shown nowhere in the README`);
    }
  }
  // Only a README whose blocks changed is written: others may be editing the rest of the checkout.
  if (changed) writeFileSync(readme, lines.join("\n"));
  return problems;
}

function main() {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const fix = process.argv.includes("--fix");
  const packages = join(root, "packages");
  const problems = readdirSync(packages).flatMap((name) => checkPackage(join(packages, name), { fix }));
  if (problems.length > 0) {
    for (const problem of problems) console.error(`check-readme-examples: ${problem}`);
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
