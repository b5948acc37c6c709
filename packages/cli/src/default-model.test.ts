/**
 * The default model shipped in model/ (trained by the recipe in model/README.md): `generate`, `chat` and `eval`
 * find it without --model; it is stored as BF16 with the recipe's shape; and it gives back famous lines of
 * 唐诗三百首 (the questions of its last two SFT stages) when asked for the line after one.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readSafetensorsHeader } from "@minimind/model/safetensors";
import { describe, expect, it } from "vitest";
import { runCli } from "./testing/built-cli.js";

const folder = fileURLToPath(new URL("../model", import.meta.url));

// Famous next-line questions the shipped model answers exactly (greedy). model/README.md gives the share of
// all 1,401 such questions it answers (minimind eval on famous-data/sft.jsonl).
const FAMOUS: readonly (readonly [string, string])[] = [
  ["床前看月光", "疑是地上霜"],
  ["白日依山尽", "黄河入海流"],
  ["春眠不觉晓", "处处闻啼鸟"],
  ["红豆生南国", "秋来发故枝"],
  ["千山鸟飞绝", "万径人踪灭"],
  ["国破山河在", "城春草木深"],
  ["独在异乡为异客", "每逢佳节倍思亲"],
];

describe("the shipped default model", () => {
  it("has the recipe's shape and is stored as BF16", () => {
    const config = JSON.parse(readFileSync(join(folder, "config.json"), "utf8"));
    expect(config).toMatchObject({
      model_type: "minimind",
      hidden_size: 256,
      num_hidden_layers: 6,
      num_attention_heads: 8,
      num_key_value_heads: 4,
      vocab_size: 6400,
      tie_word_embeddings: true,
    });
    const path = join(folder, "model.safetensors");
    const tensors = readSafetensorsHeader(readFileSync(path), { source: path }).entries;
    expect(tensors.length).toBeGreaterThan(0);
    expect(new Set(tensors.map((tensor) => tensor.dtype))).toEqual(new Set(["BF16"]));
    const parameters = tensors.reduce((sum, tensor) => sum + tensor.shape.reduce((a, b) => a * b, 1), 0);
    expect(parameters).toBe(6_655_616);
  });

  it("answers famous next lines without --model", () => {
    for (const [line, next] of FAMOUS) {
      const result = runCli(["generate", "--greedy", "--max-new-tokens", "16", `「${line}」的下一句是什么？`]);
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(`${next}\n`);
    }
  });
});
