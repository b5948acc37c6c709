/**
 * Generation throughput of @minimind/model's MiniMindForCausalLM (CPU backend, fp32, batch 1, greedy,
 * KV-cached) on random seeded weights: hidden 512 / 8 layers and the upstream defaults (hidden 768 /
 * 8 layers), vocab 6400. Prefill: tokens/s of a 128-token prompt (one `generate` step: the prompt's forward
 * and the first token). Decode: tokens/s of 64 further tokens after a 32-token prompt, i.e.
 * 64 / (time(1 + 64 new tokens) − time(1 new token)). Each figure comes from medians of several runs after
 * a warm-up. PyTorch is the peer when `python3 -c "import torch"` works; where it does not, peer is null.
 */
import { spawnSync } from "node:child_process";
import { createMiniMindConfig, MiniMindForCausalLM } from "@minimind/model";
import { type BenchResult, medianMs, type Suite } from "../suite.js";

const PREFILL_TOKENS = 128;
const DECODE_PROMPT = 32;
const DECODE_TOKENS = 64;
const RUNS = 5;

const cases = [
  { name: "hidden 512 x 8 layers", hidden_size: 512 },
  { name: "defaults (hidden 768 x 8 layers)", hidden_size: 768 },
] as const;

function promptOf(length: number): number[][] {
  return [Array.from({ length }, (_, index) => (index * 997 + 13) % 6400)];
}

function torchAvailable(): boolean {
  const probe = spawnSync("python3", ["-c", "import torch"], { stdio: "ignore" });
  return probe.status === 0;
}

export const generateSuite: Suite = {
  name: "generate",
  description: `MiniMindForCausalLM prefill (${PREFILL_TOKENS}-token prompt) and decode (${DECODE_TOKENS} tokens) tokens/s, batch 1 fp32, median of ${RUNS} runs`,
  async *run({ log }) {
    if (torchAvailable()) {
      log("generate: python3 imports torch, but no PyTorch peer script is wired up yet; peer left null");
    } else {
      log("generate: PyTorch peer skipped (python3 -c 'import torch' fails here)");
    }
    for (const { name, hidden_size } of cases) {
      const config = createMiniMindConfig({ hidden_size, num_hidden_layers: 8, vocab_size: 6400 });
      const model = new MiniMindForCausalLM(config, { seed: 0 }).eval();
      const greedy = { eosTokenId: -1 }; // never stop early: every run decodes the same number of tokens
      const prefillPrompt = promptOf(PREFILL_TOKENS);
      const decodePrompt = promptOf(DECODE_PROMPT);
      const prefillMs = await medianMs(() => model.generate(prefillPrompt, { maxNewTokens: 1, ...greedy }), RUNS);
      const firstTokenMs = await medianMs(() => model.generate(decodePrompt, { maxNewTokens: 1, ...greedy }), RUNS);
      const decodeRunMs = await medianMs(
        () => model.generate(decodePrompt, { maxNewTokens: 1 + DECODE_TOKENS, ...greedy }),
        RUNS,
      );
      model.dispose();
      const prefill = PREFILL_TOKENS / (prefillMs / 1000);
      const decode = DECODE_TOKENS / ((decodeRunMs - firstTokenMs) / 1000);
      log(
        `generate: ${name}: prefill ${prefill.toFixed(0)} tokens/s (${prefillMs.toFixed(1)} ms for ${PREFILL_TOKENS}), decode ${decode.toFixed(1)} tokens/s (${((decodeRunMs - firstTokenMs) / DECODE_TOKENS).toFixed(2)} ms/token)`,
      );
      const result = (metric: string, value: number): BenchResult => ({
        suite: "generate",
        case: `${name}, batch 1 fp32`,
        metric,
        unit: "tokens/s",
        value,
        peer: null,
        peerValue: null,
        ratio: null,
      });
      yield result("prefill", prefill);
      yield result("decode", decode);
    }
  },
};
