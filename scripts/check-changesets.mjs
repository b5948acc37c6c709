#!/usr/bin/env node
/**
 * Release check for the bundled CLI. @minimind/cli bundles the @minimind/* packages it lists as
 * devDependencies (and theirs, transitively); changesets never bumps a package for a devDependency, so a
 * changeset that releases, say, @minimind/attention would publish a new attention and leave the CLI — which
 * carries the old attention inside its bundle — unreleased. This check fails when a pending changeset
 * (.changeset/*.md) names a package the CLI bundles but not @minimind/cli, and says what line to add.
 *
 * Second check: the CHANGELOGs a release would write. It copies the workspace's manifests, CHANGELOG.md files and
 * .changeset folder into a temporary folder and runs this repository's own `changeset version` there (offline; no
 * git needed), then requires that every publishable package it bumps got at least one entry line under its new
 * version heading, that each changeset's text reached the CHANGELOG of every package it releases, and that no
 * publishable package without a released version (no `## <version>` heading yet) is left out: `changeset
 * publish` would publish it at its current version with an empty CHANGELOG.
 *
 *   node scripts/check-changesets.mjs          # check (exit 1 naming each file or package)
 *   node scripts/check-changesets.mjs --fix    # add "@minimind/cli": patch to each such changeset
 *   node scripts/check-changesets.mjs --root <dir>   # another checkout (tests)
 *   node scripts/check-changesets.mjs --no-changelogs   # the first check only
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
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

/** A changeset's front matter as `{ name, bump }` entries (`"name": bump` lines between the `---` fences). */
export function releasedBumps(text, file) {
  const match = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
  if (match === null) throw new Error(`${file}: no front matter (a changeset starts with --- … ---)`);
  const bumps = [];
  for (const [index, line] of match[1].split(/\r?\n/).entries()) {
    if (line.trim() === "") continue;
    const entry = /^\s*["']?(@?[^"':\s]+)["']?\s*:\s*(major|minor|patch|none)\s*$/.exec(line);
    if (entry === null) throw new Error(`${file}:${index + 2}: expected "<package>": major|minor|patch, got ${line}`);
    bumps.push({ name: entry[1], bump: entry[2] });
  }
  return bumps;
}

