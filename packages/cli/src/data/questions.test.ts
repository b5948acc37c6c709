import { describe, expect, it } from "vitest";
import { AnswerIndex, clauses, questionsFor } from "./questions.js";
import type { Work } from "./works.js";

const jingYeSi: Work = {
  collection: "tang",
  title: "静夜思",
  author: "李白",
  lines: ["床前看月光，疑是地上霜。", "举头望山月，低头思故乡。"],
};

describe("clauses", () => {
  it("splits at Chinese punctuation and drops quotes", () => {
    expect(clauses("床前看月光，疑是地上霜。")).toEqual(["床前看月光", "疑是地上霜"]);
    expect(clauses("子曰：“巧言令色，鲜矣仁！”")).toEqual(["子曰", "巧言令色", "鲜矣仁"]);
  });
});

describe("questionsFor", () => {
  it("asks the four kinds about a poem, across line boundaries", () => {
    const questions = questionsFor(jingYeSi, AnswerIndex.over([jingYeSi]));
    expect(questions).toContainEqual({
      kind: "next-line",
      question: "「床前看月光」的下一句是什么？",
      answer: "疑是地上霜",
    });
    expect(questions).toContainEqual({
      kind: "next-line",
      question: "「疑是地上霜」的下一句是什么？",
      answer: "举头望山月",
    });
    expect(questions).toContainEqual({
      kind: "previous-line",
      question: "「低头思故乡」的上一句是什么？",
      answer: "举头望山月",
    });
    expect(questions).toContainEqual({ kind: "author", question: "《静夜思》的作者是谁？", answer: "李白" });
    expect(questions).toContainEqual({
      kind: "first-line",
      question: "李白的《静夜思》第一句是什么？",
      answer: "床前看月光，疑是地上霜。",
    });
    expect(questions).toHaveLength(3 + 3 + 1 + 1);
  });

  it("filters by kind and skips works without title or author for those kinds", () => {
    expect(questionsFor(jingYeSi, AnswerIndex.over([jingYeSi]), ["author"])).toHaveLength(1);
    const untitled = { ...jingYeSi, title: "", author: "" };
    expect(questionsFor(untitled, AnswerIndex.over([untitled])).map((q) => q.kind)).not.toContain("author");
  });

  it("never asks a question with two answers in the input", () => {
    const other: Work = { collection: "tang", title: "静夜思", author: "某人", lines: ["床前看月光，不是地上霜。"] };
    const index = AnswerIndex.over([jingYeSi, other]);
    const questions = questionsFor(jingYeSi, index);
    expect(questions.map((q) => q.question)).not.toContain("「床前看月光」的下一句是什么？");
    expect(questions.map((q) => q.kind)).not.toContain("author");
    // Unaffected questions stay.
    expect(questions.map((q) => q.question)).toContain("「举头望山月」的下一句是什么？");
  });

  it("skips clauses shorter than three characters", () => {
    const work: Work = { collection: "x", title: "", author: "", lines: ["子曰：学而时习之。"] };
    expect(questionsFor(work, AnswerIndex.over([work]))).toEqual([]);
  });
});
