/**
 * Tests for scripts/check-changesets.mjs (node:test, run by `pnpm run check:changesets`): a throwaway checkout
 * with a CLI that bundles two packages, and changesets that do and do not name the CLI; then throwaway pnpm
 * workspaces on which the release check runs the repository's real `changeset version` (on a copy).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  addCliLine,
  bundledPackages,
  entryLines,
  findProblems,
  releasedPackages,
  versionDryRun,
  versionSection,
} from "./check-changesets.mjs";

const script = fileURLToPath(new URL("./check-changesets.mjs", import.meta.url));
const roots = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function checkout(changesets) {
  const root = mkdtempSync(join(tmpdir(), "check-changesets-"));
  roots.push(root);
  const write = (folder, manifest) => {
    mkdirSync(join(root, "packages", folder), { recursive: true });
    writeFileSync(join(root, "packages", folder, "package.json"), JSON.stringify(manifest));
  };
  write("tensor", { name: "@minimind/tensor" });
  write("attention", { name: "@minimind/attention", dependencies: { "@minimind/tensor": "workspace:*" } });
  write("bench", { name: "@minimind/other" });
  write("cli", { name: "@minimind/cli", devDependencies: { "@minimind/attention": "workspace:*" } });
  mkdirSync(join(root, ".changeset"));
  writeFileSync(join(root, ".changeset", "README.md"), "# not a changeset\n");
  for (const [name, text] of Object.entries(changesets)) writeFileSync(join(root, ".changeset", name), text);
  return root;
}

const run = (root, ...flags) => spawnSync(process.execPath, [script, "--root", root, ...flags], { encoding: "utf8" });

describe("check-changesets", () => {
  it("knows what the CLI bundles: its devDependencies and, transitively, theirs", () => {
    const root = checkout({});
    assert.deepEqual([...bundledPackages(root)].sort(), ["@minimind/attention", "@minimind/tensor"]);
  });

  it("reads a changeset's front matter, quoted or not, and names a malformed line", () => {
    assert.deepEqual(releasedPackages('---\n"@minimind/tensor": minor\n@minimind/cli: patch\n---\n\nText\n', "x.md"), [
      "@minimind/tensor",
      "@minimind/cli",
    ]);
    assert.throws(() => releasedPackages('---\n"@minimind/tensor" minor\n---\n', "x.md"), /x\.md:2: expected/);
    assert.throws(() => releasedPackages("no front matter", "x.md"), /x\.md: no front matter/);
  });

  it("fails naming the changeset and the line to add when a bundled package is released without the CLI", () => {
    const root = checkout({
      "transitive.md": '---\n"@minimind/tensor": patch\n---\n\nFaster.\n',
      "fine.md": '---\n"@minimind/attention": minor\n"@minimind/cli": patch\n---\n\nNew mask.\n',
      "unrelated.md": '---\n"@minimind/other": minor\n---\n\nOther.\n',
    });
    const result = run(root);
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /\.changeset\/transitive\.md: releases @minimind\/tensor, which @minimind\/cli bundles; add the line "@minimind\/cli": patch/,
    );
    assert.doesNotMatch(result.stderr, /fine\.md|unrelated\.md/);
    assert.deepEqual(
      findProblems(root).problems.map((problem) => problem.packages),
      [["@minimind/tensor"]],
    );
  });

  it("passes when every such changeset names the CLI, and --fix makes it so", () => {
    const root = checkout({ "a.md": '---\n"@minimind/attention": minor\n---\n\nText.\n' });
    assert.equal(run(root).status, 1);
    const fixed = run(root, "--fix");
    assert.equal(fixed.status, 0);
    assert.equal(
      readFileSync(join(root, ".changeset", "a.md"), "utf8"),
      '---\n"@minimind/attention": minor\n"@minimind/cli": patch\n---\n\nText.\n',
    );
    const result = run(root, "--no-changelogs");
    assert.equal(result.status, 0);
    assert.match(
      result.stdout,
      /1 pending changeset\(s\); every one that touches @minimind\/attention, @minimind\/tensor also releases @minimind\/cli/,
    );
    assert.equal(addCliLine("---\nx: patch\n---\n"), '---\nx: patch\n"@minimind/cli": patch\n---\n');
  });
});

const repositoryConfig = fileURLToPath(new URL("../.changeset/config.json", import.meta.url));

/**
 * A pnpm workspace: @minimind/cli bundling @minimind/a, @minimind/b (depends on a), @minimind/c, @minimind/d
 * (already released as 0.1.0), a private tool; the repository's changeset config and the given changesets.
 */
