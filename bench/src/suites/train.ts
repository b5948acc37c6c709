/**
 * Training throughput of @minimind/train: tokens/s of full optimizer steps (forward with labels, backward,
 * global-norm clip 1.0, AdamW) at seq 256, batch 4, fp32, for hidden 256 / 4 layers and hidden 512 /
 * 8 layers, through public exports only: `train()` from @minimind/train on a dataset of random token rows,
 * timing each step from its progress events (median over the steps after a warm-up).
 *
 * Peer: PyTorch running upstream MiniMind's own `model/model_minimind.py` (see train-peer.ts), read from the
 * directory $MINIMIND_UPSTREAM_DIR names (a checkout of jingyaogong/minimind; nothing is fetched); without it,
 * or without a Python that imports torch (/usr/bin/python3 with Debian's python3-torch), the peer is skipped
 * with the reason and its fields are null. The peer runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset
 * (in its own command only), so OpenBLAS picks its best kernels, and reports its 1024³ matmul GFLOP/s.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { countParameters, createMiniMindConfig, MiniMindForCausalLM } from "@minimind/model";
import { getMatmulThreads } from "@minimind/tensor";
import { type TrainingDataset, type TrainingSample, train } from "@minimind/train";
import type { BenchResult, Suite } from "../suite.js";
import { TRAIN_PEER_SOURCE } from "./train-peer.js";

const SEQUENCE = 256;
const BATCH = 4;
const WARMUP_STEPS = 2;
const TIMED_STEPS = 5;
const PEER_TIMEOUT_MS = 15 * 60_000;

const cases = [
  { name: "hidden 256 x 4 layers", hidden: 256, layers: 4 },
  { name: "hidden 512 x 8 layers", hidden: 512, layers: 8 },
] as const;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Rows of seeded random token ids, every position a target (as the peer's labels = ids). */
function randomTokens(rows: number): TrainingDataset {
  return {
    length: rows,
    epochInvariant: true,
    sample(index: number): TrainingSample {
      let state = (index + 1) * 2654435761;
      const inputIds = new Int32Array(SEQUENCE).map(() => {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        return state % 6400;
      });
      return {
        inputIds,
        labels: Int32Array.from(inputIds),
        roles: new Array(SEQUENCE).fill("assistant"),
        segments: new Int32Array(SEQUENCE),
      };
    },
  };
}

interface PeerFigures {
  peer: string;
  base_classes: string;
  threads: number;
  parameters: number;
  step_ms: number;
  tokens_per_s: number;
  matmul_gflops: number;
}

function peerSetup(): { python: string; upstream: string } | { skipped: string } {
  const upstream = process.env.MINIMIND_UPSTREAM_DIR;
  if (upstream === undefined || upstream === "") {
    return {
      skipped: "MINIMIND_UPSTREAM_DIR is not set (a checkout of jingyaogong/minimind with model/model_minimind.py)",
    };
  }
  if (!existsSync(join(upstream, "model", "model_minimind.py"))) {
    return { skipped: `${upstream}/model/model_minimind.py does not exist` };
  }
  for (const python of [process.env.MINIMIND_BENCH_PYTHON, "/usr/bin/python3", "python3"]) {
    if (python === undefined || python === "") continue;
    const probe = spawnSync(python, ["-B", "-c", "import torch"], { encoding: "utf8" });
    if (probe.status === 0) return { python, upstream };
  }
  return { skipped: "no Python imports torch (apt-get install python3-torch, or set MINIMIND_BENCH_PYTHON)" };
}

function runPeer(python: string, upstream: string, hidden: number, layers: number, threads: number): PeerFigures {
  const folder = mkdtempSync(join(tmpdir(), "minimind-train-peer-"));
  const script = join(folder, "train_peer.py");
  writeFileSync(script, TRAIN_PEER_SOURCE);
  try {
    const environment: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: "1" };
    // OpenBLAS picks its best kernels only without these two (the peer's command only; see NOTES.md).
    delete environment.OPENBLAS_CORETYPE;
    delete environment.OPENBLAS_L2_SIZE;
    const argument = JSON.stringify({
      upstream,
      hidden,
      layers,
      batch: BATCH,
      seq: SEQUENCE,
      runs: TIMED_STEPS,
      threads,
    });
    const run = spawnSync(python, ["-B", script, argument], {
      encoding: "utf8",
      env: environment,
      timeout: PEER_TIMEOUT_MS,
    });
    if (run.status !== 0)
      throw new Error(`[bench train] the PyTorch peer failed (status ${run.status}): ${run.stderr.trim()}`);
    return JSON.parse(run.stdout.trim().split("\n").pop() ?? "") as PeerFigures;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

export const trainSuite: Suite = {
  name: "train",
  description: `@minimind/train full steps (forward, backward, clip, AdamW) tokens/s at seq ${SEQUENCE}, batch ${BATCH}, fp32, median of ${TIMED_STEPS} steps, vs PyTorch running upstream's model_minimind.py`,
  async *run({ log }) {
    const threads = getMatmulThreads();
    const peer = peerSetup();
    if ("skipped" in peer) log(`train: peer skipped: ${peer.skipped}`);
    for (const { name, hidden, layers } of cases) {
      const config = createMiniMindConfig({ hidden_size: hidden, num_hidden_layers: layers, vocab_size: 6400 });
      const model = new MiniMindForCausalLM(config, { seed: 0 });
      const rates: number[] = [];
      await train({
        model,
        dataset: randomTokens(BATCH * (WARMUP_STEPS + TIMED_STEPS)),
        epochs: 1,
        batchSize: BATCH,
        accumulationSteps: 1,
        learningRate: 5e-4,
        seed: 0,
        onEvent: (event) => {
          if (event.type === "step" && event.step > WARMUP_STEPS) rates.push(event.tokensPerSecond);
        },
      });
      model.dispose();
      const value = median(rates);
      log(
        `train: ${name} (${(countParameters(config) / 1e6).toFixed(1)}M parameters): ${value.toFixed(0)} tokens/s (${((BATCH * SEQUENCE) / value).toFixed(2)} s a step), ${threads} matmul thread(s)`,
      );
      let figures: PeerFigures | undefined;
      if (!("skipped" in peer)) {
        figures = runPeer(peer.python, peer.upstream, hidden, layers, threads);
        log(
          `train: ${name}: ${figures.peer} (${figures.base_classes}, ${figures.parameters} parameters, ${figures.threads} thread(s), OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset): ${figures.tokens_per_s.toFixed(0)} tokens/s (${(figures.step_ms / 1000).toFixed(2)} s a step); its 1024³ matmul ${figures.matmul_gflops.toFixed(0)} GFLOP/s`,
        );
      }
      const result: BenchResult = {
        suite: "train",
        case: `${name}, seq ${SEQUENCE}, batch ${BATCH} fp32`,
        metric: "training",
        unit: "tokens/s",
        value,
        peer: figures?.peer ?? null,
        peerValue: figures?.tokens_per_s ?? null,
        ratio: figures === undefined ? null : value / figures.tokens_per_s,
      };
      yield result;
      if (figures !== undefined) {
        yield {
          suite: "train",
          case: "PyTorch peer 1024³ fp32 matmul",
          metric: "matmul",
          unit: "GFLOP/s",
          value: figures.matmul_gflops,
          peer: null,
          peerValue: null,
          ratio: null,
        };
      }
    }
  },
};
