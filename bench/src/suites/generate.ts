/**
 * Generation throughput of @minimind/model's MiniMindForCausalLM (CPU backend, fp32 — and at hidden 512 also
 * bf16 and int8 projection weights (`model.quantize`), against the same fp32 peer —, batch 1, greedy,
 * KV-cached) on random seeded weights: hidden 512 / 8 layers and the upstream defaults (hidden 768 /
 * 8 layers), vocab 6400. Prefill: tokens/s of a 128-token prompt (one `generate` step: the prompt's forward
 * and the first token). Decode: tokens/s of 64 further tokens after a 32-token prompt, i.e.
 * 64 / (time(1 + 64 new tokens) − time(1 new token)). Each time is a median of RUNS runs after a warm-up;
 * each figure is the median over ROUNDS rounds, which alternate ours and the peer.
 *
 * Peer: PyTorch, measured the same way in the same run by `bench/peers/torch_generate.py` (an inline
 * upstream-style MiniMind decoder of exactly the case's shapes, random weights, `torch.set_num_threads` set
 * to our matmul thread count), run after our figures for each case. The first of $MINIMIND_BENCH_PYTHON,
 * `python3`, `/usr/bin/python3` that imports torch runs it (Debian's python3-torch lives under
 * /usr/bin/python3, which a pyenv `python3` does not see); where none does, the suite says "peer skipped"
 * and the peer fields are null. Debian's torch multiplies through the system libblas.so.3: install
 * libopenblas0-openmp (see `peerEnvironment`); the suite logs the BLAS the peer loaded and its 1024³ matmul
 * GFLOP/s, and warns when that is a reference BLAS. The script reports its parameter count and shapes, and the suite refuses to
 * compare a model of different shapes.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { MiniMindConfig } from "@minimind/model";
import { countParameters, createMiniMindConfig, MiniMindForCausalLM, parameterShapes } from "@minimind/model";
import { type BenchResult, medianMs, type Suite } from "../suite.js";

const PREFILL_TOKENS = 128;
const DECODE_PROMPT = 32;
const DECODE_TOKENS = 64;
const RUNS = 5;
const ROUNDS = 3;
const PEER_SCRIPT = fileURLToPath(new URL("../../peers/torch_generate.py", import.meta.url));
const PEER_TIMEOUT_MS = 15 * 60_000;

/** Weight formats measured per case: float32 always; bf16 and int8 (`model.quantize`) where listed. */
type WeightFormat = "float32" | "bf16" | "int8";
const cases: ReadonlyArray<{ name: string; hidden_size: number; formats: readonly WeightFormat[] }> = [
  { name: "hidden 512 x 8 layers", hidden_size: 512, formats: ["float32", "bf16", "int8"] },
  { name: "defaults (hidden 768 x 8 layers)", hidden_size: 768, formats: ["float32"] },
];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function promptOf(length: number): number[][] {
  return [Array.from({ length }, (_, index) => (index * 997 + 13) % 6400)];
}

/** The thread count @minimind/tensor's wasm matmul uses: the instance @minimind/model loads (its dist). */
async function ourMatmulThreads(): Promise<number> {
  // Not a dependency of the bench (the model's own copy is the one that counts), so loaded by path, untyped.
  const entry = new URL("../../../packages/tensor/dist/internals.js", import.meta.url).href;
  const tensor = (await import(entry)) as { getMatmulThreads(): number };
  return tensor.getMatmulThreads();
}

/** The first Python that imports torch, with its version; or why there is none. */
function findTorchPython(): { python: string; version: string } | { skipped: string } {
  const candidates = [process.env.MINIMIND_BENCH_PYTHON, "python3", "/usr/bin/python3"].filter(
    (candidate): candidate is string => candidate !== undefined && candidate !== "",
  );
  for (const python of [...new Set(candidates)]) {
    const probe = spawnSync(python, ["-B", "-c", "import torch; print(torch.__version__)"], {
      encoding: "utf8",
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    });
    if (probe.status === 0) return { python, version: probe.stdout.trim() };
  }
  return {
    skipped: `none of ${candidates.join(", ")} imports torch (apt-get install python3-torch, or set MINIMIND_BENCH_PYTHON)`,
  };
}

