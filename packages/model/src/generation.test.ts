/**
 * Generation on the dense-tiny PyTorch fixture: greedy and seeded sampling, the repetition penalty,
 * top-k / top-p checked against an independent computation of the allowed tokens, EOS and stop strings,
 * cancellation, left-padded batches equal to their rows run alone, and streaming equal to generate.
 */
import { readFileSync } from "node:fs";
import { causal, defineScoreMod, type StrategyLike, withScoreMod } from "@minimind/attention";
import { memory, noGrad, scope } from "@minimind/tensor";
import { afterAll, describe, expect, it } from "vitest";
import { parseMiniMindConfig } from "./config.js";
import {
  applyRepetitionPenalty,
  drawToken,
  type GenerationSettings,
  resolveGenerationSettings,
  samplingDistribution,
  seededUniform,
} from "./generation.js";
import { MiniMindForCausalLM } from "./model.js";
import { readSafetensors } from "./safetensors.js";

const fixture = new URL("../../../../shared/fixtures/model/dense-tiny/", import.meta.url);
const config = parseMiniMindConfig(JSON.parse(readFileSync(new URL("config.json", fixture), "utf8")), "config.json");
const model = MiniMindForCausalLM.fromStateDict(
  config,
  readSafetensors(readFileSync(new URL("model.safetensors", fixture))).tensors,
  "dense-tiny",
).eval();
afterAll(() => model.dispose());

const prompt = [1, 320, 275, 2401, 5, 88, 913];
const noEos = { eosTokenId: [] };

/** Next-token logits of the whole sequence by an uncached forward (the reference the cache must match). */
function nextLogits(ids: readonly number[]): Float32Array {
  return noGrad(() =>
    scope(() =>
      Float32Array.from(model.forward({ inputIds: [ids], logitsToKeep: 1 }).logits.dataSync() as Float32Array),
    ),
  );
}

/**
 * The tokens sampling may emit, computed independently of generation.ts, as transformers does: penalty,
 * temperature, remove tokens below the k-th largest, then sort ascending and remove tokens whose
 * cumulative probability is ≤ 1 − topP (never the most likely).
 */
function allowedTokens(
  rawLogits: Float32Array,
  previous: readonly number[],
  options: { temperature: number; topK: number; topP: number; repetitionPenalty: number },
): Set<number> {
  const logits = Array.from(rawLogits);
  for (const id of new Set(previous)) {
    const value = logits[id] as number;
    logits[id] = value < 0 ? value * options.repetitionPenalty : value / options.repetitionPenalty;
  }
  const scaled = logits.map((value) => value / options.temperature);
  const kth = [...scaled].sort((first, second) => second - first)[options.topK - 1] as number;
  const candidates = scaled.flatMap((value, id) => (value >= kth ? [{ id, value }] : []));
  const largest = Math.max(...candidates.map((entry) => entry.value));
  const total = candidates.reduce((sum, entry) => sum + Math.exp(entry.value - largest), 0);
  candidates.sort((first, second) => first.value - second.value);
  const allowed = new Set<number>();
  let cumulative = 0;
  candidates.forEach((entry, rank) => {
    cumulative += Math.exp(entry.value - largest) / total;
    if (cumulative > 1 - options.topP || rank === candidates.length - 1) allowed.add(entry.id);
  });
  return allowed;
}

