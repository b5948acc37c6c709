/**
 * Tests for scripts/check-package-sizes.mjs (node:test, run by `pnpm run check:sizes`): the budget arithmetic on
 * made-up pack results, and the script on a throwaway checkout packed by the real `npm pack`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { budgets, evaluate, matches } from "./check-package-sizes.mjs";

const script = fileURLToPath(new URL("./check-package-sizes.mjs", import.meta.url));
const roots = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A checkout with one package named `name` whose dist/ holds `bytes` random (incompressible) bytes. */
function checkout(name, bytes) {
  const root = mkdtempSync(join(tmpdir(), "check-package-sizes-"));
  roots.push(root);
  const directory = join(root, "packages", "one");
  mkdirSync(join(directory, "dist"), { recursive: true });
  writeFileSync(join(directory, "package.json"), JSON.stringify({ name, version: "1.0.0", files: ["dist"] }));
  writeFileSync(join(directory, "dist", "index.js"), randomBytes(bytes));
  // A private package is never packed, whatever its size.
  mkdirSync(join(root, "packages", "private"));
  writeFileSync(join(root, "packages", "private", "package.json"), JSON.stringify({ name: "x", private: true }));
  return root;
}

const run = (root) => spawnSync(process.execPath, [script, "--root", root], { encoding: "utf8" });

describe("check-package-sizes", () => {
  it("has a budget for every published package, and the CLI's corpus and model budgeted apart", () => {
    for (const name of ["tensor", "attention", "model", "tokenizer", "train", "cli"]) {
      assert.ok(budgets[`@minimind/${name}`].packed > 0, name);
    }
    assert.deepEqual(
      budgets["@minimind/cli"].separately.map((entry) => entry.path),
      ["data/corpus/poetry.jsonl.br", "model/"],
    );
  });

  it("matches a file path exactly, or a folder by its prefix when the entry ends in /", () => {
    assert.equal(matches("model/", "model/model.safetensors"), true);
    assert.equal(matches("model/", "models/x"), false);
    assert.equal(matches("data/a.br", "data/a.br"), true);
    assert.equal(matches("data/a.br", "data/a.br.bak"), false);
  });

  it("passes a package within budget and fails one over it, naming the largest files", () => {
    const pack = { name: "p", size: 1_000, files: [{ path: "dist/index.js", size: 4_000 }] };
    assert.deepEqual(evaluate(pack, { packed: 1_000 }, () => 0).problems, []);
    const [problem] = evaluate(pack, { packed: 999 }, () => 0).problems;
    assert.match(problem, /^p: packs to 1000 bytes, over its budget of 999; largest files: dist\/index\.js \(4000/);
  });

  it("leaves separately budgeted files out of the package's figure and holds them to their own budget", () => {
    const pack = {
      name: "cli",
      size: 10_300,
      files: [
        { path: "dist/index.js", size: 900 },
        { path: "model/weights.safetensors", size: 9_000 },
        { path: "model/config.json", size: 500 },
      ],
    };
    const sizes = { "model/weights.safetensors": 9_000, "model/config.json": 200 };
    const budget = { packed: 1_100, separately: [{ path: "model/", bytes: 9_200 }] };
    const within = evaluate(pack, budget, (path) => sizes[path]);
    assert.equal(within.packed, 1_100);
    assert.deepEqual(within.separate, [{ path: "model/", bytes: 9_200, budget: 9_200, files: 2 }]);
    assert.deepEqual(within.problems, []);
    const over = evaluate(
      pack,
      { packed: 1_099, separately: [{ path: "model/", bytes: 9_199 }] },
      (path) => sizes[path],
    );
    assert.deepEqual(over.problems, [
      "cli: model/ packs to 9200 bytes, over its budget of 9199",
      "cli: packs to 1100 bytes (without the files budgeted separately), over its budget of 1099; largest files: dist/index.js (900 bytes unpacked)",
    ]);
  });

  it("fails a published package that has no budget", () => {
    const result = evaluate({ name: "@minimind/new", size: 1, files: [] }, undefined, () => 0);
    assert.deepEqual(result.problems, ["@minimind/new: no size budget; add one to scripts/check-package-sizes.mjs"]);
  });

  it("packs a real checkout: within budget exits 0, over budget or unbudgeted exits 1", () => {
    const budget = budgets["@minimind/attention"].packed;
    const small = run(checkout("@minimind/attention", 1_000));
    assert.equal(small.status, 0, small.stderr);
    assert.match(small.stdout, /^@minimind\/attention: \d+ bytes packed of 47000/m);
    assert.doesNotMatch(small.stdout, /^x:/m);

    const large = run(checkout("@minimind/attention", budget + 1_000));
    assert.equal(large.status, 1);
    assert.match(
      large.stderr,
      /@minimind\/attention: packs to \d+ bytes, over its budget of 47000; largest files: dist\/index\.js/,
    );

    const unknown = run(checkout("@minimind/unknown", 100));
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /@minimind\/unknown: no size budget/);
  });
});
