#!/usr/bin/env node
/**
 * Package boundary checks that the import graph alone cannot make (dependency-cruiser checks cycles and
 * relative paths into other packages):
 * - layering on package.json: internal dependencies use `workspace:^` (published as a `^` range, so compatible
 *   versions dedupe to one copy: one tensor world per process; dev tools `workspace:*`) and point one way only —
 *   tensor ← attention ← model ← train ← cli, tokenizer standalone (used by model's text API, train and cli);
 * - dev tools (tools/*, e.g. @minimind/chromium-harness): private packages that any workspace package may list in
 *   devDependencies only (never as a runtime or peer dependency of a published package), and that depend on no
 *   library package themselves;
 * - every `@minimind/<name>` a source imports is declared in its own package.json;
 * - no deep imports: sources import `@minimind/<name>` or a subpath its exports map declares, never other
 *   `@minimind/<name>/<path>` files (its internals).
 * Exits 1 naming every offending file, line and dependency.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** The packages each package may depend on (directly). */
const allowed = {
  "@minimind/tensor": [],
  "@minimind/tokenizer": [],
  "@minimind/attention": ["@minimind/tensor"],
  "@minimind/model": ["@minimind/tensor", "@minimind/attention", "@minimind/tokenizer"],
  "@minimind/train": ["@minimind/tensor", "@minimind/attention", "@minimind/model", "@minimind/tokenizer"],
  "@minimind/cli": [
    "@minimind/tensor",
    "@minimind/attention",
    "@minimind/model",
    "@minimind/tokenizer",
    "@minimind/train",
  ],
};

/** Private dev-only packages under tools/: allowed in any package's devDependencies, nowhere else. */
const tools = ["@minimind/chromium-harness"];

const root = new URL("..", import.meta.url).pathname;
const problems = [];
const seen = new Set();
for (const dir of readdirSync(join(root, "tools"))) {
  const file = join("tools", dir, "package.json");
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(root, file), "utf8"));
  } catch {
    continue;
  }
  seen.add(manifest.name);
  if (!tools.includes(manifest.name)) {
    problems.push(
      `${file}: package "${manifest.name}" is not in the tools list of scripts/check-package-boundaries.mjs`,
    );
  }
  if (manifest.private !== true) problems.push(`${file}: a dev tool must be "private": true (it is never published)`);
  for (const field of ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"]) {
    for (const name of Object.keys(manifest[field] ?? {})) {
      if (name.startsWith("@minimind/"))
        problems.push(`${file}: ${field}["${name}"]: dev tools depend on no workspace package`);
    }
  }
}
for (const dir of readdirSync(join(root, "packages"))) {
  const file = join("packages", dir, "package.json");
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(root, file), "utf8"));
  } catch {
    continue;
  }
  seen.add(manifest.name);
  const permitted = allowed[manifest.name];
  if (permitted === undefined) {
    problems.push(
      `${file}: package "${manifest.name}" is not in the layer table of scripts/check-package-boundaries.mjs`,
    );
    continue;
  }
  for (const field of ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"]) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      if (!name.startsWith("@minimind/")) continue;
      if (tools.includes(name)) {
        if (field !== "devDependencies") {
          problems.push(`${file}: ${field}["${name}"]: dev tools (tools/*) may only be devDependencies`);
        }
      } else if (!permitted.includes(name)) {
        problems.push(
          `${file}: ${field}["${name}"] breaks the layering (${manifest.name} may use: ${permitted.join(", ") || "no workspace package"})`,
        );
      }
      const expected = tools.includes(name) ? "workspace:*" : "workspace:^";
      if (range !== expected) {
        problems.push(`${file}: ${field}["${name}"] is "${range}"; it must be "${expected}"`);
      }
    }
  }
}
// The CLI bundles the @minimind/* packages it lists as devDependencies (packages/cli/tsup.config.ts), so it must
// declare their third-party runtime dependencies itself, at the same versions.
const manifests = new Map();
for (const top of ["packages", "tools"]) {
  for (const dir of readdirSync(join(root, top))) {
    try {
      const manifest = JSON.parse(readFileSync(join(root, top, dir, "package.json"), "utf8"));
      manifests.set(manifest.name, manifest);
    } catch {}
  }
}
const cli = manifests.get("@minimind/cli");
if (cli !== undefined) {
  const pending = Object.keys(cli.devDependencies ?? {}).filter((name) => name.startsWith("@minimind/"));
  const bundled = new Set();
  while (pending.length > 0) {
    const name = pending.pop();
    if (bundled.has(name)) continue;
    bundled.add(name);
    for (const [dependency, range] of Object.entries(manifests.get(name)?.dependencies ?? {})) {
      if (dependency.startsWith("@minimind/")) {
        pending.push(dependency);
      } else if (cli.dependencies?.[dependency] !== range) {
        problems.push(
          `packages/cli/package.json: bundles ${name}, so dependencies["${dependency}"] must be "${range}" (is ${JSON.stringify(cli.dependencies?.[dependency] ?? null)})`,
        );
      }
    }
  }
}

