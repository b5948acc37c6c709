/**
 * Tests for scripts/check-changesets.mjs (node:test, run by `pnpm run check:changesets`): a throwaway checkout
 * with a CLI that bundles two packages, and changesets that do and do not name the CLI.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { addCliLine, bundledPackages, findProblems, releasedPackages } from "./check-changesets.mjs";

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
    const result = run(root);
    assert.equal(result.status, 0);
    assert.match(
      result.stdout,
      /1 pending changeset\(s\); every one that touches @minimind\/attention, @minimind\/tensor also releases @minimind\/cli/,
    );
    assert.equal(addCliLine("---\nx: patch\n---\n"), '---\nx: patch\n"@minimind/cli": patch\n---\n');
  });
});
