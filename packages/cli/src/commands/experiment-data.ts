/**
 * The data of `minimind experiment masks`, built from works with `minimind data`'s own builder and split:
 * - pretraining texts: every work's text, held-out works included (`keepHeldOutText`): the held-out questions
 *   ask about poems the model read in pretraining, but never as questions — SFT teaches the format only;
 * - real-data QA (next line, previous line, title → author, author + title → first line): a deterministic
 *   sample of the training questions, and of the held-out works' questions for evaluation;
 * - the control task, from the same split of works: 「X」字在下面哪一句里？ followed by several lines of a
 *   work, answered by the one line holding X. X comes first, so which line matters is fixed by the earliest
 *   tokens of a long prompt — where prompt-side bidirectionality should matter most;
 * - 3-turn chats for timing: held-out questions three at a time.
 * Deterministic in its options. Not here: running the experiment (@minimind/train's `runMaskExperiment`).
 */
import type { ExperimentConversation, MaskExperimentData } from "@minimind/train";
import { buildDatasets } from "../data/build.js";
import { clauses } from "../data/questions.js";
import { sample, splitBy, stableFraction, workIdentity } from "../data/split.js";
import type { Work } from "../data/works.js";

export interface ExperimentDataOptions {
  readonly works: readonly Work[];
  /** Works used (a deterministic sample; default all). */
  readonly maxWorks?: number;
  /** Share of works held out (default 0.1). */
  readonly heldOutShare?: number;
  /** Split and sampling seed (default "minimind"). */
  readonly seed?: string;
  /** Training QA conversations (default 1,200) and held-out ones scored (default 64). */
  readonly trainQuestions?: number;
  readonly heldOutQuestions?: number;
  /** Control-task conversations for training (default 400) and held out (default 64). */
  readonly controlTrain?: number;
  readonly controlHeldOut?: number;
  /** Lines shown in a control prompt (default 6). */
  readonly controlLines?: number;
  /** 3-turn chats timed (default 3). */
  readonly chats?: number;
  /** Pretraining texts are cut at line ends past this many characters (default 256). */
  readonly maxCharacters?: number;
}

export interface ExperimentDataSummary {
  readonly works: { readonly train: number; readonly heldOut: number };
  readonly pretrainTexts: number;
  readonly sftTrain: { readonly qa: number; readonly control: number };
  readonly heldOut: { readonly qa: number; readonly control: number };
  /** Training and held-out works share no identity (title + author, or text) — checked here. */
  readonly sharedWorks: number;
}

/** One control conversation from a work's clauses, or undefined when no character marks exactly one line. */
export function controlConversation(work: Work, lineCount: number, seed: string): ExperimentConversation | undefined {
  const identity = workIdentity(work);
  const lines = [...new Set(work.lines.flatMap(clauses))].filter((line) => [...line].length >= 3);
  if (lines.length < 3) return undefined;
  const start = Math.floor(stableFraction(seed, "control-start", identity) * Math.max(lines.length - lineCount + 1, 1));
  const shown = lines.slice(start, start + lineCount);
  const counts = new Map<string, number>();
  for (const line of shown)
    for (const character of new Set(line)) counts.set(character, (counts.get(character) ?? 0) + 1);
  const unique = [...counts].filter(([, count]) => count === 1).map(([character]) => character);
  if (unique.length === 0) return undefined;
  const character = unique[Math.floor(stableFraction(seed, "control-character", identity) * unique.length)] as string;
  const answer = shown.find((line) => line.includes(character)) as string;
  return {
    conversations: [
      { role: "user", content: `「${character}」字在下面哪一句里？\n${shown.join("\n")}` },
      { role: "assistant", content: answer },
    ],
  };
}

export function buildExperimentData(options: ExperimentDataOptions): MaskExperimentData & {
  heldOut: { qa: ExperimentConversation[]; control: ExperimentConversation[] };
  summary: ExperimentDataSummary;
} {
  const seed = options.seed ?? "minimind";
  const heldOutShare = options.heldOutShare ?? 0.1;
  const datasets = buildDatasets({
    works: options.works,
    heldOutShare,
    seed,
    keepHeldOutText: true,
    maxCharacters: options.maxCharacters ?? 256,
    ...(options.maxWorks !== undefined ? { maxWorks: options.maxWorks } : {}),
  });
  const works =
    options.maxWorks === undefined ? options.works : sample(options.works, options.maxWorks, workIdentity, seed);
  const sides = splitBy(works, workIdentity, { heldOutShare, seed });
  const trainIdentities = new Set(sides.train.map(workIdentity));
  const sharedWorks = sides.heldOut.filter((work) => trainIdentities.has(workIdentity(work))).length;

  const conversationKey = (record: ExperimentConversation) => JSON.stringify(record.conversations);
  const pick = (records: readonly ExperimentConversation[], count: number, purpose: string) =>
    sample(records, count, conversationKey, `${seed}\u0000${purpose}`).map((record) => ({
      conversations: record.conversations.map(({ role, content }) => ({ role, content })),
    }));
  const controlOf = (side: readonly Work[], count: number, purpose: string) => {
    const all = side
      .map((work) => controlConversation(work, options.controlLines ?? 6, seed))
      .filter((record): record is ExperimentConversation => record !== undefined);
    return pick(all, count, purpose);
  };
  const qaTrain = pick(datasets.sft.train, options.trainQuestions ?? 1200, "qa-train");
  const qaHeldOut = pick(datasets.sft.heldOut, options.heldOutQuestions ?? 64, "qa-heldout");
  const controlTrain = controlOf(sides.train, options.controlTrain ?? 400, "control-train");
  const controlHeldOut = controlOf(sides.heldOut, options.controlHeldOut ?? 64, "control-heldout");
  const chatCount = options.chats ?? 3;
  const chatQuestions = pick(datasets.sft.heldOut, chatCount * 3, "chats").map(
    (record) => record.conversations[0]?.content ?? "",
  );
  const chats = Array.from({ length: Math.floor(chatQuestions.length / 3) }, (_, chat) =>
    chatQuestions.slice(chat * 3, chat * 3 + 3),
  );
  // The loader shuffles with each run's seed; this order does not matter.
  const sftTrain = [...qaTrain, ...controlTrain];
  return {
    pretrainTexts: datasets.pretrain.train.map((record) => record.text),
    sftTrain,
    heldOut: { qa: qaHeldOut, control: controlHeldOut },
    chats,
    summary: {
      works: { train: sides.train.length, heldOut: sides.heldOut.length },
      pretrainTexts: datasets.pretrain.train.length,
      sftTrain: { qa: qaTrain.length, control: controlTrain.length },
      heldOut: { qa: qaHeldOut.length, control: controlHeldOut.length },
      sharedWorks,
    },
  };
}
