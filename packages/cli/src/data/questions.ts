/**
 * Question–answer pairs about works, for SFT data and held-out evaluation. Four kinds:
 * - next-line: 「床前看月光」的下一句是什么？ → 疑是地上霜
 * - previous-line: 「疑是地上霜」的上一句是什么？ → 床前看月光
 * - author: 《静夜思》的作者是谁？ → 李白
 * - first-line: 李白的《静夜思》第一句是什么？ → 床前看月光，疑是地上霜。
 * "Lines" for the first two kinds are clauses (split at ，。？！；：), without punctuation or quotes. A question
 * whose answer is not unique in the whole input (a clause followed by different clauses in two works, a
 * title two authors used) is never asked. Not here: which side of the split a work is on (split.ts).
 */
import type { Work } from "./works.js";

export const QUESTION_KINDS = ["next-line", "previous-line", "author", "first-line"] as const;
export type QuestionKind = (typeof QUESTION_KINDS)[number];

export interface Question {
  kind: QuestionKind;
  question: string;
  answer: string;
}

const CLAUSE = /[^，。？！；：,.?!;:]+/g;
const QUOTES = /[“”「」『』‘’"《》]/g;

/** The clauses of a line, without punctuation and quotes: "床前看月光，疑是地上霜。" → ["床前看月光", "疑是地上霜"]. */
export function clauses(line: string): string[] {
  return (line.replace(QUOTES, "").match(CLAUSE) ?? []).map((clause) => clause.trim()).filter((c) => c !== "");
}

/** A clause worth asking about: at least three characters. */
function askable(clause: string): boolean {
  return [...clause].length >= 3;
}

/** Answers seen for each question across all works: a question with more than one answer is ambiguous. */
export class AnswerIndex {
  private readonly answers = new Map<string, string | null>();

  static over(works: readonly Work[]): AnswerIndex {
    const index = new AnswerIndex();
    for (const work of works) for (const question of candidateQuestions(work)) index.add(question);
    return index;
  }

  add(question: Question): void {
    const key = `${question.kind}\u0000${question.question}`;
    const known = this.answers.get(key);
    if (known === undefined) this.answers.set(key, question.answer);
    else if (known !== question.answer) this.answers.set(key, null);
  }

  isUnique(question: Question): boolean {
    return this.answers.get(`${question.kind}\u0000${question.question}`) === question.answer;
  }
}

/** Every question one work gives, before the ambiguity check. */
function candidateQuestions(work: Work): Question[] {
  const questions: Question[] = [];
  const sequence = work.lines.flatMap(clauses);
  for (let index = 0; index + 1 < sequence.length; index++) {
    const current = sequence[index] as string;
    const next = sequence[index + 1] as string;
    if (!askable(current) || !askable(next)) continue;
    questions.push({ kind: "next-line", question: `「${current}」的下一句是什么？`, answer: next });
    questions.push({ kind: "previous-line", question: `「${next}」的上一句是什么？`, answer: current });
  }
  if (work.title !== "" && work.author !== "") {
    questions.push({ kind: "author", question: `《${work.title}》的作者是谁？`, answer: work.author });
    const first = work.lines[0];
    if (first !== undefined) {
      questions.push({
        kind: "first-line",
        question: `${work.author}的《${work.title}》第一句是什么？`,
        answer: first,
      });
    }
  }
  return questions;
}

/** The unambiguous questions of one work, of the wanted kinds, in a stable order. */
export function questionsFor(work: Work, index: AnswerIndex, kinds: readonly QuestionKind[] = QUESTION_KINDS) {
  const wanted = new Set(kinds);
  const seen = new Set<string>();
  return candidateQuestions(work).filter((question) => {
    if (!wanted.has(question.kind) || !index.isUnique(question)) return false;
    const key = `${question.kind}\u0000${question.question}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