/** The package names a changeset's front matter releases. */
export function releasedPackages(text, file) {
  return releasedBumps(text, file).map((entry) => entry.name);
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

/** Workspace package folders (relative to root) from pnpm-workspace.yaml's `packages:` list (`dir` or `dir/*`). */
export function workspaceFolders(root) {
  const text = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8");
  const list = /^packages:\s*\n((?:[ \t]+-[^\n]*\n?)+)/m.exec(text);
  if (list === null) throw new Error(`check-changesets: ${join(root, "pnpm-workspace.yaml")} has no packages: list`);
  const folders = [];
  for (const line of list[1].split("\n")) {
    const pattern = /^\s*-\s*["']?([^"'#\s]+)["']?/.exec(line)?.[1];
    if (pattern === undefined) continue;
    if (!pattern.endsWith("/*")) folders.push(pattern);
    else {
      const parent = pattern.slice(0, -2);
      for (const name of existsSync(join(root, parent)) ? readdirSync(join(root, parent)).sort() : []) {
        folders.push(`${parent}/${name}`);
      }
    }
  }
  return folders.filter((folder) => existsSync(join(root, folder, "package.json")));
}

/** The lines of `changelog` between its first `## <version>` heading and the next `## ` heading. */
export function versionSection(changelog, version) {
  const lines = changelog.split(/\r?\n/);
  const start = lines.findIndex((line) => line.trim() === `## ${version}`);
  if (start < 0) return undefined;
  const end = lines.findIndex((line, index) => index > start && line.startsWith("## "));
  return lines.slice(start + 1, end < 0 ? lines.length : end);
}

/** Entry lines of a version section: `- …` items under a `### … Changes` heading. */
export function entryLines(section) {
  const entries = [];
  let inChanges = false;
  for (const line of section) {
    if (line.startsWith("### ")) inChanges = /^### (Major|Minor|Patch) Changes\s*$/.test(line);
    else if (inChanges && /^- \S/.test(line)) entries.push(line);
  }
  return entries;
}

/** The text after a changeset's front matter. */
function summaryOf(text) {
  return text.replace(/^---\r?\n[\s\S]*?\r?\n---\r?\n?/, "").trim();
}

/** Markdown-insensitive form for comparing a changeset's text with what the changelog (after prettier) holds. */
const comparable = (text) => text.replace(/[\s*_`\\]/g, "");

/**
 * Runs `changeset version` on a copy of the workspace's manifests, CHANGELOGs and changesets, and returns
 * `{ packages, problems }`: per publishable package its version before and after and its new entry lines, and
 * every way the release's CHANGELOGs would fall short. `changesetBin` defaults to this repository's @changesets/cli.
 */
export function versionDryRun(root, { changesetBin = defaultChangesetBin() } = {}) {
  const copy = mkdtempSync(join(tmpdir(), "check-changesets-version-"));
  try {
    for (const file of ["package.json", "pnpm-workspace.yaml"]) cpSync(join(root, file), join(copy, file));
    cpSync(join(root, ".changeset"), join(copy, ".changeset"), { recursive: true });
    const before = new Map();
    for (const folder of workspaceFolders(root)) {
      mkdirSync(join(copy, folder), { recursive: true });
      const manifest = JSON.parse(readFileSync(join(root, folder, "package.json"), "utf8"));
      cpSync(join(root, folder, "package.json"), join(copy, folder, "package.json"));
      const changelog = join(root, folder, "CHANGELOG.md");
      const text = existsSync(changelog) ? readFileSync(changelog, "utf8") : "";
      if (text !== "") cpSync(changelog, join(copy, folder, "CHANGELOG.md"));
      if (manifest.private !== true) before.set(manifest.name, { folder, version: manifest.version, changelog: text });
    }
    const changesets = [];
    for (const name of readdirSync(join(root, ".changeset")).filter((n) => n.endsWith(".md") && n !== "README.md")) {
      const text = readFileSync(join(root, ".changeset", name), "utf8");
      const released = releasedBumps(text, `.changeset/${name}`).filter((entry) => entry.bump !== "none");
      const firstLine = summaryOf(text).split(/\r?\n/)[0] ?? "";
      changesets.push({ name, packages: released.map((entry) => entry.name), firstLine });
    }

    const result = spawnSync(process.execPath, [changesetBin, "version"], {
      cwd: copy,
      encoding: "utf8",
      // No git needed: outside a repository changesets finds no commits, which the default changelog does not use.
      env: { ...process.env, NO_COLOR: "1", GIT_CEILING_DIRECTORIES: dirname(copy) },
    });
    if (result.status !== 0) {
      throw new Error(
        `check-changesets: changeset version failed (${result.status}):\n${result.stderr}${result.stdout}`,
      );
    }

    const packages = [];
    const problems = [];
    for (const [name, { folder, version, changelog: oldChangelog }] of before) {
      const after = JSON.parse(readFileSync(join(copy, folder, "package.json"), "utf8")).version;
      const changelogFile = join(copy, folder, "CHANGELOG.md");
      const changelog = existsSync(changelogFile) ? readFileSync(changelogFile, "utf8") : "";
      const entries = after === version ? [] : entryLines(versionSection(changelog, after) ?? []);
      packages.push({ name, from: version, to: after, entries });
      const released = /^## \S/m.test(oldChangelog);
      if (after === version && !released) {
        problems.push(
          `${name} has never been released (no "## <version>" in ${folder}/CHANGELOG.md) and no pending changeset releases it: ` +
            `changeset publish would publish ${version} with an empty CHANGELOG`,
        );
      } else if (after !== version && entries.length === 0) {
        problems.push(`${name}: changeset version bumps ${version} → ${after} but writes no entry under "## ${after}"`);
      }
      const section = comparable((versionSection(changelog, after) ?? []).join("\n"));
      for (const changeset of changesets.filter((candidate) => candidate.packages.includes(name))) {
        if (!section.includes(comparable(changeset.firstLine))) {
          problems.push(
            `${name}: the CHANGELOG for ${after} lacks .changeset/${changeset.name} ("${changeset.firstLine}")`,
          );
        }
      }
    }
    return { packages, problems };
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

function defaultChangesetBin() {
  const require = createRequire(fileURLToPath(new URL("../package.json", import.meta.url)));
  const manifest = require.resolve("@changesets/cli/package.json");
  const bin = JSON.parse(readFileSync(manifest, "utf8")).bin;
  return join(dirname(manifest), typeof bin === "string" ? bin : bin.changeset);
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
  if (argv.includes("--no-changelogs")) return 0;

  const release = versionDryRun(root);
  if (release.problems.length > 0) {
    console.error(
      `check-changesets: changeset version (run on a copy) would leave CHANGELOGs short:\n${release.problems.map((problem) => `  ${problem}`).join("\n")}`,
    );
    return 1;
  }
  const bumped = release.packages.filter((entry) => entry.to !== entry.from);
  console.log(
    `check-changesets: changeset version (run on a copy) writes CHANGELOG entries for ${bumped.length} package(s): ${bumped
      .map((entry) => `${entry.name} ${entry.from} → ${entry.to} (${entry.entries.length} entries)`)
      .join(", ")}`,
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
