/**
 * Builds the training and held-out datasets from works, texts and conversations: pretraining records in
 * upstream's `{"text"}` format and SFT records in `{"conversations": [...]}` (plus a `kind` field naming the
 * question kind, which upstream's loader ignores). In memory and deterministic; `minimind data` writes the
 * result, and a later `experiment` command or test can call `buildDatasets` directly. Not here: reading
 * inputs (works.ts) and writing files (commands/data.ts).
 */
import { AnswerIndex, QUESTION_KINDS, type QuestionKind, questionsFor } from "./questions.js";
import { sample, splitBy, workIdentity } from "./split.js";
import type { Conversation, Work } from "./works.js";

export interface PretrainRecord {
  text: string;
}

export interface SftRecord extends Conversation {
  /** The question kind, for generated questions; absent for conversations passed through. */
  kind?: QuestionKind;
}

export interface BuildOptions {
  works: readonly Work[];
  /** Ready-made pretraining texts (`{"text"}` input lines), split by their text. */
  texts?: readonly string[];
  /** Ready-made SFT samples (`{"conversations"}` input lines), split by their content. */
  conversations?: readonly Conversation[];
  /** Share of works held out, in [0, 1). Default 0.05. */
  heldOutShare?: number;
  /** Split and sampling seed. Default "minimind". */
  seed?: string;
  /** Question kinds to generate. Default all four. */
  kinds?: readonly QuestionKind[];
  /** Keep at most this many works (a deterministic sample), for small runs. */
  maxWorks?: number;
  /** Pretraining texts longer than this many characters are cut at line ends. Default 512. */
  maxCharacters?: number;
  /** Keep held-out works' text in the pretraining data (only their questions are held out). Default false. */
  keepHeldOutText?: boolean;
}

export interface Side<Record> {
  train: Record[];
  heldOut: Record[];
}

export interface DatasetSummary {
  works: { train: number; heldOut: number };
  pretrain: { train: number; heldOut: number };
  sft: { train: number; heldOut: number };
  questionsByKind: Partial<Record<QuestionKind, { train: number; heldOut: number }>>;
  /** Held-out questions dropped because a training work gives the same question (a shared couplet). */
  heldOutQuestionsAlsoInTraining: number;
  heldOutShare: number;
  seed: string;
  keepHeldOutText: boolean;
}

export interface Datasets {
  pretrain: Side<PretrainRecord>;
  sft: Side<SftRecord>;
  summary: DatasetSummary;
}

/** A work as pretraining text: a `《title》author` header, then its lines, cut into pieces of ≤ maxCharacters. */
export function pretrainTexts(work: Work, maxCharacters = 512): string[] {
  const header = work.title === "" ? work.author : `《${work.title}》${work.author}`;
  const pieces: string[] = [];
  let current: string[] = [];
  let length = 0;
  for (const line of work.lines) {
    const size = [...line].length + 1;
    if (current.length > 0 && length + size > maxCharacters) {
      pieces.push(current.join("\n"));
      current = [];
      length = 0;
    }
    current.push(line);
    length += size;
  }
  if (current.length > 0) pieces.push(current.join("\n"));
  return pieces.map((piece) => (header === "" ? piece : `${header}\n${piece}`));
}

function conversationIdentity(conversation: Conversation): string {
  return `conversation\u0000${JSON.stringify(conversation.conversations)}`;
}

export function buildDatasets(options: BuildOptions): Datasets {
  const heldOutShare = options.heldOutShare ?? 0.05;
  const seed = options.seed ?? "minimind";
  const kinds = options.kinds ?? QUESTION_KINDS;
  const maxCharacters = options.maxCharacters ?? 512;
  const keepHeldOutText = options.keepHeldOutText ?? false;
  if (!(heldOutShare >= 0 && heldOutShare < 1)) throw new RangeError(`heldOutShare ${heldOutShare} must be in [0, 1)`);
  const split = { heldOutShare, seed };

  const works =
    options.maxWorks === undefined ? options.works : sample(options.works, options.maxWorks, workIdentity, seed);
  const workSides = splitBy(works, workIdentity, split);
  const answers = AnswerIndex.over(works);

  const pretrain: Side<PretrainRecord> = { train: [], heldOut: [] };
  const sft: Side<SftRecord> = { train: [], heldOut: [] };
  const questionsByKind: DatasetSummary["questionsByKind"] = {};
  const trainQuestions = new Set<string>();
  let droppedAsSeen = 0;
  for (const side of ["train", "heldOut"] as const) {
    for (const work of workSides[side]) {
      const textSide = keepHeldOutText ? "train" : side;
      for (const text of pretrainTexts(work, maxCharacters)) pretrain[textSide].push({ text });
      for (const { kind, question, answer } of questionsFor(work, answers, kinds)) {
        // The same couplet can occur in two works; a held-out question already asked in training is dropped.
        const key = `${kind}\u0000${question}`;
        if (side === "train") trainQuestions.add(key);
        else if (trainQuestions.has(key)) {
          droppedAsSeen++;
          continue;
        }
        sft[side].push({
          conversations: [
            { role: "user", content: question },
            { role: "assistant", content: answer },
          ],
          kind,
        });
        const counts = questionsByKind[kind] ?? { train: 0, heldOut: 0 };
        counts[side]++;
        questionsByKind[kind] = counts;
      }
    }
  }
  const textSides = splitBy(options.texts ?? [], (text) => `text\u0000${text}`, split);
  pretrain.train.push(...textSides.train.map((text) => ({ text })));
  pretrain.heldOut.push(...textSides.heldOut.map((text) => ({ text })));
  const conversationSides = splitBy(options.conversations ?? [], conversationIdentity, split);
  sft.train.push(...conversationSides.train);
  sft.heldOut.push(...conversationSides.heldOut);

  return {
    pretrain,
    sft,
    summary: {
      works: { train: workSides.train.length, heldOut: workSides.heldOut.length },
      pretrain: { train: pretrain.train.length, heldOut: pretrain.heldOut.length },
      sft: { train: sft.train.length, heldOut: sft.heldOut.length },
      questionsByKind,
      heldOutQuestionsAlsoInTraining: droppedAsSeen,
      heldOutShare,
      seed,
      keepHeldOutText,
    },
  };
}

/** Records as JSONL text (one JSON object per line, trailing newline). */
export function toJsonl(records: readonly object[]): string {
  return records.map((record) => `${JSON.stringify(record)}\n`).join("");
}
