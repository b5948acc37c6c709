#!/usr/bin/env node
/**
 * Release check for the bundled CLI. @minimind/cli bundles the @minimind/* packages it lists as
 * devDependencies (and theirs, transitively); changesets never bumps a package for a devDependency, so a
 * changeset that releases, say, @minimind/attention would publish a new attention and leave the CLI — which
 * carries the old attention inside its bundle — unreleased. This check fails when a pending changeset
 * (.changeset/*.md) names a package the CLI bundles but not @minimind/cli, and says what line to add.
 *
 *   node scripts/check-changesets.mjs          # check (exit 1 naming each file)
 *   node scripts/check-changesets.mjs --fix    # add "@minimind/cli": patch to each such changeset
 *   node scripts/check-changesets.mjs --root <dir>   # another checkout (tests)
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const CLI = "@minimind/cli";

/** Workspace manifests by package name (packages/* and tools/*). */
function readManifests(root) {
  const manifests = new Map();
  for (const top of ["packages", "tools"]) {
    let folders = [];
    try {
      folders = readdirSync(join(root, top));
    } catch {
      continue;
    }
    for (const folder of folders) {
      try {
        const manifest = JSON.parse(readFileSync(join(root, top, folder, "package.json"), "utf8"));
        manifests.set(manifest.name, manifest);
      } catch {}
    }
  }
  return manifests;
}

/** The @minimind/* packages inside the CLI's bundle: its devDependencies and, transitively, their dependencies. */
export function bundledPackages(root) {
  const manifests = readManifests(root);
  const cli = manifests.get(CLI);
  if (cli === undefined) throw new Error(`check-changesets: no ${CLI} package under ${root}/packages`);
  const pending = Object.keys(cli.devDependencies ?? {}).filter((name) => name.startsWith("@minimind/"));
  const bundled = new Set();
  while (pending.length > 0) {
    const name = pending.pop();
    if (bundled.has(name) || manifests.get(name)?.private === true) continue;
    bundled.add(name);
    for (const dependency of Object.keys(manifests.get(name)?.dependencies ?? {})) {
      if (dependency.startsWith("@minimind/")) pending.push(dependency);
    }
  }
  return bundled;
}

/** The package names a changeset's front matter releases (`"name": bump` lines between the `---` fences). */
export function releasedPackages(text, file) {
  const match = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
  if (match === null) throw new Error(`${file}: no front matter (a changeset starts with --- … ---)`);
  const names = [];
  for (const [index, line] of match[1].split(/\r?\n/).entries()) {
    if (line.trim() === "") continue;
    const entry = /^\s*["']?(@?[^"':\s]+)["']?\s*:\s*(major|minor|patch|none)\s*$/.exec(line);
    if (entry === null) throw new Error(`${file}:${index + 2}: expected "<package>": major|minor|patch, got ${line}`);
    names.push(entry[1]);
  }
  return names;
}

/** Problems as `{ file, packages }`: changesets that release a bundled package without the CLI. */
export function findProblems(root) {
  const bundled = bundledPackages(root);
  const folder = join(root, ".changeset");
  const problems = [];
  let files = [];
  try {
    files = readdirSync(folder).filter((name) => name.endsWith(".md") && name !== "README.md");
  } catch {}
  for (const name of files.sort()) {
    const file = join(folder, name);
    const released = releasedPackages(readFileSync(file, "utf8"), relative(root, file));
    const touched = released.filter((packageName) => bundled.has(packageName));
    if (touched.length > 0 && !released.includes(CLI)) problems.push({ file, packages: touched });
  }
  return { bundled, files: files.length, problems };
}

/** Adds `"@minimind/cli": patch` as the last line of the front matter. */
export function addCliLine(text) {
  return text.replace(/^(---\r?\n[\s\S]*?)(\r?\n---)/, `$1\n"${CLI}": patch$2`);
}

function main(argv) {
  const rootIndex = argv.indexOf("--root");
  const root = rootIndex === -1 ? fileURLToPath(new URL("..", import.meta.url)) : argv[rootIndex + 1];
  const { bundled, files, problems } = findProblems(root);
  if (problems.length > 0 && argv.includes("--fix")) {
    for (const { file } of problems) writeFileSync(file, addCliLine(readFileSync(file, "utf8")));
    console.log(`check-changesets: added "${CLI}": patch to ${problems.length} changeset(s)`);
    return 0;
  }
  if (problems.length > 0) {
    const lines = problems.map(
      ({ file, packages }) =>
        `  ${relative(root, file)}: releases ${packages.join(", ")}, which ${CLI} bundles; add the line "${CLI}": patch to its front matter`,
    );
    console.error(
      `check-changesets: ${problems.length} changeset(s) would release a package inside the CLI's bundle without releasing the CLI:\n${lines.join("\n")}\n` +
        `(${CLI} bundles ${[...bundled].sort().join(", ")} as devDependencies, which changesets never bumps; ` +
        `"node scripts/check-changesets.mjs --fix" adds the lines.)`,
    );
    return 1;
  }
  console.log(
    `check-changesets: ${files} pending changeset(s); every one that touches ${[...bundled].sort().join(", ")} also releases ${CLI}`,
  );
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