function workspace(changesets) {
  const root = mkdtempSync(join(tmpdir(), "check-changesets-workspace-"));
  roots.push(root);
  const write = (folder, manifest, changelog) => {
    mkdirSync(join(root, folder), { recursive: true });
    writeFileSync(join(root, folder, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    if (changelog !== undefined) writeFileSync(join(root, folder, "CHANGELOG.md"), changelog);
  };
  writeFileSync(join(root, "package.json"), '{ "name": "root", "private": true }\n');
  writeFileSync(
    join(root, "pnpm-workspace.yaml"),
    "packages:\n  - packages/*\n  - tools/*\n\nallowBuilds:\n  x: true\n",
  );
  write("packages/a", { name: "@minimind/a", version: "0.0.0" }, "# @minimind/a\n");
  write("packages/b", { name: "@minimind/b", version: "0.0.0", dependencies: { "@minimind/a": "workspace:^" } });
  write("packages/c", { name: "@minimind/c", version: "0.0.0" }, "# @minimind/c\n");
  write(
    "packages/d",
    { name: "@minimind/d", version: "0.1.0" },
    "# @minimind/d\n\n## 0.1.0\n\n### Minor Changes\n\n- D.\n",
  );
  write("packages/cli", { name: "@minimind/cli", version: "0.0.0", devDependencies: { "@minimind/b": "workspace:^" } });
  write("tools/private", { name: "@minimind/private", version: "0.0.0", private: true });
  mkdirSync(join(root, ".changeset"));
  writeFileSync(join(root, ".changeset", "config.json"), readFileSync(repositoryConfig, "utf8"));
  for (const [name, text] of Object.entries(changesets)) writeFileSync(join(root, ".changeset", name), text);
  return root;
}

const releaseAll = {
  "first.md":
    '---\n"@minimind/a": minor\n"@minimind/c": minor\n"@minimind/cli": minor\n---\n\nFirst release of *a*, c and the CLI.\n',
  "fix.md": '---\n"@minimind/b": patch\n"@minimind/cli": patch\n---\n\nFix b.\n\nMore about the fix.\n',
};

describe("check-changesets: the CHANGELOGs `changeset version` would write", () => {
  it("reads version sections and their entry lines", () => {
    const changelog =
      "# p\n\n## 0.2.0\n\n### Patch Changes\n\n- Two.\n  more\n- Three.\n\n## 0.1.0\n\n### Minor Changes\n\n- One.\n";
    assert.deepEqual(entryLines(versionSection(changelog, "0.2.0")), ["- Two.", "- Three."]);
    assert.deepEqual(entryLines(versionSection(changelog, "0.1.0")), ["- One."]);
    assert.equal(versionSection(changelog, "0.3.0"), undefined);
    assert.deepEqual(entryLines(["### Minor Changes", "", "-", "### Other", "- not an entry"]), []);
  });

  it("runs the real changeset version on a copy: every bumped package gets its entries, the checkout is untouched", () => {
    const root = workspace(releaseAll);
    const { packages, problems } = versionDryRun(root);
    assert.deepEqual(problems, []);
    const byName = new Map(packages.map((entry) => [entry.name, entry]));
    assert.deepEqual([...byName.keys()].sort(), [
      "@minimind/a",
      "@minimind/b",
      "@minimind/c",
      "@minimind/cli",
      "@minimind/d",
    ]);
    assert.equal(byName.get("@minimind/a")?.to, "0.1.0");
    assert.match(
      byName.get("@minimind/a")?.entries.join("\n") ?? "",
      /^- First release of [*_]a[*_], c and the CLI\.$/,
    );
    assert.equal(byName.get("@minimind/b")?.to, "0.0.1");
    assert.ok(byName.get("@minimind/b")?.entries.includes("- Fix b."));
    assert.equal(byName.get("@minimind/cli")?.entries.length, 2);
    assert.deepEqual(byName.get("@minimind/d"), { name: "@minimind/d", from: "0.1.0", to: "0.1.0", entries: [] });
    // Nothing of the checkout changed: its changesets are pending, its versions and CHANGELOGs as they were.
    assert.deepEqual(readdirSync(join(root, ".changeset")).sort(), ["config.json", "first.md", "fix.md"]);
    assert.equal(JSON.parse(readFileSync(join(root, "packages/a/package.json"), "utf8")).version, "0.0.0");
    assert.equal(readFileSync(join(root, "packages/a/CHANGELOG.md"), "utf8"), "# @minimind/a\n");
  });

  it("names a bump without an entry and a never-released package that nothing releases", () => {
    const root = workspace({ "empty.md": '---\n"@minimind/a": minor\n"@minimind/cli": patch\n---\n' });
    const { problems } = versionDryRun(root);
    assert.equal(problems.length, 3, problems.join("\n"));
    assert.match(problems[0], /^@minimind\/a: changeset version bumps 0\.0\.0 → 0\.1\.0 but writes no entry/);
    assert.match(problems[1], /^@minimind\/c has never been released .* no pending changeset releases it/);
    assert.match(problems[2], /^@minimind\/cli: changeset version bumps 0\.0\.0 → 0\.0\.1 but writes no entry/);
    // b is released too (its dependency a changed: "Updated dependencies"); d was released before.
    assert.doesNotMatch(problems.join("\n"), /@minimind\/[bd]\b/);
  });

  it("names a changeset whose text did not reach a package's CHANGELOG", () => {
    const root = workspace(releaseAll);
    const fake = join(root, "fake-changeset.mjs");
    writeFileSync(
      fake,
      `import { readFileSync, writeFileSync } from "node:fs";
for (const folder of ["a", "b", "c", "cli"]) {
  const file = "packages/" + folder + "/package.json";
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), version: "0.1.0" }));
  writeFileSync("packages/" + folder + "/CHANGELOG.md", "# x\\n\\n## 0.1.0\\n\\n### Minor Changes\\n\\n- Something else.\\n");
}
`,
    );
    const { problems } = versionDryRun(root, { changesetBin: fake });
    assert.deepEqual(problems, [
      '@minimind/a: the CHANGELOG for 0.1.0 lacks .changeset/first.md ("First release of *a*, c and the CLI.")',
      '@minimind/b: the CHANGELOG for 0.1.0 lacks .changeset/fix.md ("Fix b.")',
      '@minimind/c: the CHANGELOG for 0.1.0 lacks .changeset/first.md ("First release of *a*, c and the CLI.")',
      '@minimind/cli: the CHANGELOG for 0.1.0 lacks .changeset/first.md ("First release of *a*, c and the CLI.")',
      '@minimind/cli: the CHANGELOG for 0.1.0 lacks .changeset/fix.md ("Fix b.")',
    ]);
  });

  it("the script runs it after the bundling check: exit 1 naming the package, exit 0 with what it would write", () => {
    const short = run(workspace({ "fix.md": releaseAll["fix.md"] }));
    assert.equal(short.status, 1);
    assert.match(short.stderr, /@minimind\/a has never been released/);
    assert.match(short.stderr, /@minimind\/c has never been released/);
    const fine = run(workspace(releaseAll));
    assert.equal(fine.status, 0, fine.stderr);
    assert.match(
      fine.stdout,
      /writes CHANGELOG entries for 4 package\(s\): @minimind\/a 0\.0\.0 → 0\.1\.0 \(1 entries\)/,
    );
  });
});
