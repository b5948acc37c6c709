#!/usr/bin/env node
/**
 * Packs @minimind/cli exactly as it would be published and runs `npx ./<tarball> --help` from an empty folder,
 * the way `npx @minimind/cli` behaves for a user. Catches a CLI that only works inside the workspace (a missing
 * bundled dependency, a file left out of `files`, a broken shebang or bin path), builds a dataset from the
 * shipped corpus and generates with the shipped default model, both of which must be inside the tarball.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "minimind-cli-pack-"));
try {
  const packDir = join(work, "pack");
  const emptyDir = join(work, "empty");
  execFileSync("pnpm", ["--filter", "@minimind/cli", "pack", "--pack-destination", packDir], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const tarball = readdirSync(packDir).find((name) => name.endsWith(".tgz"));
  if (tarball === undefined) throw new Error(`check-cli-tarball: pnpm pack wrote no .tgz into ${packDir}`);
  execFileSync("mkdir", ["-p", emptyDir]);
  copyFileSync(join(packDir, tarball), join(emptyDir, tarball));
  // --prefix pins npm's project root to the empty folder; otherwise npm walks up to the nearest folder with a
  // node_modules (for example a stray /tmp/node_modules) and resolves ./<tarball> against that.
  const output = execFileSync("npx", ["--prefix", emptyDir, "-y", `./${tarball}`, "--help"], {
    cwd: emptyDir,
    encoding: "utf8",
    // A private npm cache: installs as a new user would, never reusing an earlier tarball of the same name.
    env: { ...process.env, npm_config_update_notifier: "false", npm_config_cache: join(work, "npm-cache") },
  });
  if (!output.includes("Usage: minimind")) {
    throw new Error(`check-cli-tarball: "npx ./${tarball} --help" printed no usage:\n${output}`);
  }
  // The shipped corpus (data/corpus/) must be in the tarball and found from dist/: build a dataset from it.
  const data = execFileSync(
    "npx",
    ["--prefix", emptyDir, "-y", `./${tarball}`, "data", "--collections", "analects", "--out", "data", "--json"],
    {
      cwd: emptyDir,
      encoding: "utf8",
      env: { ...process.env, npm_config_update_notifier: "false", npm_config_cache: join(work, "npm-cache") },
    },
  );
  const works = JSON.parse(data).works;
  if (works.train + works.heldOut !== 20) {
    throw new Error(
      `check-cli-tarball: "npx ./${tarball} data --collections analects" built ${JSON.stringify(works)}, expected 20 works`,
    );
  }
  // The shipped default model (model/) must be in the tarball and found without --model.
  const answer = execFileSync(
    "npx",
    ["--prefix", emptyDir, "-y", `./${tarball}`, "generate", "--greedy", "--max-new-tokens", "8", "--json", "静夜思"],
    {
      cwd: emptyDir,
      encoding: "utf8",
      env: { ...process.env, npm_config_update_notifier: "false", npm_config_cache: join(work, "npm-cache") },
    },
  );
  const generated = JSON.parse(answer).generatedTokens;
  if (!(generated > 0)) {
    throw new Error(`check-cli-tarball: "npx ./${tarball} generate" (the shipped model) generated nothing:\n${answer}`);
  }
  console.log(
    `check-cli-tarball: npx ./${tarball} --help, data (shipped corpus) and generate (shipped model) work from an empty folder`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
