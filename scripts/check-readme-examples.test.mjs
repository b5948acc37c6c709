/**
 * Tests for scripts/check-readme-examples.mjs (node:test, run by `pnpm run check:readme-examples`): a throwaway
 * package whose README shows an example file, in sync, drifted (and fixed), missing, and unshown.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { checkPackage, markedExamples } from "./check-readme-examples.mjs";

const roots = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function packageWith(readme, examples) {
  const root = mkdtempSync(join(tmpdir(), "check-readme-examples-"));
  roots.push(root);
  mkdirSync(join(root, "examples"));
  writeFileSync(join(root, "README.md"), readme);
  for (const [name, code] of Object.entries(examples)) writeFileSync(join(root, "examples", name), code);
  return root;
}

const readme = (code) => `# p\n\nText.\n\n<!-- example: examples/a.ts -->\n\`\`\`ts\n${code}\`\`\`\n\nMore.\n`;

describe("check-readme-examples", () => {
  it("finds marked blocks with their file and body, and names a marker without a block", () => {
    const [example] = markedExamples(readme("const a = 1;\n"), "R.md");
    assert.equal(example?.file, "examples/a.ts");
    assert.equal(example?.code, "const a = 1;\n");
    assert.throws(() => markedExamples("<!-- example: examples/a.ts -->\ntext\n", "R.md"), /R\.md:1: .* code block/);
  });

  it("passes a README in sync and reports, then fixes, one that drifted", () => {
    assert.deepEqual(checkPackage(packageWith(readme("const a = 1;\n"), { "a.ts": "const a = 1;\n" })), []);
    const drifted = packageWith(readme("const a = 1;\n"), { "a.ts": "const a = 2;\nconsole.log(a);\n" });
    const [problem] = checkPackage(drifted);
    assert.match(problem ?? "", /README\.md:5: the code block differs from examples\/a\.ts/);
    assert.deepEqual(checkPackage(drifted, { fix: true }), []);
    assert.equal(readFileSync(join(drifted, "README.md"), "utf8"), readme("const a = 2;\nconsole.log(a);\n"));
    assert.deepEqual(checkPackage(drifted), []);
  });

  it("reports a marker naming a missing file, and an example file the README does not show", () => {
    const missing = packageWith(readme("x\n"), {});
    assert.match(checkPackage(missing)[0] ?? "", /examples\/a\.ts does not exist/);
    const unshown = packageWith(readme("x\n"), { "a.ts": "x\n", "b.ts": "y\n" });
    assert.deepEqual(
      checkPackage(unshown).map((problem) => problem.replace(/^.*README\.md/, "README.md")),
      ["README.md: examples/b.ts is shown nowhere in the README"],
    );
  });
});
