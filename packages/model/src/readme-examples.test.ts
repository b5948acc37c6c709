/**
 * The README's examples (examples/*.ts) run to the end and do what their comments say. The README's code blocks
 * equal these files (scripts/check-readme-examples.mjs) and `typecheck` compiles them as a strict user project
 * would (examples/tsconfig.json). They import `@minimind/model` by name: the built package, as a user gets it.
 * Each runs in a fresh temporary working folder, where it writes the small random checkpoint it loads.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@minimind/tokenizer";
import { describe, expect, it } from "vitest";
import { exampleConfig, runExample, useExampleFolder } from "./__fixtures__/readme-examples.js";
import { MiniMindForCausalLM, parameterShapes } from "./index.js";
import { readSafetensors, SAFETENSORS_INDEX_NAME, tensorToFloat32 } from "./safetensors-entry.js";

useExampleFolder();

function bits(value: number): number {
  return new Uint32Array(Float32Array.of(value).buffer)[0] as number;
}

describe("README examples", () => {
  it("load-options.ts: strict refuses the missing layer, strict: false loads it and reports it", async () => {
    const { printed, warned } = await runExample("load-options");
    const dropped = ["gate_proj", "down_proj", "up_proj"].map((name) => `model.layers.1.mlp.${name}.weight`);
    const refusal = String(printed[0]?.[0]);
    for (const name of dropped) expect(refusal).toContain(name);
    expect(refusal).not.toContain("model.layers.0.");
    expect(warned).toHaveLength(1);
    expect([...((warned[0]?.[1] ?? []) as string[])].sort()).toEqual([...dropped].sort());
    expect(printed[1]).toEqual([4096, false]);
  });

  it("score-and-generate.ts: a random model's loss is near ln(vocab), every gradient, logits, greedy ids", async () => {
    const { printed } = await runExample("score-and-generate");
    const [label, loss, gradLabel, gradShape] = printed[0] as [string, number, string, number[]];
    expect([label, gradLabel]).toEqual(["loss", "embedding grad"]);
    expect(Math.abs(loss - Math.log(6400))).toBeLessThan(0.5); // N(0, 0.02²) weights: nearly uniform
    expect(gradShape).toEqual([6400, 64]);
    expect(printed[1]).toEqual(["next-token logits", 6400]);
    const [greedyLabel, rows] = printed[2] as [string, number[][]];
    expect(greedyLabel).toBe("greedy continuation");
    expect(rows).toHaveLength(1);
    const row = rows[0] as number[];
    expect(row.length === 8 || row.at(-1) === exampleConfig.eos_token_id).toBe(true);
    for (const id of row) expect(Number.isInteger(id) && id >= 0 && id < 6400).toBe(true);
  });

  it("text-model.ts: text with a stop string, a chat stream, a second turn on the first one's cache", async () => {
    const { printed, written } = await runExample("text-model");
    const tokenizer = Tokenizer.minimind();
    const continuation = printed[0]?.[0] as string;
    expect(typeof continuation).toBe("string");
    expect(continuation).not.toContain("。");
    expect(tokenizer.encode(continuation).length).toBeLessThanOrEqual(16);
    expect(written.length).toBeGreaterThan(0);
    expect(written.every((chunk) => typeof chunk === "string")).toBe(true);
    const turn = printed[1]?.[0] as { reusedTokens: number; newPromptTokens: number; generatedTokens: number };
    expect(turn).toMatchObject({ cacheReused: true });
    // The second turn reuses at least the whole first prompt (system + user turn) from the cache.
    const firstPrompt = tokenizer.applyChatTemplate([
      { role: "system", content: "You are terse." },
      { role: "user", content: "学而时习之，下一句？" },
    ]);
    expect(turn.reusedTokens).toBeGreaterThanOrEqual(tokenizer.encode(firstPrompt).length);
    expect(turn.newPromptTokens).toBeGreaterThan(0);
    expect(turn.generatedTokens).toBeGreaterThan(0);
    expect(turn.generatedTokens).toBeLessThanOrEqual(64);
  });

  it("cache-reuse.ts: turn 2 on turn 1's cache equals recomputing; a prefix-LM over the cache is refused", async () => {
    const { printed } = await runExample("cache-reuse");
    const [label, difference] = printed[0] as [string, number];
    expect(label).toMatch(/max \|Δ\|$/);
    expect(difference).toBeLessThanOrEqual(1e-5);
    expect(printed[1]?.[0]).toMatch(
      /^\[KeyValueCache\] strategy "prefixLM\(17\)" refuses a chunk \[14, 16\): cached token 0 \(batch row 0\) attends key 14/,
    );
    expect(printed[2]).toEqual(["cached tokens", 14]); // turn 1 (8) + turn 2 (6): nothing of the refused chunk
  });

  it("generate.ts: greedy and seeded sampling repeat, batch rows equal their single-row runs, the stream ends", async () => {
    const first = await runExample("generate");
    const second = await runExample("generate");
    expect(second.printed).toEqual(first.printed); // same seeds → same ids (greedy is deterministic)
    expect(second.written).toEqual(first.written);
    const [[, greedy], [, sampled], [, batch]] = first.printed as [
      [string, number[]],
      [string, number[]],
      [string, number[][]],
    ];
    expect(greedy).toHaveLength(8);
    expect(sampled).toHaveLength(8);
    expect(batch[0]).toEqual(greedy.slice(0, 4));
    const model = new MiniMindForCausalLM(exampleConfig, { seed: 0 });
    try {
      expect(batch[1]).toEqual((await model.generate([[1, 7]], { maxNewTokens: 4 }))[0]);
    } finally {
      model.dispose();
    }
    const streamed = first.written.join("").trim().split(" ").map(Number);
    expect(streamed.length).toBeGreaterThan(0);
    expect(streamed.length).toBeLessThanOrEqual(64);
    expect(streamed.slice(0, -1)).not.toContain(2); // "<2>" (and EOS) would have stopped the row
    expect(first.printed.at(-1)).toEqual([]);
  });

  it("inspect-checkpoint.ts: every tensor listed, the parameter count they add up to, BF16 values widened", async () => {
    const { printed } = await runExample("inspect-checkpoint");
    const header = /^hidden 64, 2 layers, (\d+) parameters$/.exec(String(printed[0]?.[0]));
    expect(header).not.toBeNull();
    expect(printed[1]).toEqual(["metadata:", {}]);
    const listed = printed.slice(2, -1).map((call) => /^(\S+) {2}F32 \[([\d, ]+)\]$/.exec(String(call[0])));
    expect(listed.every((match) => match !== null)).toBe(true);
    const shapes = new Map(listed.map((match) => [match?.[1], match?.[2]?.split(", ").map(Number)]));
    expect(shapes).toEqual(parameterShapes(exampleConfig));
    const total = [...shapes.values()].reduce((sum, shape) => sum + (shape ?? []).reduce((a, b) => a * b, 1), 0);
    expect(Number(header?.[1])).toBe(total);

    const [label, values] = printed.at(-1) as [string, number[]];
    expect(label).toBe("first embedding values as F32:");
    const original = readSafetensors(readFileSync("checkpoint/model.safetensors")).tensors.get(
      "model.embed_tokens.weight",
    );
    expect(original?.dtype).toBe("F32");
    const exact = original === undefined ? [] : Array.from(tensorToFloat32(original).subarray(0, 4));
    expect(values).toHaveLength(4);
    values.forEach((value, index) => {
      expect(bits(value) & 0xffff).toBe(0); // a bfloat16 value, widened exactly
      const before = exact[index] as number;
      expect(Math.abs(value - before)).toBeLessThanOrEqual(Math.abs(before) * 2 ** -8);
    });
  });

  it("checkpoint-files.ts: config, state dict and a sharded copy with its index", async () => {
    const { printed } = await runExample("checkpoint-files");
    const [hidden, tensors, files] = printed[0] as [number, number, string[]];
    expect(hidden).toBe(64);
    expect(tensors).toBe(parameterShapes(exampleConfig).size);
    const shards = files.filter((file) => file !== SAFETENSORS_INDEX_NAME);
    expect(files).toContain(SAFETENSORS_INDEX_NAME);
    expect(shards.length).toBeGreaterThanOrEqual(2);
    shards.forEach((file, index) => {
      expect(file).toBe(`model-0000${index + 1}-of-0000${shards.length}.safetensors`);
    });
    const index = JSON.parse(readFileSync(join("copy", SAFETENSORS_INDEX_NAME), "utf8")) as {
      weight_map: Record<string, string>;
    };
    expect(Object.keys(index.weight_map)).toHaveLength(tensors);
    for (const shard of shards) {
      const held = Object.values(index.weight_map).filter((file) => file === shard).length;
      // At most 1 MB a shard, unless one tensor alone is larger (the 6400 × 64 float32 embedding).
      if (statSync(join("copy", shard)).size > 1_000_000) expect(held).toBe(1);
    }
  });
});
