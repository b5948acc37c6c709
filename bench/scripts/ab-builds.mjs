#!/usr/bin/env node
/**
 * Before/after on a shared machine: loads the built public entries (`packages/{tensor,model}/dist`) of two
 * checkouts into one process and alternates them case by case, round after round, so load from other processes
 * hits both sides alike; prints the median of the rounds per side and the ratio B/A as JSON lines. Cases: a
 * 1024³ matmul read back with `dataSync()` (GFLOP/s, the default matmul threads), and greedy prefill (128
 * tokens) and decode (64 tokens after 32) of a seeded hidden-512 / 8-layer MiniMind (tokens/s).
 *
 *   git worktree add /tmp/before <commit> && (cd /tmp/before && pnpm install --offline && pnpm build)
 *   node bench/scripts/ab-builds.mjs /tmp/before . --rounds 11
 *
 * Each checkout keeps its own thread pool. Builds before db2357b keep their workers spinning after a job, which
 * steals a core from the other side: against such a build this biases the figures against B (decode read 4 %
 * slower here while separate processes, alternating, read 4 % faster), so compare those in separate processes.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

function parseArguments(argv) {
  const roots = [];
  let rounds = 9;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--rounds") rounds = Number(argv[++i]);
    else roots.push(argv[i]);
  }
  if (roots.length !== 2 || !Number.isInteger(rounds) || rounds < 1) {
    throw new Error("usage: node bench/scripts/ab-builds.mjs <checkout A> <checkout B> [--rounds n]");
  }
  return { roots, rounds };
}

async function loadSide(root) {
  const entry = (name) => pathToFileURL(resolve(root, "packages", name, "dist", "index.js")).href;
  const model = await import(entry("model"));
  const tensor = await import(entry("tensor"));
  const config = model.createMiniMindConfig({ hidden_size: 512, num_hidden_layers: 8, vocab_size: 6400 });
  const network = new model.MiniMindForCausalLM(config, { seed: 0 }).eval();
  // A never-matching EOS, so every run decodes the same count: older builds took -1, newer ones take [].
  let never = { eosTokenId: [] };
  try {
    await network.generate([[1, 2]], { maxNewTokens: 1, ...never });
  } catch {
    never = { eosTokenId: -1 };
  }
  return {
    root,
    network,
    never,
    a: tensor.randn([1024, 1024], { seed: 1 }),
    b: tensor.randn([1024, 1024], { seed: 2 }),
    figures: { matmul: [], prefill: [], decode: [] },
  };
}

const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];

async function medianMs(run, runs = 3) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return median(times);
}

const prompt = (length) => [Array.from({ length }, (_, i) => (i * 37 + 11) % 6400)];

async function measure(side) {
  const { network, never, a, b, figures } = side;
  const matmulMs = await medianMs(() => {
    const c = a.matmul(b);
    c.dataSync();
    c.dispose();
  });
  figures.matmul.push((2 * 1024 ** 3) / (matmulMs / 1000) / 1e9);
  const prefillMs = await medianMs(() => network.generate(prompt(128), { maxNewTokens: 1, ...never }));
  const firstMs = await medianMs(() => network.generate(prompt(32), { maxNewTokens: 1, ...never }));
  const runMs = await medianMs(() => network.generate(prompt(32), { maxNewTokens: 65, ...never }));
  figures.prefill.push(128 / (prefillMs / 1000));
  figures.decode.push(64 / ((runMs - firstMs) / 1000));
}

const { roots, rounds } = parseArguments(process.argv.slice(2));
const sides = [await loadSide(roots[0]), await loadSide(roots[1])];
for (let round = 0; round < rounds; round++) {
  for (const side of round % 2 === 0 ? sides : [...sides].reverse()) await measure(side);
  const last = sides.map((side) => Object.values(side.figures).map((values) => values.at(-1).toFixed(1)));
  process.stderr.write(`round ${round + 1}: A ${last[0].join(" / ")}, B ${last[1].join(" / ")}\n`);
}
const units = { matmul: "GFLOP/s", prefill: "tokens/s", decode: "tokens/s" };
for (const metric of Object.keys(units)) {
  const [a, b] = sides.map((side) => median(side.figures[metric]));
  const line = { metric, unit: units[metric], a, b, ratio: b / a, rounds, node: process.version, roots };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
process.exit(0);