interface PeerFigures {
  peer: string;
  threads: number;
  parameters: number;
  shapes: Record<string, number[]>;
  layers: number;
  blas: string;
  matmul_gflops: number;
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
  prefill_ms: number;
  decode_run_ms: number;
  first_token_ms: number;
}

/**
 * The peer's environment. Debian's python3-torch calls whatever libblas.so.3 is installed: the reference BLAS
 * (a few GFLOP/s) unless OpenBLAS is. OpenBLAS's OpenMP build is preferred where present: it shares torch's
 * OpenMP thread pool, so `torch.set_num_threads` governs the matmuls too, as in PyTorch's own MKL wheels; the
 * pthread build keeps a second pool whose spinning threads fight torch's on a 2-core machine.
 */
function peerEnvironment(threads: number): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONDONTWRITEBYTECODE: "1",
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
  };
  // The environment may pin OpenBLAS to older kernels (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE); the peer runs at
  // its best without them, so they are unset for the peer's command only.
  delete environment.OPENBLAS_CORETYPE;
  delete environment.OPENBLAS_L2_SIZE;
  const openmpBlas = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
  if (existsSync(`${openmpBlas}/libblas.so.3`)) {
    environment.LD_LIBRARY_PATH = [openmpBlas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  }
  return environment;
}

function runPeer(python: string, config: MiniMindConfig, threads: number): PeerFigures {
  const args = [
    "-B",
    PEER_SCRIPT,
    ...["--hidden-size", String(config.hidden_size), "--layers", String(config.num_hidden_layers)],
    ...["--heads", String(config.num_attention_heads), "--kv-heads", String(config.num_key_value_heads)],
    ...["--head-dim", String(config.head_dim), "--intermediate-size", String(config.intermediate_size)],
    ...["--vocab-size", String(config.vocab_size), "--max-position-embeddings", String(config.max_position_embeddings)],
    ...["--rope-theta", String(config.rope_theta), "--rms-norm-eps", String(config.rms_norm_eps)],
    ...["--threads", String(threads), "--runs", String(RUNS)],
    ...["--prefill", String(PREFILL_TOKENS), "--decode-prompt", String(DECODE_PROMPT)],
    ...["--decode", String(DECODE_TOKENS)],
  ];
  const run = spawnSync(python, args, {
    encoding: "utf8",
    timeout: PEER_TIMEOUT_MS,
    env: peerEnvironment(threads),
  });
  if (run.status !== 0) {
    throw new Error(
      `[bench generate] ${python} ${PEER_SCRIPT} failed (status ${run.status}, signal ${run.signal}): ${run.stderr.trim()}`,
    );
  }
  const figures = JSON.parse(run.stdout.trim().split("\n").pop() ?? "") as PeerFigures;
  // Refuse to compare different models: same parameter count, layer count and the shapes of each kind.
  const expected = parameterShapes(config);
  const problems: string[] = [];
  if (figures.parameters !== countParameters(config))
    problems.push(`${figures.parameters} parameters, expected ${countParameters(config)}`);
  if (figures.layers !== config.num_hidden_layers)
    problems.push(`${figures.layers} layers, expected ${config.num_hidden_layers}`);
  for (const [name, shape] of Object.entries(figures.shapes)) {
    const want = expected.get(name);
    if (want === undefined || want.join("x") !== shape.join("x"))
      problems.push(`${name} is [${shape.join(", ")}], expected [${want?.join(", ")}]`);
  }
  if (figures.threads !== threads) problems.push(`${figures.threads} threads, expected ${threads}`);
  if (problems.length > 0) {
    throw new Error(`[bench generate] the PyTorch peer model differs from ours: ${problems.join("; ")}`);
  }
  return figures;
}