// `@minimind/<name>/<subpath>` is public only when `./<subpath>` is a key of that package's exports map.
const subpathImport = /(?:from\s*|import\s*\(\s*|require\s*\(\s*|import\s+)["'](@minimind\/[^/"']+)\/([^"']+)["']/g;
function isExportedSubpath(packageName, subpath) {
  const exportsMap = manifests.get(packageName)?.exports;
  return typeof exportsMap === "object" && exportsMap !== null && `./${subpath}` in exportsMap;
}
function* sourceFiles(dir) {
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules" || entry === "dist") continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(?:[cm]?ts|[cm]?js|tsx)$/.test(entry)) yield path;
  }
}
// Every `@minimind/<name>` a source imports must be declared by the package it lives in (dependency-cruiser
// cannot see these: workspace links resolve into node_modules, which its graph leaves out).
const anyImport = /(?:from\s*|import\s*\(\s*|require\s*\(\s*|import\s+)["'](@minimind\/[^/"']+)(?:\/[^"']*)?["']/g;
function ownerManifest(file) {
  const parts = relative(root, file).split("/");
  const folder = parts[0] === "bench" ? "bench" : parts.slice(0, 2).join("/");
  return { folder, manifest: JSON.parse(readFileSync(join(root, folder, "package.json"), "utf8")) };
}
for (const top of ["packages", "bench", "tools"]) {
  for (const file of sourceFiles(join(root, top))) {
    const lines = readFileSync(file, "utf8").split("\n");
    const owner = ownerManifest(file);
    const declared = new Set([
      owner.manifest.name,
      ...["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"].flatMap((field) =>
        Object.keys(owner.manifest[field] ?? {}),
      ),
    ]);
    lines.forEach((line, index) => {
      for (const [, packageName] of line.matchAll(anyImport)) {
        if (declared.has(packageName)) continue;
        problems.push(
          `${relative(root, file)}:${index + 1}: imports "${packageName}", which ${owner.folder}/package.json does not declare; add it (workspace:^) to dependencies or devDependencies`,
        );
      }
      for (const [, packageName, subpath] of line.matchAll(subpathImport)) {
        if (isExportedSubpath(packageName, subpath)) continue;
        problems.push(
          `${relative(root, file)}:${index + 1}: imports "${packageName}/${subpath}", which ${packageName}'s exports map does not declare (its internals); import a public entry point instead`,
        );
      }
    });
  }
}
for (const name of [...Object.keys(allowed), ...tools]) {
  if (!seen.has(name)) problems.push(`packages/: expected package ${name} is missing`);
}
if (problems.length > 0) {
  console.error(`check-package-boundaries: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(
  `check-package-boundaries: ${seen.size - tools.length} packages and ${tools.length} dev tool(s), layering and entry points ok`,
);
