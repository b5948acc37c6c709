/**
 * Pretraining rows as upstream's `PretrainDataset` builds them: `{"text": …}` → bos + tokens + eos, the
 * text truncated to maxSeqLen − 2 tokens; labels are the ids, except −100 where a token equals the pad id
 * (as upstream masks them; the loader pads with the pad id and −100 labels). Rows are tokenized when asked for, from a record source (a JSONL index keeps only offsets), so
 * the corpus never has to fit in memory. Not here: packing (packing.ts), batching (loader.ts).
 */
import type { Tokenizer } from "@minimind/tokenizer";
import { type BadLine, JsonLinesIndex, type OnBadLine } from "./jsonl.js";
import {
  checkMaxSeqLen,
  IGNORE_LABEL,
  type RecordSource,
  recordsFromJsonLines,
  type TrainingDataset,
  type TrainingSample,
} from "./sample.js";

export interface PretrainDatasetOptions {
  readonly tokenizer: Tokenizer;
  /** Longest row in tokens, bos and eos included (upstream default 340). */
  readonly maxSeqLen?: number;
}

export interface PretrainFileOptions extends PretrainDatasetOptions {
  /** What a bad line does (default "fail"); see `readJsonLines`. */
  readonly onBadLine?: OnBadLine;
  readonly report?: (badLine: BadLine) => void;
}

/** Checks a pretraining record: an object with a string `text`. */
export function pretrainRecordProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
  const text = (value as { text?: unknown }).text;
  return typeof text === "string"
    ? undefined
    : `field "text" is ${text === undefined ? "missing" : typeof text}; expected a string`;
}

export class PretrainDataset implements TrainingDataset {
  readonly maxSeqLen: number;
  readonly epochInvariant = true;
  private readonly bos: number;
  private readonly eos: number;
  private readonly pad: number;

  constructor(
    readonly records: RecordSource,
    private readonly options: PretrainDatasetOptions,
  ) {
    this.maxSeqLen = options.maxSeqLen ?? 340;
    checkMaxSeqLen(this.maxSeqLen, "PretrainDataset");
    const { bosTokenId, eosTokenId } = options.tokenizer;
    if (bosTokenId === undefined || eosTokenId === undefined) {
      throw new Error("[PretrainDataset] the tokenizer names no bos_token or eos_token (tokenizer_config.json)");
    }
    this.bos = bosTokenId;
    this.eos = eosTokenId;
    this.pad = options.tokenizer.padTokenId ?? 0;
  }

  /** A dataset over a JSONL file of `{"text": …}` records, indexed in one streaming pass. */
  static async fromFile(file: string, options: PretrainFileOptions): Promise<PretrainDataset> {
    const index = await JsonLinesIndex.build(file, {
      onBadLine: options.onBadLine,
      report: options.report,
      validate: pretrainRecordProblem,
    });
    return new PretrainDataset(recordsFromJsonLines(index), options);
  }

  get length(): number {
    return this.records.length;
  }

  /** The token ids of record `index` (bos + text + eos, truncated); the epoch does not matter here. */
  sample(index: number, _epoch = 0): TrainingSample {
    const record = this.records.read(index);
    const problem = pretrainRecordProblem(record);
    if (problem !== undefined) throw new Error(`[PretrainDataset] ${this.records.describe(index)}: ${problem}`);
    const tokens = this.options.tokenizer.encode((record as { text: string }).text);
    const kept = Math.min(tokens.length, this.maxSeqLen - 2);
    const inputIds = new Int32Array(kept + 2);
    inputIds[0] = this.bos;
    for (let position = 0; position < kept; position++) inputIds[position + 1] = tokens[position] as number;
    inputIds[kept + 1] = this.eos;
    return {
      inputIds,
      labels: inputIds.map((id) => (id === this.pad ? IGNORE_LABEL : id)),
      roles: new Array(inputIds.length).fill("assistant"),
      segments: new Int32Array(inputIds.length),
    };
  }
}
