/**
 * Test helper for the training and inference commands: tiny JSONL files (a few real poem lines and
 * questions) and the flags of a tiny model (hidden 32, two layers: with one, a mask over the prompt could not change
 * the answer tokens' outputs), so a pretrain/sft run takes seconds.
 * Test-only: not exported from the package.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const lines = [
  "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
  "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。",
  "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。",
  "红豆生南国，春来发几枝。愿君多采撷，此物最相思。",
];

/** The flags of a model small enough for tests. */
export const TINY_MODEL = ["--hidden-size", "32", "--layers", "2", "--heads", "2", "--kv-heads", "1"];
/** Short rows and batches. */
export const TINY_BATCHES = ["--max-seq-len", "48", "--batch-size", "2"];

/** Writes pretrain.jsonl and sft.jsonl (and a held-out copy of each) into `folder`; returns their paths. */
export function writeTinyData(folder: string) {
  const pretrain = join(folder, "pretrain.jsonl");
  const sft = join(folder, "sft.jsonl");
  writeFileSync(pretrain, `${lines.map((text) => JSON.stringify({ text })).join("\n")}\n`);
  const conversations = lines.map((line) => {
    const [first, second] = line.split("，");
    return {
      conversations: [
        { role: "user", content: `「${first}」的下一句是什么？` },
        { role: "assistant", content: (second ?? "").replace(/。.*$/, "") },
      ],
    };
  });
  writeFileSync(sft, `${conversations.map((record) => JSON.stringify(record)).join("\n")}\n`);
  return { pretrain, sft };
}
