/**
 * Packs @minimind/tokenizer as npm would publish it, unpacks the tarball into an empty folder and loads it
 * with `import` and with `require` (the package is ESM only; Node ≥ 20.19 requires ESM): `Tokenizer.minimind()`
 * must work from the tarball alone (its data is embedded in dist/, once: the tarball carries no copy of
 * tokenizer.json beside it, and no source maps). Not a unit test: it needs `pnpm build` first (run by
 * `check:package`).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), "..");
const work = mkdtempSync(join(tmpdir(), "minimind-tokenizer-dist-"));
try {
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: packageDirectory, encoding: "utf8" }),
  );
  const tarball = join(work, packed[0].filename);
  const installed = join(work, "node_modules", "@minimind", "tokenizer");
  mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);
  // The one runtime dependency, linked from this checkout instead of installed from the registry.
  const jinja = realpathSync(join(packageDirectory, "node_modules", "@huggingface", "jinja"));
  mkdirSync(join(work, "node_modules", "@huggingface"), { recursive: true });
  symlinkSync(jinja, join(work, "node_modules", "@huggingface", "jinja"), "dir");

  const check = `
    const tokenizer = Tokenizer.minimind();
    const ids = tokenizer.encode("你好，世界！");
    if (JSON.stringify(ids) !== "[1968,294,1950,1364]") throw new Error("unexpected ids " + JSON.stringify(ids));
    const text = tokenizer.applyChatTemplate([{ role: "user", content: "hi" }], { addGenerationPrompt: true });
    if (!text.endsWith("<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n")) throw new Error("bad chat template");
    console.log(FORMAT + " of the tarball: ok");`;
  const run = (args) => execFileSync(process.execPath, args, { cwd: work, stdio: "inherit" });
  run([
    "--input-type=module",
    "-e",
    `import { Tokenizer } from "@minimind/tokenizer"; const FORMAT = "import"; ${check}`,
  ]);
  run([
    "--input-type=commonjs",
    "-e",
    `const { Tokenizer } = require("@minimind/tokenizer"); const FORMAT = "require (CommonJS)"; ${check}`,
  ]);
  const files = packed[0].files.map((file) => file.path);
  for (const required of ["data/NOTICE", "dist/index.js", "dist/index.d.ts"]) {
    if (!files.includes(required)) throw new Error(`[check-dist] the tarball lacks ${required}`);
  }
  for (const file of files) {
    if (file.endsWith(".map")) throw new Error(`[check-dist] the tarball contains a source map: ${file}`);
    if (file.endsWith(".json") && file !== "package.json") {
      throw new Error(`[check-dist] the tarball contains ${file}; the tokenizer files are embedded in dist/ once`);
    }
  }
  if (files.some((file) => file.includes(".test."))) throw new Error("[check-dist] the tarball contains test files");
  console.log(
    `tarball: ${packed[0].filename}, ${files.length} files, ${(packed[0].unpackedSize / 1e6).toFixed(2)} MB unpacked`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
