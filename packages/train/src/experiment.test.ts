/**
 * The mask experiment: each arm's strategy on a real SFT batch (positions worked out here from the rendered
 * text, not from the code under test), the t-interval against hand-computed values, the split check, and a
 * tiny end-to-end run that reproduces its own table and whose arms really train under different masks.
 */
import { causal } from "@minimind/attention";
import { Tokenizer } from "@minimind/tokenizer";
import { describe, expect, it } from "vitest";
import { checkDisjoint, type MaskExperimentData, runMaskExperiment } from "./experiment.js";
import { armAttention, MASK_EXPERIMENT_ARMS, servingMaskOf, trainingMaskOf } from "./experiment-arms.js";
import { maskExperimentTable } from "./experiment-report.js";
import { tInterval, tQuantile975 } from "./experiment-statistics.js";
import { DataLoader } from "./loader.js";
import { recordsFromArray } from "./sample.js";
import { SFTDataset } from "./sft-dataset.js";

const tokenizer = Tokenizer.minimind();
const question = "「床前明月光」的下一句是什么？";
const chat = (user: string, answer: string) => ({
  conversations: [
    { role: "user", content: user },
    { role: "assistant", content: answer },
  ],
});

describe("each arm's attention on an SFT batch", () => {
  const records = [chat(question, "疑是地上霜"), chat("《静夜思》的作者是谁？", "李白")];
  const dataset = new SFTDataset(recordsFromArray(records), { tokenizer, addSystemRatio: 0, emptyThinkRatio: 0 });
  const batch = new DataLoader(dataset, { batchSize: 2, shuffle: false }).batch({ epoch: 0, batch: 0 });
  // Worked out from the text: the prompt is everything up to and including "<|im_start|>assistant\n".
  const promptLengths = records.map(
    (record) =>
      tokenizer.encode(`<|im_start|>user\n${record.conversations[0]?.content}<|im_end|>\n<|im_start|>assistant\n`)
        .length,
  );
  const userStart = tokenizer.encode("<|im_start|>user\n").length;
  const attends = (arm: (typeof MASK_EXPERIMENT_ARMS)[number], row: number, query: number, key: number) =>
    armAttention(trainingMaskOf(arm), batch, 4).maskMod(row, 0, query, key);

  it("trains and serves the masks the seed question names", () => {
    expect(MASK_EXPERIMENT_ARMS.map((arm) => [arm, trainingMaskOf(arm), servingMaskOf(arm)])).toEqual([
      ["causal", "causal", "causal"],
      ["prefixLM", "prefix", "prefix"],
      ["segments", "segments", "segments"],
      ["consistency", "prefix", "prefix"],
      ["mismatch", "prefix", "causal"],
      ["memory", "memory", "memory"],
      ["continued", "causal", "causal"],
    ]);
  });

  it("causal is @minimind/attention's causal strategy", () => {
    expect(armAttention("causal", batch)).toBe(causal);
    expect(attends("causal", 0, userStart, userStart + 1)).toBe(false);
  });

  it("prefixLM: the whole prompt sees itself both ways, the answer is causal", () => {
    const strategy = armAttention("prefix", batch);
    expect(strategy.name).toBe(`prefixLM(${promptLengths.join(",")})`);
    for (const [row, length] of promptLengths.entries()) {
      expect(attends("prefixLM", row, 0, length - 1)).toBe(true); // first prompt token sees the last
      expect(attends("prefixLM", row, length - 1, length)).toBe(false); // nothing sees the first answer token early
      expect(attends("prefixLM", row, length + 1, length)).toBe(true);
    }
  });

  it("segments: the user turn sees itself both ways, not the template before or the answer after", () => {
    expect(armAttention("segments", batch).name).toBe("segments");
    const length = promptLengths[0] as number;
    const userEnd = tokenizer.encode(`<|im_start|>user\n${question}`).length - 1;
    expect(attends("segments", 0, userStart, userEnd)).toBe(true);
    expect(attends("segments", 0, 0, 1)).toBe(false); // template tokens stay causal
    expect(attends("segments", 0, userStart, length)).toBe(false);
  });

  it("memory: four vectors first, visible to every position; tokens causal after them", () => {
    expect(armAttention("memory", batch, 4).name).toBe("prefixLM(4)");
    expect(attends("memory", 0, 0, 3)).toBe(true);
    expect(attends("memory", 0, 20, 3)).toBe(true);
    expect(attends("memory", 0, 10, 11)).toBe(false);
    expect(() => armAttention("memory", batch, 0)).toThrow(/memoryTokens ≥ 1/);
  });
});