export const generateSuite: Suite = {
  name: "generate",
  description: `MiniMindForCausalLM prefill (${PREFILL_TOKENS}-token prompt) and decode (${DECODE_TOKENS} tokens after ${DECODE_PROMPT}) tokens/s, batch 1 fp32, median of ${ROUNDS} rounds (each a median of ${RUNS} runs) alternating with PyTorch`,
  async *run({ log }) {
    const threads = await ourMatmulThreads();
    const torch = findTorchPython();
    if ("skipped" in torch) log(`generate: peer skipped: ${torch.skipped}`);
    else log(`generate: ours on ${threads} matmul thread(s); PyTorch ${torch.version} peer via ${torch.python}`);
    for (const { name, hidden_size, formats } of cases) {
      const config = createMiniMindConfig({ hidden_size, num_hidden_layers: 8, vocab_size: 6400 });
      // The same seeded weights in each format; bf16/int8 projections are widened inside the matmul kernels.
      const models = formats.map((format) => {
        const model = new MiniMindForCausalLM(config, { seed: 0 }).eval();
        return { format, model: format === "float32" ? model : model.quantize(format) };
      });
      const greedy = { eosTokenId: [] as number[] }; // no EOS: every run decodes the same number of tokens
      const prefillPrompt = promptOf(PREFILL_TOKENS);
      const decodePrompt = promptOf(DECODE_PROMPT);
      const ours = new Map(formats.map((format) => [format, { prefill: [] as number[], decode: [] as number[] }]));
      const theirs = { prefill: [] as number[], decode: [] as number[] };
      let peerName: string | null = null;
      // Rounds alternate ours and the peer, so a burst of load from other processes on this shared machine
      // spoils one round of one side, and the median over rounds drops it.
      for (let round = 1; round <= ROUNDS; round++) {
        for (const { format, model } of models) {
          const figures = ours.get(format) as { prefill: number[]; decode: number[] };
          const prefillMs = await medianMs(() => model.generate(prefillPrompt, { maxNewTokens: 1, ...greedy }), RUNS);
          const firstTokenMs = await medianMs(() => model.generate(decodePrompt, { maxNewTokens: 1, ...greedy }), RUNS);
          const decodeRunMs = await medianMs(
            () => model.generate(decodePrompt, { maxNewTokens: 1 + DECODE_TOKENS, ...greedy }),
            RUNS,
          );
          figures.prefill.push(PREFILL_TOKENS / (prefillMs / 1000));
          figures.decode.push(DECODE_TOKENS / ((decodeRunMs - firstTokenMs) / 1000));
          log(
            `generate: ${name} ${format} weights round ${round}: prefill ${(figures.prefill.at(-1) as number).toFixed(0)} tokens/s (${prefillMs.toFixed(1)} ms for ${PREFILL_TOKENS}), decode ${(figures.decode.at(-1) as number).toFixed(1)} tokens/s (${((decodeRunMs - firstTokenMs) / DECODE_TOKENS).toFixed(2)} ms/token)`,
          );
        }
        if ("skipped" in torch) continue;
        const peer = runPeer(torch.python, config, threads);
        peerName = peer.peer;
        if (peer.matmul_gflops < 10) {
          log(
            `generate: WARNING: PyTorch's 1024³ matmul runs at ${peer.matmul_gflops.toFixed(1)} GFLOP/s (${peer.blas}): a reference BLAS is no fair peer; apt-get install libopenblas0-openmp`,
          );
        }
        theirs.prefill.push(peer.prefill_tokens_per_s);
        theirs.decode.push(peer.decode_tokens_per_s);
        log(
          `generate: ${name} round ${round}: ${peer.peer} on ${peer.blas} (matmul 1024³ ${peer.matmul_gflops.toFixed(0)} GFLOP/s): prefill ${peer.prefill_tokens_per_s.toFixed(0)} tokens/s (${peer.prefill_ms.toFixed(1)} ms), decode ${peer.decode_tokens_per_s.toFixed(1)} tokens/s (${((peer.decode_run_ms - peer.first_token_ms) / DECODE_TOKENS).toFixed(2)} ms/token)`,
        );
      }
      for (const { model } of models) model.dispose();
      // Every format is compared with the peer's float32 model, the baseline issue #15 sets for bf16/int8 decode.
      const result = (metric: "prefill" | "decode", format: WeightFormat): BenchResult => {
        const value = median((ours.get(format) as { prefill: number[]; decode: number[] })[metric]);
        const peerValue = peerName === null ? null : median(theirs[metric]);
        return {
          suite: "generate",
          case: format === "float32" ? `${name}, batch 1 fp32` : `${name}, batch 1 ${format} weights (peer fp32)`,
          metric,
          unit: "tokens/s",
          value,
          peer: peerName,
          peerValue,
          ratio: peerValue === null ? null : value / peerValue,
        };
      };
      for (const format of formats) {
        yield result("prefill", format);
        yield result("decode", format);
      }
    }
  },
};
