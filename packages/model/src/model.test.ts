/**
 * Parity of MiniMindForCausalLM with the PyTorch reference (../shared/fixtures/model/<case>): logits within
 * 1e-4, loss and aux loss within 1e-5, every parameter gradient of (loss + aux_loss) within 1e-4 of that
 * tensor's max magnitude, KV-cached decode logits within 1e-4, and BF16/F16 weights giving identical logits.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { add, memory, noGrad, scope, type Tensor } from "@minimind/tensor";
import { describe, expect, it } from "vitest";
import {
  configOf,
  copy,
  describeErrors,
  expectWithinTolerances,
  fixtureCases,
  fixtures,
  floats,
  maxAbsoluteDifference,
  measureDecode,
  measureParity,
  readTensors,
  rows,
} from "./__fixtures__/parity.js";
import { createMiniMindConfig, parameterShapes } from "./config.js";
import { MiniMindForCausalLM } from "./model.js";
import type { SafetensorsTensor } from "./safetensors.js";

const cases = fixtureCases;

describe.each(cases)("parity with PyTorch: %s", (name) => {
  const config = configOf(name);
  const io = readTensors(name, "io.safetensors");

  it("forward: logits, loss and aux loss; backward: every parameter gradient", () => {
    const model = MiniMindForCausalLM.fromStateDict(config, readTensors(name, "model.safetensors"), name);
    try {
      const errors = measureParity(model, io);
      console.log(`[${name}] ${describeErrors(errors)}`);
      expectWithinTolerances(errors);
    } finally {
      model.dispose();
    }
  });

  if (io.has("decode_logits"))
    it("KV-cached decode: prefill then one token at a time", () => {
      const model = MiniMindForCausalLM.fromStateDict(config, readTensors(name, "model.safetensors"), name).eval();
      try {
        const error = measureDecode(model, io, config.vocab_size);
        console.log(`[${name}] decode max |Δlogits| ${error.toExponential(2)}`);
        expect(error).toBeLessThanOrEqual(1e-4);
      } finally {
        model.dispose();
      }
    });
});

describe("half-precision weights", () => {
  const name = "dense-tiny";
  const config = configOf(name);
  const inputIds = rows(readTensors(name, "io.safetensors").get("input_ids"));

  function logitsFrom(file: string): Float32Array {
    const model = MiniMindForCausalLM.fromStateDict(config, readTensors(name, file), file);
    try {
      return scope(() => noGrad(() => copy(model.forward({ inputIds }).logits)));
    } finally {
      model.dispose();
    }
  }

  it("BF16 and F16 files give exactly the F32 logits", () => {
    const reference = logitsFrom("model.safetensors");
    expect(maxAbsoluteDifference(logitsFrom("model.bf16.safetensors"), reference)).toBe(0);
    expect(maxAbsoluteDifference(logitsFrom("model.f16.safetensors"), reference)).toBe(0);
  });

  it("fromPretrained reads the fixture folder", async () => {
    const model = await MiniMindForCausalLM.fromPretrained(fileURLToPath(new URL(name, fixtures)));
    try {
      const logits = scope(() => noGrad(() => copy(model.forward({ inputIds }).logits)));
      expect(maxAbsoluteDifference(logits, logitsFrom("model.safetensors"))).toBe(0);
    } finally {
      model.dispose();
    }
  });
});

describe("attention strategies", () => {
  it("a user strategy replaces the causal default (a hand-written causal mask mod gives the reference logits)", () => {
    const name = "dense-tiny";
    const io = readTensors(name, "io.safetensors");
    const model = MiniMindForCausalLM.fromStateDict(configOf(name), readTensors(name, "model.safetensors"), name);
    try {
      const inputIds = rows(io.get("input_ids"));
      const causalByHand = (_batch: number, _head: number, query: number, key: number) => key <= query;
      const future = (_batch: number, _head: number, query: number, key: number) => key >= query;
      const [custom, reversed] = scope(() =>
        noGrad(() => [
          copy(model.forward({ inputIds, attention: causalByHand }).logits),
          copy(model.forward({ inputIds, attention: future }).logits),
        ]),
      );
      expect(maxAbsoluteDifference(custom as Float32Array, floats(io.get("logits")))).toBeLessThanOrEqual(1e-4);
      expect(maxAbsoluteDifference(reversed as Float32Array, floats(io.get("logits")))).toBeGreaterThan(1e-3);
    } finally {
      model.dispose();
    }
  });
});

describe("YaRN", () => {
  it("changes the yarn-tiny logits beyond tolerance when switched off (the fixture exercises the scaling)", () => {
    const name = "yarn-tiny";
    const config = configOf(name);
    const plain = createMiniMindConfig({ ...config, inference_rope_scaling: false, rope_scaling: null });
    const inputIds = rows(readTensors(name, "io.safetensors").get("input_ids"));
    const model = MiniMindForCausalLM.fromStateDict(plain, readTensors(name, "model.safetensors"), name);
    try {
      const logits = scope(() => noGrad(() => copy(model.forward({ inputIds }).logits)));
      expect(maxAbsoluteDifference(logits, floats(readTensors(name, "io.safetensors").get("logits")))).toBeGreaterThan(
        1e-3,
      );
    } finally {
      model.dispose();
    }
  });
});

describe("greedy generate", () => {
  it("matches step-by-step argmax of uncached full forwards (moe-tiny)", async () => {
    const name = "moe-tiny";
    const model = MiniMindForCausalLM.fromStateDict(configOf(name), readTensors(name, "model.safetensors"), name);
    try {
      const prompt = rows(readTensors(name, "io.safetensors").get("input_ids")).map((row) => row.slice(0, 6));
      const generated = await model.generate(prompt, { maxNewTokens: 5, eosTokenId: [] });
      const expected = prompt.map((row) => [...row]);
      for (let step = 0; step < 5; step++) {
        const next = scope(() =>
          noGrad(() => Array.from(model.forward({ inputIds: expected, logitsToKeep: 1 }).logits.argmax().dataSync())),
        );
        for (const [row, token] of next.entries()) expected[row]?.push(Number(token));
      }
      expect(generated).toEqual(expected.map((row) => row.slice(6)));
    } finally {
      model.dispose();
    }
  });
});

describe("MiniMindForCausalLM", () => {
  const config = createMiniMindConfig({
    hidden_size: 32,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    intermediate_size: 64,
    vocab_size: 50,
    tie_word_embeddings: false,
  });

  it("initialises every upstream parameter, seeded, with an untied head", () => {
    const first = new MiniMindForCausalLM(config, { seed: 3 });
    const second = new MiniMindForCausalLM(config, { seed: 3 });
    try {
      const names = [...first.namedParameters().keys()];
      expect(names).toEqual([...parameterShapes(config).keys()]);
      expect(names).toContain("lm_head.weight");
      const head = first.stateDict().get("lm_head.weight") as SafetensorsTensor<"F32">;
      expect(head.data).toEqual((second.stateDict().get("lm_head.weight") as SafetensorsTensor<"F32">).data);
      expect(first.stateDict().get("model.norm.weight")?.data).toEqual(new Float32Array(32).fill(1));
    } finally {
      first.dispose();
      second.dispose();
    }
  });

  it("savePretrained then fromPretrained round-trips the weights bit-exactly", async () => {
    const model = new MiniMindForCausalLM(config, { seed: 7 });
    const directory = mkdtempSync(join(tmpdir(), "minimind-model-"));
    try {
      expect(await model.savePretrained(directory)).toEqual(["model.safetensors"]);
      const loaded = await MiniMindForCausalLM.fromPretrained(directory);
      try {
        expect(loaded.config).toEqual(model.config);
        expect(loaded.stateDict()).toEqual(model.stateDict());
      } finally {
        loaded.dispose();
      }
    } finally {
      model.dispose();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("releases every intermediate of a forward/backward run inside a scope", () => {
    const model = new MiniMindForCausalLM(createMiniMindConfig({ ...config, use_moe: true, num_experts_per_tok: 2 }));
    try {
      const step = () =>
        scope(() => {
          const { loss, auxLoss } = model.forward({ inputIds: [[1, 2, 3, 4]], labels: [[1, 2, 3, 4]] });
          add(loss as Tensor, auxLoss).backward();
        });
      step(); // creates the gradients and the rotary tables
      const before = memory();
      step();
      const after = memory();
      expect({ tensors: after.tensors, storages: after.storages }).toEqual({
        tensors: before.tensors,
        storages: before.storages,
      });
    } finally {
      model.dispose();
    }
  });

  it("rejects out-of-vocabulary ids and mis-shaped masks, naming the input", () => {
    const model = new MiniMindForCausalLM(config);
    try {
      expect(() => model.forward({ inputIds: [[1, 50]] })).toThrow(/inputIds holds 50/);
      expect(() => model.forward({ inputIds: [[1, 2]], attentionMask: [[1, 1, 1]] })).toThrow(
        /attentionMask is \[1, 3\]/,
      );
    } finally {
      model.dispose();
    }
  });
});