describe("statistics", () => {
  it("t-interval: mean ± t(0.975, n−1)·s/√n", () => {
    expect(tQuantile975(2)).toBe(4.303);
    const interval = tInterval([1, 2, 3]); // s = 1
    expect(interval.mean).toBe(2);
    expect(interval.halfWidth).toBeCloseTo(4.303 / Math.sqrt(3), 12);
    expect(tInterval([5]).halfWidth).toBeNaN();
  });
});

const poems = [
  "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
  "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。",
  "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。",
  "红豆生南国，春来发几枝。愿君多采撷，此物最相思。",
];
const tinyData: MaskExperimentData = {
  pretrainTexts: poems,
  sftTrain: [
    chat("「床前明月光」的下一句是什么？", "疑是地上霜"),
    chat("「白日依山尽」的下一句是什么？", "黄河入海流"),
    chat("「光」字在下面哪一句里？\n床前明月光\n疑是地上霜", "床前明月光"),
    chat("「流」字在下面哪一句里？\n白日依山尽\n黄河入海流", "黄河入海流"),
  ],
  heldOut: {
    qa: [chat("「春眠不觉晓」的下一句是什么？", "处处闻啼鸟")],
    control: [chat("「豆」字在下面哪一句里？\n红豆生南国\n春来发几枝", "红豆生南国")],
  },
  chats: [["「红豆生南国」的下一句是什么？", "「夜来风雨声」的下一句是什么？", "《静夜思》的作者是谁？"]],
};

describe("the split check", () => {
  it("refuses a held-out prompt that is also a training prompt, naming it", () => {
    expect(checkDisjoint(tinyData)).toEqual({ trainPrompts: 4, heldOutPrompts: 2, overlap: 0 });
    const leaked = { ...tinyData, heldOut: { qa: [chat("「白日依山尽」的下一句是什么？", "黄河入海流")] } };
    expect(() => checkDisjoint(leaked)).toThrow(/held-out qa\[0\] is also a training prompt/);
  });
});

describe("runMaskExperiment (tiny)", () => {
  const options = {
    tokenizer,
    data: tinyData,
    arms: ["causal", "prefixLM", "segments", "mismatch", "memory", "continued"] as const,
    seeds: [1, 2],
    // Two layers at least: with one, a bidirectional prompt cannot change any answer's logits (answers read
    // the prompt's keys and values, which one layer computes before any attention), so the arms would tie.
    model: { hiddenSize: 32, layers: 2, heads: 2, keyValueHeads: 1 },
    maxSeqLen: 64,
    pretrainSteps: 2,
    pretrainBatchSize: 2,
    sftEpochs: 2,
    sftBatchSize: 2,
    sftLearningRate: 5e-3,
    chatNewTokens: 2,
  };

  it("reproduces its own table, and its arms train under different masks", async () => {
    const first = await runMaskExperiment(options);
    const second = await runMaskExperiment(options);
    expect(maskExperimentTable(second)).toBe(maskExperimentTable(first));
    expect(second.runs.map((run) => run.tasks)).toEqual(first.runs.map((run) => run.tasks));
    expect(first.runs.map((run) => `${run.arm}/${run.seed}`)).toEqual([
      "causal/1",
      "prefixLM/1",
      "mismatch/1",
      "segments/1",
      "memory/1",
      "continued/1",
      "causal/2",
      "prefixLM/2",
      "mismatch/2",
      "segments/2",
      "memory/2",
      "continued/2",
    ]);
    const loss = (arm: string, seed: number) =>
      first.runs.find((run) => run.arm === arm && run.seed === seed)?.finalTrainingLoss;
    // Same start, same data order, different masks: different training losses.
    expect(loss("prefixLM", 1)).not.toBe(loss("causal", 1));
    expect(loss("segments", 1)).not.toBe(loss("causal", 1));
    expect(loss("memory", 1)).not.toBe(loss("causal", 1));
    // continued: same mask as causal, a different start (extra causal pretraining).
    expect(loss("continued", 1)).not.toBe(loss("causal", 1));
    expect(first.pretraining.continuedFinalLoss).toBeGreaterThan(0);
    // mismatch is prefixLM's model served causally: same training, different held-out loss.
    const run = (arm: string) => first.runs.find((candidate) => candidate.arm === arm && candidate.seed === 1);
    expect(run("mismatch")?.finalTrainingLoss).toBe(loss("prefixLM", 1));
    expect(run("mismatch")?.tasks.qa?.answerLoss).not.toBe(run("prefixLM")?.tasks.qa?.answerLoss);
    // The timed chats: causal keeps its cache after turn 1, prefixLM recomputes the history.
    expect(run("causal")?.chat?.cacheReuseRate).toBe(1);
    expect(run("prefixLM")?.chat?.cacheReuseRate).toBe(0);
    expect(first.split.overlap).toBe(0);
  });
});
