import { describe, expect, it } from "vitest";
import { buildDatasets, pretrainTexts, toJsonl } from "./build.js";
import { workIdentity } from "./split.js";
import { loadShippedCorpus, type Work } from "./works.js";

describe("pretrainTexts", () => {
  it("writes a 《title》author header and the lines, cutting long works at line ends", () => {
    const work: Work = {
      collection: "tang",
      title: "春晓",
      author: "孟浩然",
      lines: ["春眠不觉晓，处处闻啼鸟。", "夜来风雨声，花落知多少。"],
    };
    expect(pretrainTexts(work)).toEqual(["《春晓》孟浩然\n春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。"]);
    expect(pretrainTexts(work, 16)).toEqual([
      "《春晓》孟浩然\n春眠不觉晓，处处闻啼鸟。",
      "《春晓》孟浩然\n夜来风雨声，花落知多少。",
    ]);
    expect(pretrainTexts({ ...work, title: "", author: "" })[0]).toBe(
      "春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。",
    );
  });
});

describe("buildDatasets on the shipped corpus", () => {
  const works = loadShippedCorpus(["tang"]).slice(0, 3000);
  const datasets = buildDatasets({ works, heldOutShare: 0.1, seed: "test" });

  it("puts no work on both sides: held-out questions and texts never mention a training work's lines", () => {
    const { train, heldOut } = datasets.summary.works;
    expect(train + heldOut).toBe(3000);
    expect(heldOut).toBeGreaterThan(200);
    const trainText = new Set(datasets.pretrain.train.map((record) => record.text));
    for (const record of datasets.pretrain.heldOut) expect(trainText.has(record.text)).toBe(false);
    const trainQuestions = new Set(datasets.sft.train.map((record) => record.conversations[0]?.content));
    for (const record of datasets.sft.heldOut) expect(trainQuestions.has(record.conversations[0]?.content)).toBe(false);
  });

  it("writes upstream's formats and is deterministic", () => {
    const record = datasets.sft.train[0];
    expect(record?.conversations.map((message) => message.role)).toEqual(["user", "assistant"]);
    expect(Object.keys(datasets.pretrain.train[0] ?? {})).toEqual(["text"]);
    const again = buildDatasets({ works, heldOutShare: 0.1, seed: "test" });
    expect(toJsonl(again.sft.heldOut)).toBe(toJsonl(datasets.sft.heldOut));
  });

  it("--keep-heldout-text moves held-out texts into training but keeps their questions out", () => {
    const kept = buildDatasets({ works, heldOutShare: 0.1, seed: "test", keepHeldOutText: true });
    expect(kept.pretrain.heldOut).toHaveLength(0);
    expect(kept.pretrain.train.length).toBe(datasets.pretrain.train.length + datasets.pretrain.heldOut.length);
    expect(kept.sft.heldOut).toEqual(datasets.sft.heldOut);
  });

  it("maxWorks samples deterministically, and texts and conversations pass through the split", () => {
    const small = buildDatasets({ works, maxWorks: 50, heldOutShare: 0.5, seed: "s" });
    expect(small.summary.works.train + small.summary.works.heldOut).toBe(50);
    const conversations = Array.from({ length: 40 }, (_, index) => ({
      conversations: [{ role: "user" as const, content: `q${index}` }],
    }));
    const texts = Array.from({ length: 40 }, (_, index) => `text ${index}`);
    const mixed = buildDatasets({ works: [], texts, conversations, heldOutShare: 0.5, seed: "s" });
    expect(mixed.sft.train.length + mixed.sft.heldOut.length).toBe(40);
    expect(mixed.sft.heldOut.length).toBeGreaterThan(5);
    expect(mixed.pretrain.train.length + mixed.pretrain.heldOut.length).toBe(40);
    expect(workIdentity(works[0] as Work)).toContain("\u0000");
  });
});