describe("logits processing", () => {
  it("repetition penalty: positive logits divided, negative multiplied, each seen id once", () => {
    const logits = new Float32Array([2, -1, 0.5, -3, 1, 0]);
    applyRepetitionPenalty(logits, [0, 1, 1, 3, 3, 3, 5], 2);
    expect(Array.from(logits)).toEqual([1, -2, 0.5, -6, 1, 0]);
    const inverse = new Float32Array([2, -1]);
    applyRepetitionPenalty(inverse, [0, 1], 0.5); // < 1 encourages repeats
    expect(Array.from(inverse)).toEqual([4, -0.5]);
  });

  it("top-k then top-p keep exactly the independently computed set, and draws never leave it", () => {
    const random = seededUniform(7);
    for (let trial = 0; trial < 60; trial++) {
      const logits = Float32Array.from({ length: 200 }, () => (random() - 0.5) * 12);
      const options = {
        temperature: 0.3 + random() * 1.5,
        topK: 1 + Math.floor(random() * 60),
        topP: 0.05 + random() * 0.95,
        repetitionPenalty: 1,
      };
      const expected = allowedTokens(logits, [], options);
      const distribution = samplingDistribution(logits, options);
      const support = new Set(Array.from(distribution.keys()).filter((id) => (distribution[id] as number) > 0));
      expect(support).toEqual(expected);
      expect(distribution.reduce((sum, probability) => sum + probability, 0)).toBeCloseTo(1, 12);
      for (let draw = 0; draw < 50; draw++) expect(expected.has(drawToken(distribution, random()))).toBe(true);
    }
  });

  it("top-k keeps every token tied with the k-th; top-p keeps at least the most likely one", () => {
    const tied = samplingDistribution(new Float32Array([3, 1, 3, 2, 3]), { temperature: 1, topK: 2, topP: 1 });
    expect(Array.from(tied, (probability) => probability > 0)).toEqual([true, false, true, false, true]);
    const nucleus = samplingDistribution(new Float32Array([0, 5, 1]), { temperature: 1, topK: 0, topP: 1e-9 });
    expect(Array.from(nucleus)).toEqual([0, 1, 0]);
  });

  it("top-p at its edge: a kept mass exactly equal to topP stops the nucleus", () => {
    const nucleus = (logits: number[], topP: number) =>
      Array.from(samplingDistribution(Float32Array.from(logits), { temperature: 1, topK: 0, topP }));
    // [0, 0]: the first token's mass is 1/2 = topP, so the second is not needed (ties go to the lower id)
    expect(nucleus([0, 0], 0.5)).toEqual([1, 0]);
    // [0, 0, 0, 0]: two tokens reach 1/4 + 1/4 = 1/2 = topP exactly, so two are kept, each 1/2
    expect(nucleus([0, 0, 0, 0], 0.5)).toEqual([0.5, 0.5, 0, 0]);
    // just above the edge one more token is needed
    expect(nucleus([0, 0], 0.5 + 2 ** -20)).toEqual([0.5, 0.5]);
    expect(nucleus([0, 0, 0, 0], 0.5 + 2 ** -20)).toEqual([1 / 3, 1 / 3, 1 / 3, 0]);
    // and just below it one fewer
    expect(nucleus([0, 0, 0, 0], 0.5 - 2 ** -20)).toEqual([0.5, 0.5, 0, 0]);
    expect(nucleus([0, 0, 0, 0], 0.25)).toEqual([1, 0, 0, 0]);
  });

  it("top-k with ties at the k-th logit keeps every tied token, with hand-computed probabilities", () => {
    const distribution = (topK: number) =>
      Array.from(samplingDistribution(Float32Array.from([1, 3, 3, 2, 3]), { temperature: 1, topK, topP: 1 }));
    // k = 1 and k = 2 both land on a 3, so all three 3s are kept, equally likely
    expect(distribution(1)).toEqual([0, 1 / 3, 1 / 3, 0, 1 / 3]);
    expect(distribution(2)).toEqual([0, 1 / 3, 1 / 3, 0, 1 / 3]);
    expect(distribution(3)).toEqual([0, 1 / 3, 1 / 3, 0, 1 / 3]);
    // k = 4 reaches the 2: probabilities e^3 : e^3 : e^2 : e^3 over 3e^3 + e^2, i.e. 1 / (3 + 1/e) and (1/e) / (3 + 1/e)
    const high = 1 / (3 + Math.exp(-1));
    const low = Math.exp(-1) / (3 + Math.exp(-1));
    const four = distribution(4);
    expect(four.map((probability) => probability > 0)).toEqual([false, true, true, true, true]);
    for (const [id, expected] of [high, high, low, high].entries()) {
      expect(four[id + 1]).toBeCloseTo(expected, 15);
    }
    // k ≥ the vocabulary is off
    expect(distribution(5).every((probability) => probability > 0)).toBe(true);
  });

  it("temperature near 0 puts all mass on the largest logits, with no overflow to NaN", () => {
    const at = (logits: number[], temperature: number) =>
      Array.from(samplingDistribution(Float32Array.from(logits), { temperature, topK: 0, topP: 1 }));
    expect(at([1, 1.001, 0], 1e-6)).toEqual([0, 1, 0]);
    expect(at([2, 2, 0], 1e-6)).toEqual([0.5, 0.5, 0]);
    // logits / 1e-310 overflow to ±Infinity; the shifted form does not
    expect(at([2, 1, -1], 1e-310)).toEqual([1, 0, 0]);
    expect(at([-1, -1, -3], 1e-310)).toEqual([0.5, 0.5, 0]);
    expect(at([5, Number.NEGATIVE_INFINITY], 1e-310)).toEqual([1, 0]);
  });

  it("draws follow the distribution (seeded, 20,000 draws within 0.015 of each probability)", () => {
    const distribution = Float64Array.from([0.5, 0, 0.2, 0.3]);
    const random = seededUniform(3);
    const counts = [0, 0, 0, 0];
    for (let draw = 0; draw < 20_000; draw++) (counts[drawToken(distribution, random())] as number)++;
    for (const [id, count] of counts.entries()) {
      expect(Math.abs(count / 20_000 - (distribution[id] as number))).toBeLessThan(0.015);
    }
  });

  it("rejects bad options, naming the field", async () => {
    const settings = (options: object) => resolveGenerationSettings(options, 2, 6400);
    expect(() => settings({ topP: 0 })).toThrow(/\[generate\] topP is 0; expected a number in \(0, 1\]/);
    expect(() => settings({ topK: 1.5 })).toThrow(/topK is 1.5/);
    expect(() => settings({ temperature: -1 })).toThrow(/temperature is -1/);
    expect(() => settings({ repetitionPenalty: 0 })).toThrow(/repetitionPenalty is 0/);
    expect(() => settings({ maxNewTokens: -1 })).toThrow(/maxNewTokens is -1/);
    expect(() => settings({ stopStrings: ["\n"] })).toThrow(/stopStrings need a `decode/);
    expect(() => settings({ padTokenId: 6400 })).toThrow(/padTokenId is 6400/);
    await expect(model.generate([[1], []])).rejects.toThrow(/prompt row 1 is empty/);
    const defaults: GenerationSettings = settings({ seed: 5 });
    expect(defaults).toMatchObject({ maxNewTokens: 32, sample: false, topK: 0, topP: 1, repetitionPenalty: 1 });
    expect([...defaults.eosTokenIds]).toEqual([2]);
  });
});

describe("generate", () => {
  it("greedy is deterministic and picks the argmax of uncached forwards, with and without a penalty", async () => {
    for (const repetitionPenalty of [1, 1.3]) {
      const generated = (
        await model.generate([prompt], { maxNewTokens: 8, repetitionPenalty, ...noEos })
      )[0] as number[];
      expect((await model.generate([prompt], { maxNewTokens: 8, repetitionPenalty, ...noEos }))[0]).toEqual(generated);
      const sequence = [...prompt];
      for (const token of generated) {
        const logits = nextLogits(sequence);
        for (const id of new Set(sequence)) {
          const value = logits[id] as number;
          logits[id] = value < 0 ? value * repetitionPenalty : value / repetitionPenalty;
        }
        expect(token).toBe(logits.indexOf(Math.max(...logits)));
        sequence.push(token);
      }
    }
  });

  it("sampling is reproducible with a seed and differs across seeds", async () => {
    const options = { maxNewTokens: 12, doSample: true, temperature: 1.5, ...noEos };
    const first = await model.generate([prompt], { ...options, seed: 1 });
    expect(await model.generate([prompt], { ...options, seed: 1 })).toEqual(first);
    const others: string[] = [];
    for (const seed of [2, 3, 4]) others.push(JSON.stringify(await model.generate([prompt], { ...options, seed })));
    expect(new Set([JSON.stringify(first), ...others]).size).toBe(4);
  });

  it("topK 1, temperature 0 and a tiny temperature all equal greedy", async () => {
    const greedy = await model.generate([prompt], { maxNewTokens: 10, ...noEos });
    const sampled = { maxNewTokens: 10, doSample: true, seed: 9, ...noEos };
    expect(await model.generate([prompt], { ...sampled, topK: 1, temperature: 2 })).toEqual(greedy);
    expect(await model.generate([prompt], { ...sampled, temperature: 0 })).toEqual(greedy);
    expect(await model.generate([prompt], { ...sampled, temperature: 1e-6 })).toEqual(greedy);
  });

  it("never emits a token outside top-k / top-p (after the penalty and temperature)", async () => {
    const options = { temperature: 1.7, topK: 40, topP: 0.6, repetitionPenalty: 1.2 };
    for (const seed of [11, 12, 13]) {
      const generated = await model.generate([prompt], {
        ...options,
        maxNewTokens: 10,
        doSample: true,
        seed,
        ...noEos,
      });
      const sequence = [...prompt];
      for (const token of generated[0] as number[]) {
        const allowed = allowedTokens(nextLogits(sequence), sequence, options);
        expect(allowed.size).toBeLessThan(40);
        expect(allowed.has(token)).toBe(true);
        sequence.push(token);
      }
    }
  });

  it("stops a row at an EOS id (kept) and at a stop string (needs decode), rows independently", async () => {
    const greedy = (await model.generate([prompt], { maxNewTokens: 8, ...noEos }))[0] as number[];
    const at = greedy.findIndex((token, index) => index > 0 && greedy.indexOf(token) === index); // a first occurrence
    expect(at).toBeGreaterThan(0);
    const absent = greedy.reduce((highest, id) => Math.max(highest, id), 0) + 1; // never generated here
    expect(await model.generate([prompt], { maxNewTokens: 8, eosTokenId: [absent, greedy[at] as number] })).toEqual([
      greedy.slice(0, at + 1),
    ]);
    const decode = (ids: readonly number[]) => ids.map((id) => `<${id}>`).join("");
    const stopped = await model.generate([prompt, [1, 2, 3]], {
      maxNewTokens: 8,
      stopStrings: [`<${greedy[at - 1]}><${greedy[at]}>`],
      decode,
      ...noEos,
    });
    expect(stopped[0]).toEqual(greedy.slice(0, at + 1));
    expect(stopped[1]).toEqual((await model.generate([[1, 2, 3]], { maxNewTokens: 8, ...noEos }))[0]);
  });

  it("left-padded batches: each row equals its unpadded single-row generation (greedy, penalty, sampling)", async () => {
    const prompts = [[1, 320, 275], prompt, [1, 44, 2401, 5, 1200], [7]];
    const optionSets = [
      { maxNewTokens: 10 },
      { maxNewTokens: 10, repetitionPenalty: 1.5 },
      { maxNewTokens: 10, doSample: true, temperature: 1.3, topP: 0.9, seed: 21 },
    ];
    for (const options of optionSets) {
      const batch = await model.generate(prompts, { ...options, ...noEos });
      for (const [index, row] of prompts.entries()) {
        // Row r samples from seed + r, so alone it needs that seed.
        const alone = await model.generate([row], { ...options, ...noEos, seed: (options.seed ?? 0) + index });
        expect(batch[index]).toEqual(alone[0]);
      }
    }
  });

  it("left-padded forward: logits of each row within 1e-5 of the row alone", async () => {
    const rows = [[1, 320, 275], prompt];
    const padded = [[0, 0, 0, 0, 1, 320, 275], prompt];
    const logits = noGrad(() =>
      scope(() =>
        model
          .forward({
            inputIds: padded,
            attentionMask: [[0, 0, 0, 0, 1, 1, 1], prompt.map(() => 1)],
            positionIds: [[0, 0, 0, 0, 0, 1, 2], prompt.map((_, index) => index)],
            logitsToKeep: 1,
          })
          .logits.toArray(),
      ),
    ) as number[][][];
    rows.forEach((row, index) => {
      const alone = nextLogits(row);
      const batched = logits[index]?.[0] as number[];
      expect(Math.max(...batched.map((value, id) => Math.abs(value - (alone[id] as number))))).toBeLessThan(1e-5);
    });
  });

  it("an aborted signal throws its reason and releases every tensor", async () => {
    const before = memory().tensors;
    const controller = new AbortController();
    controller.abort(new Error("stop now"));
    await expect(model.generate([prompt], { signal: controller.signal })).rejects.toThrow("stop now");
    const controller2 = new AbortController();
    let steps = 0;
    const decode = () => {
      if (++steps === 3) controller2.abort(); // while the third token is checked: no fourth step runs
      return "";
    };
    await expect(
      model.generate([prompt], { maxNewTokens: 50, signal: controller2.signal, stopStrings: ["never"], decode }),
    ).rejects.toThrow(/abort/i);
    expect(steps).toBe(3);
    expect(memory().tensors).toBe(before);
  });

  it("generate leaves no tensor behind and restores training mode", async () => {
    const training = new MiniMindForCausalLM(config, { seed: 3 });
    await training.generate([prompt], { maxNewTokens: 1 }); // builds the rotary tables, which the model keeps
    const before = memory().tensors;
    await training.generate([prompt, [4, 5]], { maxNewTokens: 4, doSample: true, seed: 1 });
    expect(memory().tensors).toBe(before);
    expect(training.training).toBe(true);
    training.dispose();
  });
});

describe("attention kernels in the model", () => {
  it("a decode step gives the same logits on the wasm SIMD kernel and on the JavaScript tiled one", () => {
    // plain causal runs the SIMD tiled kernel (where SIMD is on; else the unmasked matmuls); an identity score
    // mod keeps the maths and forces the JavaScript tiled loops (score mods never run in SIMD or unmasked)
    const tiled = withScoreMod(
      causal,
      defineScoreMod(
        (score) => score,
        () => 1,
      ),
    );
    const run = (attention: StrategyLike) =>
      noGrad(() =>
        scope(() => {
          const cache = model.createCache();
          try {
            const first = model.forward({ inputIds: [prompt], cache, attention });
            const second = model.forward({ inputIds: [[42]], cache, attention });
            return [...(first.logits.dataSync() as Float32Array), ...(second.logits.dataSync() as Float32Array)];
          } finally {
            cache.dispose();
          }
        }),
      );
    const fast = run(causal);
    const reference = run(tiled);
    expect(fast.length).toBe((prompt.length + 1) * model.config.vocab_size);
    expect(Math.max(...fast.map((value, index) => Math.abs(value - (reference[index] as number))))).toBeLessThan(1e-5);
  });
});
