/**
 * Sequence packing (padding-free training, upstream issue #459): whole documents laid end to end into rows
 * of at most maxSeqLen tokens, greedily in dataset order (a document that does not fit starts a new row).
 * Each packed row carries document ids (for a `packedDocuments(...)` attention mask: no attention across
 * documents) and positions that restart at 0 in every document, and the first label of every document is
 * −100, so no document learns to predict the next one's first token: each document's loss is what it
 * would be alone. Not here: the mask itself (@minimind/attention), batching and padding (loader.ts).
 */
import { checkMaxSeqLen, IGNORE_LABEL, type TrainingDataset, type TrainingSample } from "./sample.js";

export interface PackingOptions {
  /** Row length in tokens; documents longer than this are cut to it. */
  readonly maxSeqLen: number;
}

export class PackedDataset implements TrainingDataset {
  private plan: { epoch: number; rowStarts: Int32Array } | undefined;
  readonly maxSeqLen: number;

  constructor(
    readonly documents: TrainingDataset,
    options: PackingOptions,
  ) {
    this.maxSeqLen = options.maxSeqLen;
    checkMaxSeqLen(this.maxSeqLen, "PackedDataset");
  }

  /** Number of packed rows of epoch 0 (augmented documents may pack into a few more or fewer later). */
  get length(): number {
    return this.lengthOfEpoch(0);
  }

  lengthOfEpoch(epoch: number): number {
    return this.rowStarts(epoch).length - 1;
  }

  get epochInvariant(): boolean {
    return this.documents.epochInvariant === true;
  }

  /** Which documents row `index` holds in `epoch`: [first, end). */
  documentsOfRow(index: number, epoch = 0): [number, number] {
    const starts = this.rowStarts(epoch);
    if (!Number.isInteger(index) || index < 0 || index >= starts.length - 1) {
      throw new RangeError(
        `[PackedDataset] row ${index} is outside the ${starts.length - 1} packed rows of epoch ${epoch}`,
      );
    }
    return [starts[index] as number, starts[index + 1] as number];
  }

  sample(index: number, epoch = 0): TrainingSample {
    const [first, end] = this.documentsOfRow(index, epoch);
    const pieces = [];
    for (let document = first; document < end; document++) pieces.push(this.document(document, epoch));
    const length = pieces.reduce((total, piece) => total + piece.inputIds.length, 0);
    const inputIds = new Int32Array(length);
    const labels = new Int32Array(length);
    const segments = new Int32Array(length);
    const documentIds = new Int32Array(length);
    const positionIds = new Int32Array(length);
    const roles: TrainingSample["roles"][number][] = [];
    let offset = 0;
    let segmentOffset = 0;
    pieces.forEach((piece, documentIndex) => {
      const size = piece.inputIds.length;
      inputIds.set(piece.inputIds, offset);
      labels.set(piece.labels, offset);
      labels[offset] = IGNORE_LABEL; // never a target of the previous document's last token
      let lastSegment = 0;
      for (let position = 0; position < size; position++) {
        lastSegment = piece.segments[position] as number;
        segments[offset + position] = segmentOffset + lastSegment;
        documentIds[offset + position] = documentIndex;
        positionIds[offset + position] = position;
      }
      roles.push(...piece.roles);
      segmentOffset += lastSegment + 1;
      offset += size;
    });
    return { inputIds, labels, roles, segments, documentIds, positionIds };
  }

  private document(index: number, epoch: number): TrainingSample {
    const sample = this.documents.sample(index, epoch);
    if (sample.inputIds.length <= this.maxSeqLen) return sample;
    const cut = this.maxSeqLen;
    return {
      inputIds: sample.inputIds.slice(0, cut),
      labels: sample.labels.slice(0, cut),
      roles: sample.roles.slice(0, cut),
      segments: sample.segments.slice(0, cut),
    };
  }

  /** Row boundaries for `epoch`, computed from every document's length (cached for the last epoch asked). */
  private rowStarts(epoch: number): Int32Array {
    const invariant = this.documents.epochInvariant === true;
    if (this.plan !== undefined && (this.plan.epoch === epoch || invariant)) return this.plan.rowStarts;
    const starts: number[] = [0];
    let used = 0;
    for (let document = 0; document < this.documents.length; document++) {
      const size = Math.min(this.documents.sample(document, epoch).inputIds.length, this.maxSeqLen);
      if (used > 0 && used + size > this.maxSeqLen) {
        starts.push(document);
        used = 0;
      }
      used += size;
    }
    if (this.documents.length > 0) starts.push(this.documents.length);
    this.plan = { epoch, rowStarts: Int32Array.from(starts) };
    return this.plan.rowStarts;
  }
}
